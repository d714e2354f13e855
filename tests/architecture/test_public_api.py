"""The public Python API of each layer is pinned: a change here is a deliberate, reviewed change."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "vault.api": [
        "HTTP_PROTOCOL",
        "app_from_environment",
        "configure_logging",
        "create_app",
    ],
    "vault.crypto": [
        "Argon2Params",
        "CryptoError",
        "DecryptionError",
        "EnvKeyProvider",
        "KeyFamily",
        "KeyFileError",
        "KeyProvider",
        "KeyProviderUnavailable",
        "KeyedDigester",
        "LocalKeyFileProvider",
        "OpenBaoKeyProvider",
        "SecretBytes",
        "SignatureError",
        "TenantKeyring",
        "VersionedKey",
        "associated_data",
        "blind_index",
        "constant_time_equal",
        "create_key_file",
        "envelope_key_version",
        "jws_sign",
        "jws_verify",
        "keyed_digest",
        "new_key_material",
        "new_token",
        "open_envelope",
        "public_jwk",
        "public_key_from_jwk",
        "seal",
        "sha256_hex",
    ],
    "vault.policy": [
        "CALLER_LINE_NOT_REGISTERED",
        "CALLER_LINE_NOT_WHITELISTED",
        "CAMPAIGN_CLOSED",
        "CHANNELS",
        "CHANNEL_NOT_ALLOWED",
        "CHANNEL_NOT_CONSENTED",
        "CONSENT_EXPIRED",
        "CONSENT_WITHDRAWN",
        "CallerLineFact",
        "CapOverride",
        "Citation",
        "ConsentFact",
        "Decision",
        "DialFacts",
        "ERASED",
        "FREQUENCY_CAP",
        "HANDLE_EXPIRED",
        "LICENCE_MISSING",
        "LicenceFact",
        "MethodRequirement",
        "NO_CONSENT",
        "NoApplicableRule",
        "POLICY_ERROR",
        "Plan",
        "PolicyFileError",
        "PolicySet",
        "Purpose",
        "QUIET_HOURS",
        "REASON_PRIORITY",
        "REFUSAL_COOLOFF",
        "SUPPRESSED",
        "ScreeningRule",
        "UNKNOWN_HANDLE",
        "UNKNOWN_PURPOSE",
        "UnknownPurpose",
        "WindowOverride",
        "decide",
        "load_policy_set",
        "parse_duration",
    ],
    "vault.services": [
        "Actor",
        "InitializedVault",
        "IssuedKey",
        "KeyringCache",
        "Role",
        "Vault",
        "initialize_vault",
        "open_vault",
        "preload_phone_data",
        "vault_exists",
    ],
    "vault.storage": [
        "Database",
        "DatabaseUnavailable",
        "Prepared",
        "SCHEMA_REVISION",
        "Tx",
        "WRITE_WAIT_SECONDS",
        "WriterBusy",
        "as_tx",
        "bulk_insert",
        "bulk_update",
        "canonical_json",
        "create_schema",
        "in_list_chunks",
        "schema_is_current",
        "tables",
        "upgrade_schema",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names_are_pinned(module: str) -> None:
    assert sorted(importlib.import_module(module).__all__) == PUBLIC[module]


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_exists(module: str) -> None:
    imported = importlib.import_module(module)
    assert all(hasattr(imported, name) for name in PUBLIC[module])
