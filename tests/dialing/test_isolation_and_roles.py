"""Tenant isolation and roles on every dialing route."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import TenantKeys
from tests.dialing.conftest import LINE, Dialing
from vault.services import Role

Ready = tuple[Dialing, str, str]


def test_another_tenants_gateway_cannot_redeem_a_handle(ready: Ready, client: TestClient, globex: TenantKeys) -> None:
    _, _, handle = ready
    response = client.post("/v1/dial/authorize", json={"handle": handle, "caller_line": LINE},
                           headers=globex.headers(Role.GATEWAY))  # fmt: skip
    assert response.json() == {"decision": "deny", "reason": "unknown_handle"}


def test_another_tenants_dialer_cannot_check_or_revoke_a_handle(
    ready: Ready, client: TestClient, globex: TenantKeys
) -> None:
    _, _, handle = ready
    headers = globex.headers(Role.DIALER)
    assert client.post("/v1/dial/check", json={"handle": handle}, headers=headers).json()["reason"] == "unknown_handle"
    assert client.post("/v1/handles/revoke", json={"handle": handle}, headers=headers).status_code == 404


def test_another_tenant_cannot_issue_handles_for_a_campaign_or_its_contacts(
    dial: Dialing, client: TestClient, globex: TenantKeys
) -> None:
    contact_id = dial.consent()
    campaign_id = dial.campaign()
    response = client.post(f"/v1/campaigns/{campaign_id}/handles", json={"contact_ids": [contact_id]},
                           headers=globex.headers(Role.DIALER))  # fmt: skip
    assert response.status_code == 404
    theirs = Dialing(client, globex)
    theirs.caller_line()
    issued = theirs.handles(theirs.campaign(), [contact_id])
    assert issued == {"campaign_id": issued["campaign_id"], "handles": [],
                      "excluded": [{"contact_id": contact_id, "reason": "unknown_contact"}]}  # fmt: skip


def test_another_tenant_cannot_report_an_outcome(ready: Ready, client: TestClient, globex: TenantKeys) -> None:
    dial, _, handle = ready
    attempt_id = dial.authorize(handle)["attempt_id"]
    response = client.post("/v1/dial/outcome", json={"attempt_id": attempt_id, "outcome": "opted_out"},
                           headers=globex.headers(Role.GATEWAY))  # fmt: skip
    assert response.status_code == 404
    assert dial.reason(handle) is None


def test_dialer_and_capture_keys_cannot_authorize(ready: Ready) -> None:
    dial, _, handle = ready
    for role in (Role.DIALER, Role.CAPTURE, Role.ADMIN, Role.PRIVACY, Role.AUDITOR):
        response = dial.client.post("/v1/dial/authorize", json={"handle": handle, "caller_line": LINE},
                                    headers=dial.tenant.headers(role))  # fmt: skip
        assert response.status_code == 403, role
        assert "destination" not in response.text


def test_wrong_roles_are_refused_on_dialer_routes(ready: Ready) -> None:
    dial, _, handle = ready
    for role in (Role.GATEWAY, Role.CAPTURE):
        headers = dial.tenant.headers(role)
        assert dial.client.post("/v1/dial/check", json={"handle": handle}, headers=headers).status_code == 403
        assert dial.client.post("/v1/handles/revoke", json={"handle": handle}, headers=headers).status_code == 403
        assert dial.client.post("/v1/campaigns/x/handles", json={}, headers=headers).status_code == 403
    headers = dial.tenant.headers(Role.CAPTURE)
    assert dial.client.post("/v1/dial/outcome", json={}, headers=headers).status_code == 403
