"""AES-256-GCM envelopes: a version prefix, the key version, a nonce and the sealed bytes.

Layout: ``b"dv1"`` | key version (4 bytes, big-endian) | nonce (12) | ciphertext+tag.
The header is part of the associated data, so a changed version fails to open.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._errors import DecryptionError

__all__ = ["ENVELOPE_PREFIX", "associated_data", "envelope_key_version", "open_envelope", "seal"]

ENVELOPE_PREFIX = b"dv1"
_HEADER = struct.Struct(">3sI")
_NONCE_LEN = 12
_TAG_LEN = 16
_MIN_LEN = _HEADER.size + _NONCE_LEN + _TAG_LEN


def associated_data(*parts: str) -> bytes:
    """Bind a ciphertext to its place: length-prefixed parts cannot be confused."""
    out = bytearray(b"dialvault")
    for part in parts:
        raw = part.encode("utf-8")
        out += struct.pack(">H", len(raw)) + raw
    return bytes(out)


def seal(key: bytes, key_version: int, plaintext: bytes, aad: bytes, *, nonce: bytes | None = None) -> bytes:
    header = _HEADER.pack(ENVELOPE_PREFIX, key_version)
    iv = os.urandom(_NONCE_LEN) if nonce is None else nonce
    return header + iv + AESGCM(key).encrypt(iv, plaintext, header + aad)


def envelope_key_version(blob: bytes) -> int:
    if len(blob) < _MIN_LEN:
        raise DecryptionError()
    prefix, version = _HEADER.unpack_from(blob)
    if prefix != ENVELOPE_PREFIX:
        raise DecryptionError()
    return int(version)


def open_envelope(key_for_version: Callable[[int], bytes | None], blob: bytes, aad: bytes) -> bytes:
    version = envelope_key_version(blob)
    key = key_for_version(version)
    if key is None:
        raise DecryptionError()
    header = blob[: _HEADER.size]
    iv = blob[_HEADER.size : _HEADER.size + _NONCE_LEN]
    try:
        return AESGCM(key).decrypt(iv, blob[_HEADER.size + _NONCE_LEN :], header + aad)
    except (InvalidTag, ValueError):
        raise DecryptionError() from None
