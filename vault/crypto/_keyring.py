"""A tenant's unwrapped keys and the operations that use them.

Each tenant has versioned keys, one family per use. The newest version of a family
encrypts or signs; every version still present decrypts or verifies. The blind-index
key has a single version because suppression entries keyed by it must outlive
everything else.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._envelope import (
    NONCE_LEN,
    associated_data,
    associated_data_tail,
    envelope_header,
    envelope_key_version,
    open_with,
    seal_with,
)
from ._errors import DecryptionError
from ._primitives import BLIND_LABEL, KeyedDigester
from ._secret import SecretBytes
from ._signing import jws_sign, public_jwk

__all__ = ["KeyFamily", "TenantKeyring", "VersionedKey", "new_key_material"]

_FIELD_KEY_VERSION = 1
_FIELD_HEADER = envelope_header(_FIELD_KEY_VERSION)
_DEK_LEN = 32
_SEAL_STEP = _DEK_LEN + 2 * NONCE_LEN


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
        # Key schedules are set up once per keyring rather than once per contact.
        self._wrappers = {
            version: AESGCM(material.reveal()) for version, material in self._keys[KeyFamily.CONTACT_DEK_WRAP].items()
        }
        self._wrap_header = envelope_header(self._current[KeyFamily.CONTACT_DEK_WRAP])
        self._blind_indexer = KeyedDigester(self._current_key(KeyFamily.BLIND_INDEX), BLIND_LABEL)
        self._handle_digester = KeyedDigester(self._current_key(KeyFamily.HANDLE_DIGEST), b"handle:")
        self._audit_digesters: dict[int, KeyedDigester] = {}  # by key version
        self._dek_aad = associated_data("dek", tenant_id)
        self._field_aad = associated_data("field", tenant_id)

    def __repr__(self) -> str:
        return f"TenantKeyring(tenant_id={self.tenant_id!r}, keys=<redacted>)"

    def current_version(self, family: KeyFamily) -> int:
        return self._current[family]

    def _current_key(self, family: KeyFamily) -> bytes:
        return self._keys[family][self._current[family]].reveal()

    # -- contact data keys ---------------------------------------------------------

    def new_contact_dek(self, contact_id: str) -> tuple[SecretBytes, bytes]:
        """A fresh per-contact DEK and its wrapped form under the current wrap key."""
        dek = os.urandom(_DEK_LEN)
        return SecretBytes(dek), self._wrap(contact_id, dek, os.urandom(NONCE_LEN))

    def seal_new_contacts(self, field: str, contacts: Sequence[tuple[str, bytes]]) -> list[tuple[bytes, bytes]]:
        """For each (contact_id, plaintext): a fresh DEK, wrapped, and the field sealed under it.

        Returns (wrapped DEK, field ciphertext) pairs; the DEKs themselves never leave the keyring.
        """
        # The same envelopes `seal_with` builds (header | nonce | AES-GCM with the header in the associated
        # data), written out in one loop: two function calls per contact were ~15% of the sealing.
        # One read from the OS CSPRNG for the whole batch: per contact a DEK and two nonces.
        pool = os.urandom(_SEAL_STEP * len(contacts))
        wrap = self._wrappers[self._current[KeyFamily.CONTACT_DEK_WRAP]].encrypt
        wrap_header = self._wrap_header
        wrap_aad = wrap_header + self._dek_aad
        field_aad = _FIELD_HEADER + self._field_aad
        field_tail = associated_data_tail(field)
        sealed: list[tuple[bytes, bytes]] = []
        append = sealed.append
        offset = 0
        for contact_id, plaintext in contacts:
            raw_id = contact_id.encode("utf-8")
            contact_tail = len(raw_id).to_bytes(2, "big") + raw_id
            dek = pool[offset : offset + _DEK_LEN]
            wrap_nonce = pool[offset + _DEK_LEN : offset + _DEK_LEN + NONCE_LEN]
            field_nonce = pool[offset + _DEK_LEN + NONCE_LEN : offset + _SEAL_STEP]
            offset += _SEAL_STEP
            append(
                (
                    wrap_header + wrap_nonce + wrap(wrap_nonce, dek, wrap_aad + contact_tail),
                    _FIELD_HEADER
                    + field_nonce
                    + AESGCM(dek).encrypt(field_nonce, plaintext, field_aad + contact_tail + field_tail),
                )
            )
        return sealed

    def _wrap(self, contact_id: str, dek: bytes, nonce: bytes) -> bytes:
        wrapper = self._wrappers[self._current[KeyFamily.CONTACT_DEK_WRAP]]
        return seal_with(wrapper, self._wrap_header, dek, self._dek_aad + associated_data_tail(contact_id), nonce)

    def unwrap_contact_dek(self, contact_id: str, wrapped: bytes) -> SecretBytes:
        wrapper = self._wrappers.get(envelope_key_version(wrapped))
        if wrapper is None:
            raise DecryptionError()
        return SecretBytes(open_with(wrapper, wrapped, self._dek_aad + associated_data_tail(contact_id)))

    def rewrap_contact_dek(self, contact_id: str, wrapped: bytes) -> bytes:
        """Re-seal a wrapped DEK under the current wrap key (no-op result if already current)."""
        dek = self.unwrap_contact_dek(contact_id, wrapped)
        return self._wrap(contact_id, dek.reveal(), os.urandom(NONCE_LEN))

    def dek_wrap_version(self, wrapped: bytes) -> int:
        return envelope_key_version(wrapped)

    def encrypt_field(self, dek: SecretBytes, contact_id: str, field: str, plaintext: bytes) -> bytes:
        aad = self._field_aad + associated_data_tail(contact_id, field)
        return seal_with(AESGCM(dek.reveal()), _FIELD_HEADER, plaintext, aad, os.urandom(NONCE_LEN))

    def decrypt_field(self, dek: SecretBytes, contact_id: str, field: str, blob: bytes) -> bytes:
        if envelope_key_version(blob) != _FIELD_KEY_VERSION:
            raise DecryptionError()
        return open_with(AESGCM(dek.reveal()), blob, self._field_aad + associated_data_tail(contact_id, field))

    # -- keyed digests -------------------------------------------------------------

    def blind_index(self, e164: str) -> bytes:
        return self._blind_indexer(e164)

    def blind_indexes(self, numbers: Iterable[str]) -> list[bytes]:
        """`blind_index` of each number, in order."""
        return self._blind_indexer.many(numbers)

    def handle_digest(self, token: str) -> bytes:
        return self._handle_digester(token)

    def _audit_key(self, version: int | None) -> tuple[int, bytes]:
        family = KeyFamily.AUDIT_MAC
        resolved = self._current[family] if version is None else version
        key = self._keys[family].get(resolved)
        if key is None:
            raise DecryptionError()
        return resolved, key.reveal()

    def audit_mac(self, data: bytes, version: int | None = None) -> bytes:
        resolved, key = self._audit_key(version)
        digester = self._audit_digesters.get(resolved)
        if digester is None:
            digester = self._audit_digesters[resolved] = KeyedDigester(key, b"audit:")
        return digester(data)

    def audit_macs(self, prefix: bytes, version: int | None = None) -> Callable[[str], bytes]:
        """`value -> audit_mac(prefix + value.encode())`, keyed and fed the prefix once (for many MACs)."""
        return KeyedDigester(self._audit_key(version)[1], b"audit:" + prefix)

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
