"""PostgreSQL counterpart of the SQLite-trigger test: if the audit write fails, the action fails too."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.conftest import TenantKeys
from vault.services import Role, Vault
from vault.storage.tables import Contact


def test_failed_audit_write_fails_the_action(client: TestClient, acme: TenantKeys, vault: Vault) -> None:
    headers = acme.headers(Role.CAPTURE)
    with vault.database.write() as session:
        session.execute(
            text(
                "CREATE FUNCTION audit_down() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
            )
        )
        session.execute(
            text("CREATE TRIGGER audit_down BEFORE INSERT ON audit_entries FOR EACH ROW EXECUTE FUNCTION audit_down()")
        )
    response = client.post("/v1/contacts", json={"phone": "+8613800138000"}, headers=headers)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_write_failed"
    with vault.database.read() as session:
        assert session.execute(select(Contact)).first() is None
