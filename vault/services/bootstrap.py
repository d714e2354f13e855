"""Opening and initializing a vault from settings."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, inspect, make_url, select

from ..clock import Clock, SystemClock
from ..config import Settings, load_passphrase
from ..crypto import (
    DecryptionError,
    EnvKeyProvider,
    KeyProvider,
    KeyProviderUnavailable,
    LocalKeyFileProvider,
    OpenBaoKeyProvider,
    create_key_file,
)
from ..errors import ConfigurationError, Conflict, DialvaultError, ServiceUnavailable
from ..storage import Database, create_schema, schema_is_current
from ..storage.tables import Tenant
from ._context import Vault
from ._keyrings import KeyringCache
from ._policies import TenantPolicies
from .tenants import IssuedKey, Role, api_key_digester, create_tenant, issue_api_key, load_or_create_pepper

__all__ = [
    "InitializedVault",
    "build_key_provider",
    "initialize_vault",
    "new_env_root_key",
    "open_vault",
    "vault_exists",
]


def build_key_provider(settings: Settings) -> KeyProvider:
    if settings.key_provider == "env":
        if settings.root_key is None:
            raise ConfigurationError("DIALVAULT_ROOT_KEY is required for the env key provider")
        return EnvKeyProvider(settings.root_key.get_secret_value())
    if settings.key_provider == "openbao":
        return _openbao_provider(settings)
    return LocalKeyFileProvider(settings.resolved_key_file, load_passphrase(settings))


def _openbao_provider(settings: Settings) -> OpenBaoKeyProvider:
    if settings.openbao_token is None:
        raise ConfigurationError("DIALVAULT_OPENBAO_TOKEN is required for the openbao key provider")
    try:
        return OpenBaoKeyProvider(
            settings.openbao_addr,
            settings.openbao_token.get_secret_value(),
            key_name=settings.openbao_key,
            mount=settings.openbao_mount,
            timeout=settings.openbao_timeout,
            namespace=settings.openbao_namespace,
        )
    except ValueError as exc:
        raise ConfigurationError(f"invalid OpenBao settings: {exc}", code="openbao_settings_invalid") from None


def vault_exists(settings: Settings) -> bool:
    if settings.key_provider == "local" and settings.resolved_key_file.exists():
        return True
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).exists()):
        return False
    database = Database(settings.resolved_database_url)
    try:
        if not inspect(database.engine).has_table("tenants"):
            return False
        with database.read() as session:
            return bool(session.execute(select(func.count()).select_from(Tenant)).scalar_one())
    finally:
        database.dispose()


def open_vault(settings: Settings, clock: Clock | None = None, *, migrate: bool = False) -> Vault:
    """Connect to the store and the key provider. The schema must be current unless `migrate`."""
    clock = clock or SystemClock()
    if settings.is_sqlite:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = Database(settings.resolved_database_url)
    if migrate:
        create_schema(database)
    elif not schema_is_current(database):
        database.dispose()
        raise ConfigurationError(
            "the database schema is not current: run `dialvault db upgrade`", code="schema_outdated"
        )
    try:
        policies = TenantPolicies(settings.policy_dir)
        provider = build_key_provider(settings)
        with _provider_errors_mapped(), database.write() as session:
            pepper = load_or_create_pepper(session, provider, clock.now())
    except BaseException:
        database.dispose()
        raise
    return Vault(
        settings=settings,
        database=database,
        provider=provider,
        keyrings=KeyringCache(provider, settings.keyring_ttl_seconds),
        clock=clock,
        api_key_digester=api_key_digester(pepper),
        policies=policies,
    )


@dataclass(frozen=True, slots=True)
class InitializedVault:
    vault: Vault
    tenant_id: str
    tenant_name: str
    admin_key: IssuedKey


def initialize_vault(settings: Settings, tenant_name: str, clock: Clock | None = None) -> InitializedVault:
    """Create the data dir, key file, schema and first tenant with an admin key; never overwrites."""
    if vault_exists(settings):
        raise Conflict("a vault already exists here; refusing to overwrite it", code="vault_exists")
    if settings.key_provider == "local":
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        create_key_file(settings.resolved_key_file, load_passphrase(settings))
    elif settings.key_provider == "env" and settings.root_key is None:
        raise ConfigurationError("DIALVAULT_ROOT_KEY is required for the env key provider")
    elif settings.key_provider == "openbao":
        # The transit key (derived aes256-gcm96, not exportable) is created here once; a later
        # open only uses it, so the serving token needs no right to create or read keys.
        with _openbao_provider(settings) as provider, _provider_errors_mapped():
            provider.ensure_key()
    vault = open_vault(settings, clock, migrate=True)
    now = vault.clock.now()
    try:
        with _provider_errors_mapped(), vault.database.write() as session:
            tenant = create_tenant(session, vault, tenant_name, now)
            admin = issue_api_key(session, vault, tenant.id, Role.ADMIN, now, label="first admin key")
    except BaseException:
        vault.database.dispose()
        raise
    return InitializedVault(vault, tenant.id, tenant.name, admin)


@contextmanager
def _provider_errors_mapped() -> Iterator[None]:
    """Key provider failures at start-up become domain errors with stable codes (no secret in them)."""
    failure: DialvaultError | None = None
    try:
        yield
    except KeyProviderUnavailable as exc:
        failure = ServiceUnavailable(f"the key provider is unavailable: {exc}", code="key_provider_unavailable")
    except DecryptionError:
        failure = ConfigurationError(
            "the vault's keys cannot be unwrapped by this key provider (wrong key, passphrase or token?)",
            code="key_unwrap_failed",
        )
    if failure is not None:
        raise failure


def new_env_root_key() -> str:
    """A fresh base64 root key for the env provider (tests and containers)."""
    return base64.b64encode(os.urandom(32)).decode()
