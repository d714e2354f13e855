"""Caller lines, licences, tenant policy overrides and campaigns: the admin and dialer set-up routes."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import TenantKeys
from tests.dialing.conftest import LINE, OTHER_LINE, Dialing
from vault.clock import FixedClock
from vault.services import Role, Vault
from vault.storage import tables as t


def test_caller_line_is_registered_normalized(dial: Dialing, vault: Vault) -> None:
    line_id = dial.caller_line("021 6123 4568", region="CN")
    with vault.database.read() as session:
        number = session.execute(select(t.caller_lines.c.number).where(t.caller_lines.c.id == line_id)).scalar_one()
    assert number == OTHER_LINE


def test_registering_a_caller_line_twice_is_409(dial: Dialing) -> None:
    response = dial.post("/v1/caller-lines", {"number": LINE, "whitelist_status": "approved"}, Role.ADMIN, 409)
    assert response["error"]["code"] == "caller_line_exists"


def test_invalid_caller_line_is_422_naming_the_field_without_echoing_it(dial: Dialing) -> None:
    out = dial.post("/v1/caller-lines", {"number": "12345", "whitelist_status": "approved"}, Role.ADMIN, 422)
    assert out["error"]["field"] == "number" and "12345" not in str(out)


def test_unknown_whitelist_status_is_422(dial: Dialing) -> None:
    out = dial.post("/v1/caller-lines", {"number": OTHER_LINE, "whitelist_status": "maybe"}, Role.ADMIN, 422)
    assert out["error"]["field"] == "whitelist_status"


def test_patch_changes_whitelist_status_and_expiry(dial: Dialing, clock: FixedClock) -> None:
    line_id = dial.caller_line(OTHER_LINE)
    until = (clock.now() + timedelta(days=10)).isoformat()
    response = dial.client.patch(
        f"/v1/caller-lines/{line_id}",
        json={"whitelist_status": "pending", "whitelisted_until": until},
        headers=dial.tenant.headers(Role.ADMIN),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["whitelist_status"] == "pending" and body["expiring_soon"] and not body["usable"]


def test_listing_flags_lines_expiring_soon(dial: Dialing, clock: FixedClock) -> None:
    dial.caller_line(OTHER_LINE, whitelisted_until=(clock.now() + timedelta(days=20)).isoformat())
    headers = dial.tenant.headers(Role.ADMIN)
    everything = dial.client.get("/v1/caller-lines", headers=headers).json()["caller_lines"]
    assert {(line["number"], line["expiring_soon"]) for line in everything} == {(LINE, False), (OTHER_LINE, True)}
    soon = dial.client.get("/v1/caller-lines?expiring_within_days=30", headers=headers).json()["caller_lines"]
    assert [line["number"] for line in soon] == [OTHER_LINE]
    assert dial.client.get("/v1/caller-lines?expiring_within_days=7", headers=headers).json()["caller_lines"] == []


def test_licence_is_registered_and_listed_with_expiry(dial: Dialing, clock: FixedClock) -> None:
    body = {
        "kind": "cn_vats_call_centre", "number": "B2-20240001", "purposes": ["marketing"],
        "valid_from": (clock.now() - timedelta(days=300)).isoformat(),
        "valid_until": (clock.now() + timedelta(days=15)).isoformat(),
    }  # fmt: skip
    licence_id = dial.post("/v1/licences", body, Role.ADMIN, 201)["licence_id"]
    listed = dial.client.get("/v1/licences?expiring_within_days=30", headers=dial.tenant.headers(Role.ADMIN)).json()
    assert [(lc["licence_id"], lc["valid_now"], lc["expiring_soon"]) for lc in listed["licences"]] == [
        (licence_id, True, True)
    ]


def test_licence_for_an_unknown_purpose_is_422(dial: Dialing, clock: FixedClock) -> None:
    body = {"kind": "cn_financial", "number": "F-1", "purposes": ["astrology"], "valid_from": clock.now().isoformat()}
    assert dial.post("/v1/licences", body, Role.ADMIN, 422)["error"]["code"] == "unknown_purpose"


def test_admin_turns_licence_enforcement_on_audited(dial: Dialing, vault: Vault) -> None:
    out = dial.client.put(
        "/v1/tenant/policy", json={"licences_enforced": True}, headers=dial.tenant.headers(Role.ADMIN)
    )
    assert out.status_code == 200, out.text
    assert out.json()["licences_enforced"] is True
    with vault.database.read() as session:
        assert vault.policies.for_tenant(session, dial.tenant.tenant_id).licences_enforced
        actions = session.execute(select(t.audit_entries.c.action)).scalars().all()
    assert "policy.updated" in actions


def test_invalid_policy_overrides_are_refused_and_change_nothing(dial: Dialing, vault: Vault) -> None:
    out = dial.client.put("/v1/tenant/policy", json={"licences_enforced": "sometimes", "bogus": 1},
                          headers=dial.tenant.headers(Role.ADMIN))  # fmt: skip
    assert out.status_code == 422 and out.json()["error"]["code"] == "policy_invalid"
    with vault.database.read() as session:
        assert not vault.policies.for_tenant(session, dial.tenant.tenant_id).licences_enforced


def test_dialer_creates_and_reads_a_campaign(dial: Dialing) -> None:
    campaign_id = dial.campaign(window={"start": "09:00", "end": "18:00", "days": [0, 1, 2, 3, 4]},
                                caps=[{"max_attempts": 2, "period_hours": 24}])  # fmt: skip
    got = dial.client.get(f"/v1/campaigns/{campaign_id}", headers=dial.tenant.headers(Role.DIALER)).json()
    assert got["status"] == "open" and got["purpose"] == "marketing" and got["channel"] == "voice"
    assert got["window"] == {"start": "09:00", "end": "18:00", "days": [0, 1, 2, 3, 4]}
    assert got["caps"] == [{"max_attempts": 2, "period_hours": 24}]
    assert [line["number"] for line in got["caller_lines"]] == [LINE]


def test_campaign_for_an_unknown_purpose_is_422(dial: Dialing) -> None:
    body = {"name": "x", "purpose": "astrology", "channel": "voice", "caller_lines": [LINE]}
    out = dial.post("/v1/campaigns", body, Role.DIALER, 422)
    assert out["error"] == {"code": "unknown_purpose", "message": out["error"]["message"], "field": "purpose"}


def test_campaign_on_a_channel_the_purpose_does_not_allow_is_422(dial: Dialing) -> None:
    body = {"name": "x", "purpose": "survey", "channel": "prerecorded", "caller_lines": [LINE]}
    assert dial.post("/v1/campaigns", body, Role.DIALER, 422)["error"]["code"] == "channel_not_allowed"


def test_campaign_with_an_unregistered_caller_line_is_422(dial: Dialing) -> None:
    body = {"name": "x", "purpose": "marketing", "channel": "voice", "caller_lines": [LINE, OTHER_LINE]}
    error = dial.post("/v1/campaigns", body, Role.DIALER, 422)["error"]
    assert (error["code"], error["field"]) == ("caller_line_not_registered", "caller_lines")


def test_campaign_with_a_bad_window_is_422(dial: Dialing) -> None:
    body = {"name": "x", "purpose": "marketing", "caller_lines": [LINE], "window": {"start": "18:00", "end": "09:00"}}
    assert dial.post("/v1/campaigns", body, Role.DIALER, 422)["error"]["code"] == "invalid_window"


def test_closing_a_campaign_closes_it_once(dial: Dialing) -> None:
    campaign_id = dial.campaign()
    assert dial.post(f"/v1/campaigns/{campaign_id}/close", {}, Role.ADMIN)["status"] == "closed"
    assert dial.post(f"/v1/campaigns/{campaign_id}/close", {}, Role.DIALER, 409)["error"]["code"] == "campaign_closed"


def test_another_tenants_campaign_and_caller_line_are_404(
    dial: Dialing, client: TestClient, globex: TenantKeys
) -> None:
    campaign_id = dial.campaign()
    line_id = dial.client.get("/v1/caller-lines", headers=dial.tenant.headers(Role.ADMIN)).json()["caller_lines"][0]
    headers = globex.headers(Role.DIALER)
    assert client.get(f"/v1/campaigns/{campaign_id}", headers=headers).status_code == 404
    assert client.post(f"/v1/campaigns/{campaign_id}/close", headers=headers).status_code == 404
    patched = client.patch(f"/v1/caller-lines/{line_id['caller_line_id']}", json={"whitelist_status": "revoked"},
                           headers=globex.headers(Role.ADMIN))  # fmt: skip
    assert patched.status_code == 404
    assert client.get("/v1/caller-lines", headers=globex.headers(Role.ADMIN)).json()["caller_lines"] == []


def test_globex_cannot_use_acmes_caller_line_in_a_campaign(
    dial: Dialing, client: TestClient, globex: TenantKeys
) -> None:
    body = {"name": "x", "purpose": "marketing", "channel": "voice", "caller_lines": [LINE]}
    response = client.post("/v1/campaigns", json=body, headers=globex.headers(Role.DIALER))
    assert response.status_code == 422 and response.json()["error"]["code"] == "caller_line_not_registered"


def test_set_up_routes_refuse_wrong_roles(dial: Dialing) -> None:
    for role in (Role.DIALER, Role.GATEWAY, Role.CAPTURE):
        headers = dial.tenant.headers(role)
        assert dial.client.post("/v1/caller-lines", json={}, headers=headers).status_code == 403
        assert dial.client.get("/v1/licences", headers=headers).status_code == 403
        assert dial.client.put("/v1/tenant/policy", json={}, headers=headers).status_code == 403
    for role in (Role.GATEWAY, Role.CAPTURE, Role.PRIVACY):
        assert dial.client.post("/v1/campaigns", json={}, headers=dial.tenant.headers(role)).status_code == 403
