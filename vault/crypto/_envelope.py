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

__all__ = [
    "ENVELOPE_PREFIX",
    "NONCE_LEN",
    "associated_data",
    "associated_data_tail",
    "envelope_header",
    "envelope_key_version",
    "open_envelope",
    "open_with",
    "seal",
    "seal_with",
]

ENVELOPE_PREFIX = b"dv1"
_HEADER = struct.Struct(">3sI")
NONCE_LEN = 12
_TAG_LEN = 16
_MIN_LEN = _HEADER.size + NONCE_LEN + _TAG_LEN


def associated_data(*parts: str) -> bytes:
    """Bind a ciphertext to its place: length-prefixed parts cannot be confused."""
    return b"dialvault" + associated_data_tail(*parts)


def associated_data_tail(*parts: str) -> bytes:
    """The encoding of further parts: `associated_data(*a) + associated_data_tail(*b) == associated_data(*a, *b)`."""
    out = b""
    for part in parts:
        raw = part.encode("utf-8")
        out += len(raw).to_bytes(2, "big") + raw
    return out


def envelope_header(key_version: int) -> bytes:
    return _HEADER.pack(ENVELOPE_PREFIX, key_version)


def seal(key: bytes, key_version: int, plaintext: bytes, aad: bytes, *, nonce: bytes | None = None) -> bytes:
    return seal_with(
        AESGCM(key), envelope_header(key_version), plaintext, aad, os.urandom(NONCE_LEN) if nonce is None else nonce
    )


def seal_with(aead: AESGCM, header: bytes, plaintext: bytes, aad: bytes, nonce: bytes) -> bytes:
    """`seal` with a prepared cipher and header, for loops that reuse one key; `nonce` must be fresh random bytes."""
    return header + nonce + aead.encrypt(nonce, plaintext, header + aad)


def envelope_key_version(blob: bytes) -> int:
    if len(blob) < _MIN_LEN:
        raise DecryptionError()
    prefix, version = _HEADER.unpack_from(blob)
    if prefix != ENVELOPE_PREFIX:
        raise DecryptionError()
    return int(version)


def open_envelope(key_for_version: Callable[[int], bytes | None], blob: bytes, aad: bytes) -> bytes:
    key = key_for_version(envelope_key_version(blob))
    if key is None:
        raise DecryptionError()
    return open_with(AESGCM(key), blob, aad)


def open_with(aead: AESGCM, blob: bytes, aad: bytes) -> bytes:
    """`open_envelope` with the cipher for the blob's key version (read with `envelope_key_version`)."""
    header = blob[: _HEADER.size]
    iv = blob[_HEADER.size : _HEADER.size + NONCE_LEN]
    try:
        return aead.decrypt(iv, blob[_HEADER.size + NONCE_LEN :], header + aad)
    except (InvalidTag, ValueError):
        raise DecryptionError() from None
