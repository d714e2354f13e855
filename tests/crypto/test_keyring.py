"""Tenant keyrings: per-contact DEKs bound to tenant, contact and field; rotation; signatures."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest

from vault.crypto import (
    DecryptionError,
    KeyFamily,
    SecretBytes,
    SignatureError,
    TenantKeyring,
    VersionedKey,
    associated_data,
    blind_index,
    jws_verify,
    open_envelope,
)


def make_keyring(tenant_id: str = "tn_a", versions: int = 1) -> TenantKeyring:
    return TenantKeyring(
        tenant_id,
        {f: [VersionedKey(v, SecretBytes(os.urandom(32))) for v in range(1, versions + 1)] for f in KeyFamily},
    )


def test_field_round_trips_under_contact_dek() -> None:
    keyring = make_keyring()
    dek, wrapped = keyring.new_contact_dek("ct_a")
    blob = keyring.encrypt_field(dek, "ct_a", "phone", b"+8613800138000")
    assert (
        keyring.decrypt_field(keyring.unwrap_contact_dek("ct_a", wrapped), "ct_a", "phone", blob) == b"+8613800138000"
    )


def test_ciphertext_moved_to_another_contact_fails() -> None:
    keyring = make_keyring()
    dek_a, _ = keyring.new_contact_dek("ct_a")
    blob = keyring.encrypt_field(dek_a, "ct_a", "phone", b"+8613800138000")
    with pytest.raises(DecryptionError):
        keyring.decrypt_field(dek_a, "ct_b", "phone", blob)


def test_wrapped_dek_moved_to_another_contact_fails() -> None:
    keyring = make_keyring()
    _, wrapped = keyring.new_contact_dek("ct_a")
    with pytest.raises(DecryptionError):
        keyring.unwrap_contact_dek("ct_b", wrapped)


def test_ciphertext_for_another_field_fails() -> None:
    keyring = make_keyring()
    dek, _ = keyring.new_contact_dek("ct_a")
    blob = keyring.encrypt_field(dek, "ct_a", "phone", b"x")
    with pytest.raises(DecryptionError):
        keyring.decrypt_field(dek, "ct_a", "evidence", blob)


def test_other_tenant_cannot_unwrap_or_decrypt() -> None:
    keyring_a, keyring_b = make_keyring("tn_a"), make_keyring("tn_b")
    dek, wrapped = keyring_a.new_contact_dek("ct_a")
    blob = keyring_a.encrypt_field(dek, "ct_a", "phone", b"x")
    with pytest.raises(DecryptionError):
        keyring_b.unwrap_contact_dek("ct_a", wrapped)
    with pytest.raises(DecryptionError):
        keyring_b.decrypt_field(dek, "ct_a", "phone", blob)


def test_newest_version_wraps_and_old_versions_still_unwrap() -> None:
    old = make_keyring(versions=1)
    _, wrapped_v1 = old.new_contact_dek("ct_a")
    keys = {f: [VersionedKey(1, old._keys[f][1])] for f in KeyFamily}
    keys[KeyFamily.CONTACT_DEK_WRAP].append(VersionedKey(2, SecretBytes(os.urandom(32))))
    rotated = TenantKeyring("tn_a", keys)
    assert rotated.dek_wrap_version(rotated.new_contact_dek("ct_b")[1]) == 2
    rewrapped = rotated.rewrap_contact_dek("ct_a", wrapped_v1)
    assert rotated.dek_wrap_version(rewrapped) == 2
    assert rotated.unwrap_contact_dek("ct_a", rewrapped) == rotated.unwrap_contact_dek("ct_a", wrapped_v1)


def test_blind_index_is_deterministic_per_tenant_and_differs_between_tenants() -> None:
    keyring_a, keyring_b = make_keyring("tn_a"), make_keyring("tn_b")
    assert keyring_a.blind_index("+8613800138000") == keyring_a.blind_index("+8613800138000")
    assert keyring_a.blind_index("+8613800138000") != keyring_b.blind_index("+8613800138000")


def test_handle_digest_is_the_hmac_of_the_handle_under_the_handle_key() -> None:
    material = bytes(range(32, 64))
    keys = {f: [VersionedKey(1, SecretBytes(os.urandom(32)))] for f in KeyFamily}
    keys[KeyFamily.HANDLE_DIGEST] = [VersionedKey(1, SecretBytes(material))]
    keyring = TenantKeyring("tn_a", keys)
    for handle in ("dh_abc", "dh_" + "x" * 32):
        expected = hmac.new(material, b"handle:" + handle.encode(), hashlib.sha256).digest()
        assert keyring.handle_digest(handle) == expected


def test_blind_index_is_the_hmac_of_the_number_under_the_index_key() -> None:
    material = bytes(range(32))
    keys = {f: [VersionedKey(1, SecretBytes(os.urandom(32)))] for f in KeyFamily}
    keys[KeyFamily.BLIND_INDEX] = [VersionedKey(1, SecretBytes(material))]
    keyring = TenantKeyring("tn_a", keys)
    for number in ("+8613800138000", "+14155550123", "+447911123456"):
        expected = hmac.new(material, b"phone:" + number.encode(), hashlib.sha256).digest()
        assert keyring.blind_index(number) == blind_index(material, number) == expected


@pytest.mark.parametrize("key_length", [16, 32, 64, 65, 100])
def test_blind_index_is_the_hmac_for_index_keys_of_any_length(key_length: int) -> None:
    material = os.urandom(key_length)
    keys = {f: [VersionedKey(1, SecretBytes(os.urandom(32)))] for f in KeyFamily}
    keys[KeyFamily.BLIND_INDEX] = [VersionedKey(1, SecretBytes(material))]
    keyring = TenantKeyring("tn_a", keys)
    assert keyring.blind_index("+14155550123") == blind_index(material, "+14155550123")


def test_blind_indexes_of_many_numbers_are_each_numbers_blind_index_in_order() -> None:
    keyring = make_keyring()
    numbers = ["+8613800138000", "+14155550123", "+8613800138000", "+447911123456"]
    assert keyring.blind_indexes(numbers) == [keyring.blind_index(n) for n in numbers]


def test_primed_audit_macs_equal_the_audit_mac_of_prefix_and_value_for_each_key_version() -> None:
    keyring = make_keyring(versions=2)
    for version in (1, 2):
        macs = keyring.audit_macs(b"prefix\x1f", version)
        assert macs("rc_a\x1fct_b") == keyring.audit_mac(b"prefix\x1frc_a\x1fct_b", version)
        assert macs("rc_c") == keyring.audit_mac(b"prefix\x1frc_c", version)


def test_primed_audit_macs_of_an_unknown_key_version_are_refused() -> None:
    with pytest.raises(DecryptionError):
        make_keyring().audit_macs(b"prefix", 9)


def test_batch_sealed_fields_round_trip_each_under_its_own_dek() -> None:
    keyring = make_keyring()
    contacts = [(f"ct_{i}", f"+86138001380{i:02d}".encode()) for i in range(20)]
    sealed = keyring.seal_new_contacts("phone", contacts)
    deks = set()
    for (contact_id, plaintext), (wrapped, blob) in zip(contacts, sealed, strict=True):
        dek = keyring.unwrap_contact_dek(contact_id, wrapped)
        deks.add(dek.reveal())
        assert keyring.decrypt_field(dek, contact_id, "phone", blob) == plaintext
    assert len(deks) == len(contacts)


def test_batch_sealed_fields_use_the_dv1_layout_and_associated_data() -> None:
    wrap_key = os.urandom(32)
    keys = {f: [VersionedKey(1, SecretBytes(os.urandom(32)))] for f in KeyFamily}
    keys[KeyFamily.CONTACT_DEK_WRAP] = [VersionedKey(3, SecretBytes(wrap_key))]
    keyring = TenantKeyring("tn_a", keys)
    [(wrapped, blob)] = keyring.seal_new_contacts("phone", [("ct_a", b"+8613800138000")])
    assert keyring.dek_wrap_version(wrapped) == 3
    dek = open_envelope(lambda v: wrap_key if v == 3 else None, wrapped, associated_data("dek", "tn_a", "ct_a"))
    field_aad = associated_data("field", "tn_a", "ct_a", "phone")
    assert open_envelope(lambda v: dek if v == 1 else None, blob, field_aad) == b"+8613800138000"


def test_batch_sealed_field_moved_to_another_contact_fails() -> None:
    keyring = make_keyring()
    [(wrapped_a, blob_a), (wrapped_b, _)] = keyring.seal_new_contacts("phone", [("ct_a", b"x"), ("ct_b", b"y")])
    with pytest.raises(DecryptionError):
        keyring.unwrap_contact_dek("ct_b", wrapped_a)
    with pytest.raises(DecryptionError):
        keyring.decrypt_field(keyring.unwrap_contact_dek("ct_b", wrapped_b), "ct_b", "phone", blob_a)


def test_receipt_signature_verifies_with_jwks_only() -> None:
    keyring = make_keyring()
    token = keyring.sign({"consentReceiptID": "rcpt_a"})
    assert jws_verify(token, {"keys": keyring.jwks()}) == {"consentReceiptID": "rcpt_a"}


def test_changed_receipt_fails_verification() -> None:
    keyring = make_keyring()
    header, _body, signature = keyring.sign({"a": 1}).split(".")
    forged_body = keyring.sign({"a": 2}).split(".")[1]
    with pytest.raises(SignatureError):
        jws_verify(f"{header}.{forged_body}.{signature}", {"keys": keyring.jwks()})


def test_keyring_and_secrets_never_show_key_material() -> None:
    keyring = make_keyring()
    secret = SecretBytes(b"k" * 32)
    assert "redacted" in repr(keyring)
    assert "kkkk" not in repr(secret) and "kkkk" not in str(secret)
