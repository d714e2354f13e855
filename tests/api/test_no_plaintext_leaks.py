"""No plaintext number in the database file, its WAL, logs or error bodies."""

from __future__ import annotations

import logging
from pathlib import Path

import phonenumbers
import pytest
from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from vault.api._logging import JsonFormatter, RedactingFilter
from vault.services import Role, Vault

NUMBERS = ["+8613800138000", "+8613912345678", "+14155550123", "+33612345678", "+447911123456"]


def number_forms(e164: str) -> set[bytes]:
    """Every common way to write a number: E.164, national, international, digits only."""
    parsed = phonenumbers.parse(e164)
    forms = {
        e164,
        e164.lstrip("+"),
        str(parsed.national_number),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
    }
    return {f.encode() for f in forms} | {"".join(ch for ch in f if ch.isdigit()).encode() for f in forms}


def register_all(client: TestClient, acme: TenantKeys) -> None:
    headers = acme.headers(Role.CAPTURE)
    for number in NUMBERS:
        assert client.post("/v1/contacts", json={"phone": number}, headers=headers).status_code == 201
    batch = {"contacts": [{"phone": n} for n in NUMBERS]}
    assert client.post("/v1/contacts/batch", json=batch, headers=headers).status_code == 200


@pytest.mark.sqlite_only("scans vault.db and its WAL; see tests/postgres/test_no_plaintext_at_rest.py")
def test_database_and_wal_hold_no_number_in_any_format(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    register_all(client, acme)
    files = sorted(Path(vault.settings.home).glob("vault.db*"))
    assert any(f.name.endswith("-wal") for f in files), "expected a WAL file while the vault is open"
    for path in files:
        data = path.read_bytes()
        for number in NUMBERS:
            for form in number_forms(number):
                assert form not in data, f"{path.name} holds a number"


def test_logs_of_a_full_request_cycle_hold_no_number(
    client: TestClient, acme: TenantKeys, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        register_all(client, acme)
        client.post("/v1/contacts", json={"phone": "+86 138 0013 800"}, headers=acme.headers(Role.CAPTURE))
    assert any(r.name == "dialvault.access" for r in caplog.records)
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for number in NUMBERS:
        for form in number_forms(number):
            assert form.decode() not in text


def test_access_log_carries_the_request_id(
    client: TestClient, acme: TenantKeys, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dialvault.access"):
        response = client.get("/healthz", headers={"x-request-id": "abc123"})
    assert response.headers["x-request-id"] == "abc123"
    record = next(r for r in caplog.records if r.name == "dialvault.access")
    RedactingFilter().filter(record)
    assert '"request_id": "abc123"' in JsonFormatter().format(record)


def test_redacting_filter_scrubs_numbers_that_slip_into_messages() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "calling %s", ("+86 138 0013 8000",), None)
    RedactingFilter().filter(record)
    assert "138" not in record.getMessage()


def test_error_bodies_never_echo_the_number(client: TestClient, acme: TenantKeys) -> None:
    for bad in ["+86 138 0013 800", "138001380000000000", "+1 415 555 012"]:
        response = client.post("/v1/contacts", json={"phone": bad}, headers=acme.headers(Role.CAPTURE))
        assert response.status_code == 422
        assert "".join(c for c in bad if c.isdigit())[:7] not in response.text
