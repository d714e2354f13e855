"""Key providers, tenant keyrings, envelopes, blind indexes and signatures.

This package imports nothing else from the project.
"""

from ._envelope import associated_data, envelope_key_version, open_envelope, seal
from ._errors import CryptoError, DecryptionError, KeyFileError, KeyProviderUnavailable
from ._keyring import KeyFamily, TenantKeyring, VersionedKey, new_key_material
from ._openbao import OpenBaoKeyProvider
from ._primitives import KeyedDigester, blind_index, constant_time_equal, keyed_digest, new_token, sha256_hex
from ._providers import Argon2Params, EnvKeyProvider, KeyProvider, LocalKeyFileProvider, create_key_file
from ._secret import SecretBytes
from ._signing import SignatureError, jws_sign, jws_verify, public_jwk, public_key_from_jwk

__all__ = [
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
]
