"""A tenant's unwrapped keys and the operations that use them.

Each tenant has versioned keys, one family per use. The newest version of a family
encrypts or signs; every version still present decrypts or verifies. The blind-index
key has a single version because suppression entries keyed by it must outlive
everything else.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ._envelope import associated_data, envelope_key_version, open_envelope, seal
from ._errors import DecryptionError
from ._primitives import blind_index, keyed_digest
from ._secret import SecretBytes
from ._signing import jws_sign, public_jwk

__all__ = ["KeyFamily", "TenantKeyring", "VersionedKey", "new_key_material"]

_FIELD_KEY_VERSION = 1


class KeyFamily(enum.StrEnum):
    CONTACT_DEK_WRAP = "contact_dek_wrap"
    BLIND_INDEX = "blind_index"
    AUDIT_MAC = "audit_mac"
    HANDLE_DIGEST = "handle_digest"
    RECEIPT_SIGNING = "receipt_signing"


def new_key_material(family: KeyFamily) -> bytes:
    """32 random bytes: an AES/HMAC key, or an Ed25519 private key seed."""
    del family  # every family uses 32 bytes today; the argument keeps call sites explicit
    return os.urandom(32)


@dataclass(frozen=True, slots=True)
class VersionedKey:
    version: int
    material: SecretBytes


class TenantKeyring:
    """Unwrapped tenant keys held in memory; never written to disk or logged."""

    def __init__(self, tenant_id: str, keys: Mapping[KeyFamily, list[VersionedKey]]) -> None:
        self.tenant_id = tenant_id
        self._keys: dict[KeyFamily, dict[int, SecretBytes]] = {}
        self._current: dict[KeyFamily, int] = {}
        for family in KeyFamily:
            versions = keys.get(family) or []
            if not versions:
                raise DecryptionError()
            self._keys[family] = {k.version: k.material for k in versions}
            self._current[family] = max(self._keys[family])
        self._signers = {
            version: Ed25519PrivateKey.from_private_bytes(material.reveal())
            for version, material in self._keys[KeyFamily.RECEIPT_SIGNING].items()
        }

    def __repr__(self) -> str:
        return f"TenantKeyring(tenant_id={self.tenant_id!r}, keys=<redacted>)"

    def current_version(self, family: KeyFamily) -> int:
        return self._current[family]

    def _current_key(self, family: KeyFamily) -> bytes:
        return self._keys[family][self._current[family]].reveal()

    def _key_lookup(self, family: KeyFamily) -> _Lookup:
        return _Lookup(self._keys[family])

    # -- contact data keys ---------------------------------------------------------

    def _dek_aad(self, contact_id: str) -> bytes:
        return associated_data("dek", self.tenant_id, contact_id)

    def new_contact_dek(self, contact_id: str) -> tuple[SecretBytes, bytes]:
        """A fresh per-contact DEK and its wrapped form under the current wrap key."""
        dek = os.urandom(32)
        family = KeyFamily.CONTACT_DEK_WRAP
        wrapped = seal(self._current_key(family), self._current[family], dek, self._dek_aad(contact_id))
        return SecretBytes(dek), wrapped

    def unwrap_contact_dek(self, contact_id: str, wrapped: bytes) -> SecretBytes:
        lookup = self._key_lookup(KeyFamily.CONTACT_DEK_WRAP)
        return SecretBytes(open_envelope(lookup, wrapped, self._dek_aad(contact_id)))

    def rewrap_contact_dek(self, contact_id: str, wrapped: bytes) -> bytes:
        """Re-seal a wrapped DEK under the current wrap key (no-op result if already current)."""
        dek = self.unwrap_contact_dek(contact_id, wrapped)
        family = KeyFamily.CONTACT_DEK_WRAP
        return seal(self._current_key(family), self._current[family], dek.reveal(), self._dek_aad(contact_id))

    def dek_wrap_version(self, wrapped: bytes) -> int:
        return envelope_key_version(wrapped)

    def encrypt_field(self, dek: SecretBytes, contact_id: str, field: str, plaintext: bytes) -> bytes:
        aad = associated_data("field", self.tenant_id, contact_id, field)
        return seal(dek.reveal(), _FIELD_KEY_VERSION, plaintext, aad)

    def decrypt_field(self, dek: SecretBytes, contact_id: str, field: str, blob: bytes) -> bytes:
        aad = associated_data("field", self.tenant_id, contact_id, field)
        key = dek.reveal()
        return open_envelope(lambda v: key if v == _FIELD_KEY_VERSION else None, blob, aad)

    # -- keyed digests -------------------------------------------------------------

    def blind_index(self, e164: str) -> bytes:
        return blind_index(self._current_key(KeyFamily.BLIND_INDEX), e164)

    def handle_digest(self, token: str) -> bytes:
        return keyed_digest(self._current_key(KeyFamily.HANDLE_DIGEST), token, label="handle")

    def audit_mac(self, data: bytes, version: int | None = None) -> bytes:
        family = KeyFamily.AUDIT_MAC
        key = self._keys[family].get(self._current[family] if version is None else version)
        if key is None:
            raise DecryptionError()
        return keyed_digest(key.reveal(), data, label="audit")

    # -- receipts ------------------------------------------------------------------

    def signing_kid(self, version: int | None = None) -> str:
        v = self._current[KeyFamily.RECEIPT_SIGNING] if version is None else version
        return f"{self.tenant_id}.receipt.v{v}"

    def sign(self, payload: dict[str, object]) -> str:
        version = self._current[KeyFamily.RECEIPT_SIGNING]
        return jws_sign(self._signers[version], self.signing_kid(version), payload)

    def jwks(self) -> list[dict[str, str]]:
        return [
            public_jwk(signer.public_key(), self.signing_kid(version))
            for version, signer in sorted(self._signers.items())
        ]


class _Lookup:
    __slots__ = ("_keys",)

    def __init__(self, keys: dict[int, SecretBytes]) -> None:
        self._keys = keys

    def __call__(self, version: int) -> bytes | None:
        key = self._keys.get(version)
        return None if key is None else key.reveal()
