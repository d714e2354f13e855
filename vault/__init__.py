"""dialvault: a privacy-first consent and PII vault for outbound calling."""

__version__ = "0.1.0"

__all__ = ["__version__"]
