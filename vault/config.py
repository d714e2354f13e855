"""Settings from the environment (prefix ``DIALVAULT_``) and the command line."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import ConfigurationError

__all__ = ["SHIPPED_POLICY_DIR", "Settings", "load_passphrase"]

SHIPPED_POLICY_DIR = Path(__file__).resolve().parent.parent / "policies"

_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "changethis",
        "password",
        "passphrase",
        "secret",
        "dialvault",
        "example",
        "test",
    }
)
_MIN_PASSPHRASE_LEN = 12


def _is_weak(secret: str) -> bool:
    lowered = secret.strip().lower()
    return len(lowered) < _MIN_PASSPHRASE_LEN or any(p in lowered for p in _PLACEHOLDERS)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIALVAULT_", extra="ignore")

    home: Path = Field(default=Path(".dialvault"), description="data directory")
    database_url: str | None = None
    key_provider: Literal["local", "env", "openbao"] = "local"
    key_file: Path | None = None
    passphrase: SecretStr | None = None
    passphrase_file: Path | None = None
    root_key: SecretStr | None = Field(default=None, description="base64 root KEK for the env provider")
    openbao_addr: str = "http://127.0.0.1:8200"
    openbao_token: SecretStr | None = None
    openbao_key: str = "dialvault-root"
    openbao_mount: str = "transit"
    openbao_timeout: float = Field(default=2.0, gt=0, le=60, description="seconds per OpenBao request")
    openbao_namespace: str | None = Field(default=None, description="X-Vault-Namespace (enterprise namespaces)")
    insecure_dev: bool = False
    policy_dir: Path = SHIPPED_POLICY_DIR
    handle_ttl_seconds: int = Field(default=86_400, gt=0)
    keyring_ttl_seconds: float = Field(default=60.0, ge=0)
    log_level: str = "INFO"
    log_json: bool = True

    @model_validator(mode="after")
    def _refuse_weak_secrets(self) -> Settings:
        if self.insecure_dev:
            return self
        if self.passphrase is not None and _is_weak(self.passphrase.get_secret_value()):
            raise ValueError("DIALVAULT_PASSPHRASE is too weak or a placeholder (use --insecure-dev for dev)")
        if self.openbao_token is not None and self.openbao_token.get_secret_value().strip().lower() in (
            _PLACEHOLDERS | {"root", ""}
        ):
            raise ValueError("DIALVAULT_OPENBAO_TOKEN is a placeholder")
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'vault.db').resolve()}"

    @property
    def resolved_key_file(self) -> Path:
        return self.key_file or self.home / "keyfile.json"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def load_passphrase(settings: Settings) -> str:
    """The passphrase from the setting or its file; refuses empty or weak ones outside dev mode."""
    if settings.passphrase is not None:
        value = settings.passphrase.get_secret_value()
    elif settings.passphrase_file is not None:
        try:
            value = settings.passphrase_file.read_text(encoding="utf-8").strip()
        except OSError:
            raise ConfigurationError("the passphrase file cannot be read", code="passphrase_missing") from None
    else:
        value = ""
    if not settings.insecure_dev and _is_weak(value):
        raise ConfigurationError(
            "set DIALVAULT_PASSPHRASE (12+ characters, not a placeholder) or pass --insecure-dev",
            code="passphrase_missing" if not value else "passphrase_weak",
        )
    return value
