"""AES-256-GCM envelopes: known answers, tampering, binding to their place."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given
from hypothesis import strategies as st

from vault.crypto import DecryptionError, associated_data, envelope_key_version, open_envelope, seal

KEY = bytes(range(32))
NONCE = bytes(12)


def test_known_answer_is_stable() -> None:
    blob = seal(KEY, 7, b"+8613800138000", associated_data("field", "tn_a", "ct_a", "phone"), nonce=NONCE)
    assert blob.hex() == (
        "64763100000007000000000000000000000000258483ef8614b38d399b9105281cebaccdd5579d5171cfb31aee80790f23"
    )


def test_known_answer_matches_plain_aes_gcm() -> None:
    aad = associated_data("field", "tn_a", "ct_a", "phone")
    header = b"dv1" + (7).to_bytes(4, "big")
    expected = header + NONCE + AESGCM(KEY).encrypt(NONCE, b"+8613800138000", header + aad)
    assert seal(KEY, 7, b"+8613800138000", aad, nonce=NONCE) == expected


def test_header_carries_prefix_and_key_version() -> None:
    blob = seal(KEY, 7, b"x", b"aad")
    assert blob.startswith(b"dv1")
    assert envelope_key_version(blob) == 7


@given(plaintext=st.binary(max_size=512), aad=st.binary(max_size=64), version=st.integers(0, 2**32 - 1))
def test_round_trip_for_any_input(plaintext: bytes, aad: bytes, version: int) -> None:
    assert open_envelope(lambda _v: KEY, seal(KEY, version, plaintext, aad), aad) == plaintext


@pytest.mark.parametrize("position", [0, 5, 10, 20, -1])
def test_flipping_any_byte_fails_opaquely(position: int) -> None:
    blob = bytearray(seal(KEY, 1, b"secret", b"aad"))
    blob[position] ^= 0x01
    with pytest.raises(DecryptionError) as raised:
        open_envelope(lambda _v: KEY, bytes(blob), b"aad")
    assert str(raised.value) == "decryption failed"


def test_other_associated_data_fails() -> None:
    blob = seal(KEY, 1, b"secret", associated_data("field", "tn_a", "ct_a", "phone"))
    with pytest.raises(DecryptionError):
        open_envelope(lambda _v: KEY, blob, associated_data("field", "tn_a", "ct_b", "phone"))


def test_unknown_key_version_fails() -> None:
    with pytest.raises(DecryptionError):
        open_envelope(lambda _v: None, seal(KEY, 2, b"secret", b""), b"")


def test_truncated_blob_fails() -> None:
    with pytest.raises(DecryptionError):
        open_envelope(lambda _v: KEY, b"dv1\x00", b"")


def test_associated_data_parts_cannot_be_shifted() -> None:
    assert associated_data("ab", "c") != associated_data("a", "bc")
