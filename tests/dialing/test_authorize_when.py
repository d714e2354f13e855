"""POST /v1/dial/authorize: when the call may be placed (windows, caps) and from which line (lines, licences)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from tests.dialing.conftest import LINE, OTHER_LINE, Dialing
from vault.clock import FixedClock
from vault.services import Role

Ready = tuple[Dialing, str, str]


def test_quiet_hours_in_the_callees_local_time(ready: Ready, clock: FixedClock) -> None:
    dial, _, handle = ready
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))  # 23:00 in Shanghai
    assert dial.reason(handle) == "quiet_hours"


def test_campaign_window_is_checked_too(dial: Dialing, clock: FixedClock) -> None:
    contact_id = dial.consent()
    handle = dial.handle(dial.campaign(window={"start": "09:00", "end": "11:00", "days": [0, 1, 2, 3, 4]}), contact_id)
    assert dial.reason(handle) == "quiet_hours"  # 12:00 in Shanghai
    clock.set(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))  # Tuesday 10:00 in Shanghai
    assert dial.reason(handle) is None


def test_frequency_cap_allows_three_marketing_attempts_per_24_hours(ready: Ready, clock: FixedClock) -> None:
    dial, contact_id, handle = ready
    for _ in range(3):
        assert dial.reason(handle) is None
        clock.advance(timedelta(minutes=10))
    assert dial.reason(handle) == "frequency_cap"
    clock.advance(timedelta(hours=24) - timedelta(minutes=20))
    fresh = dial.handle(dial.campaign(), contact_id)
    assert dial.reason(fresh) is None


def test_caller_line_not_registered(ready: Ready) -> None:
    dial, _, handle = ready
    assert dial.reason(handle, OTHER_LINE) == "caller_line_not_registered"


def test_caller_line_registered_but_not_in_the_campaign(ready: Ready) -> None:
    dial, _, handle = ready
    dial.caller_line(OTHER_LINE)
    assert dial.reason(handle, OTHER_LINE) == "caller_line_not_registered"


def _line_id(dial: Dialing) -> str:
    lines = dial.client.get("/v1/caller-lines", headers=dial.tenant.headers(Role.ADMIN)).json()["caller_lines"]
    return str(next(line["caller_line_id"] for line in lines if line["number"] == LINE))


def test_caller_line_not_whitelisted_when_revoked(ready: Ready) -> None:
    dial, _, handle = ready
    response = dial.client.patch(f"/v1/caller-lines/{_line_id(dial)}", json={"whitelist_status": "revoked"},
                                 headers=dial.tenant.headers(Role.ADMIN))  # fmt: skip
    assert response.status_code == 200
    assert dial.reason(handle) == "caller_line_not_whitelisted"


def test_caller_line_not_whitelisted_when_expired(ready: Ready, clock: FixedClock) -> None:
    dial, _, handle = ready
    until = (clock.now() - timedelta(minutes=1)).isoformat()
    response = dial.client.patch(f"/v1/caller-lines/{_line_id(dial)}", json={"whitelisted_until": until},
                                 headers=dial.tenant.headers(Role.ADMIN))  # fmt: skip
    assert response.status_code == 200
    assert dial.reason(handle) == "caller_line_not_whitelisted"


def test_licence_missing_when_enforced_until_one_is_held(ready: Ready, clock: FixedClock) -> None:
    dial, _, handle = ready
    admin = dial.tenant.headers(Role.ADMIN)
    assert dial.client.put("/v1/tenant/policy", json={"licences_enforced": True}, headers=admin).status_code == 200
    assert dial.reason(handle) == "licence_missing"
    licence = {"kind": "cn_vats_call_centre", "number": "B2-A", "purposes": ["marketing"],
               "valid_from": (clock.now() - timedelta(days=1)).isoformat()}  # fmt: skip
    dial.post("/v1/licences", licence, Role.ADMIN, 201)
    assert dial.reason(handle) is None


def test_only_the_primary_reason_is_returned(ready: Ready, clock: FixedClock) -> None:
    dial, _, handle = ready
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    answer = dial.authorize(handle, OTHER_LINE)
    assert answer == {"decision": "deny", "reason": "quiet_hours"}


def test_invalid_caller_line_is_422_not_echoed(ready: Ready) -> None:
    dial, _, handle = ready
    out = dial.post("/v1/dial/authorize", {"handle": handle, "caller_line": "99999999"}, Role.GATEWAY, 422)
    assert out["error"]["field"] == "caller_line" and "99999999" not in json.dumps(out)
