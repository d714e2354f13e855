"""Errors raised by the crypto layer. They never carry key material or plaintext."""

__all__ = ["CryptoError", "DecryptionError", "KeyFileError", "KeyProviderUnavailable"]


class CryptoError(Exception):
    """Base class of every crypto-layer error."""


class DecryptionError(CryptoError):
    """Any failure to authenticate or decrypt: one opaque error, never a reason."""

    def __init__(self) -> None:
        super().__init__("decryption failed")


class KeyProviderUnavailable(CryptoError):
    """The key provider could not be reached or refused to answer."""


class KeyFileError(CryptoError):
    """The local key file is missing, malformed or the passphrase is wrong."""
