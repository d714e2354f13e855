"""Call outcomes (a refusal stops all calls at once) and the dialer-side check (no number, no attempt)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from tests.dialing.conftest import OTHER_LINE, Dialing
from vault.clock import FixedClock
from vault.services import Role, Vault
from vault.storage import tables as t

Ready = tuple[Dialing, str, str]


def _attempt(dial: Dialing, handle: str) -> str:
    answer = dial.authorize(handle)
    assert answer["decision"] == "allow", answer
    return str(answer["attempt_id"])


def test_outcome_is_recorded(ready: Ready, vault: Vault) -> None:
    dial, _, handle = ready
    attempt_id = _attempt(dial, handle)
    out = dial.post("/v1/dial/outcome", {"attempt_id": attempt_id, "outcome": "answered"}, Role.DIALER)
    assert out == {"attempt_id": attempt_id, "outcome": "answered"}
    with vault.database.read() as session:
        assert session.execute(select(t.attempts.c.outcome)).scalar_one() == "answered"


def test_opted_out_withdraws_every_consent_and_suppresses_at_once(ready: Ready) -> None:
    dial, contact_id, handle = ready
    dial.consent(purpose="survey")
    attempt_id = _attempt(dial, handle)
    out = dial.post("/v1/dial/outcome", {"attempt_id": attempt_id, "outcome": "opted_out"}, Role.GATEWAY)
    assert out["withdrawn"] == 2 and out["suppressed"] is True
    assert dial.reason(handle) == "suppressed"
    history = dial.client.get(f"/v1/contacts/{contact_id}/consents", headers=dial.tenant.headers(Role.CAPTURE)).json()
    assert {p: s["status"] for p, s in history["purposes"].items()} == {"marketing": "withdrawn", "survey": "withdrawn"}


def test_complaint_opens_a_complaint_and_stops_calls(ready: Ready, vault: Vault) -> None:
    dial, _, handle = ready
    attempt_id = _attempt(dial, handle)
    out = dial.post("/v1/dial/outcome", {"attempt_id": attempt_id, "outcome": "complaint"}, Role.DIALER)
    assert out["complaint_id"] and out["complaint_due_at"] and out["suppressed"] is True
    with vault.database.read() as session:
        complaint = session.execute(select(t.complaints.c.attempt_id, t.complaints.c.status)).one()
    assert tuple(complaint) == (attempt_id, "open")
    assert dial.reason(handle) == "suppressed"


def test_unknown_attempt_is_404(dial: Dialing) -> None:
    out = dial.post("/v1/dial/outcome", {"attempt_id": "at_nope", "outcome": "busy"}, Role.GATEWAY, 404)
    assert out["error"]["code"] == "unknown_attempt"


def test_unknown_outcome_is_422(ready: Ready) -> None:
    dial, _, handle = ready
    out = dial.post("/v1/dial/outcome", {"attempt_id": _attempt(dial, handle), "outcome": "hmm"}, Role.GATEWAY, 422)
    assert out["error"]["field"] == "outcome"


def test_check_answers_without_the_number_or_an_attempt(ready: Ready, vault: Vault) -> None:
    dial, _, handle = ready
    assert dial.post("/v1/dial/check", {"handle": handle}, Role.DIALER) == {"decision": "allow"}
    with vault.database.read() as session:
        assert session.execute(select(func.count()).select_from(t.attempts)).scalar_one() == 0


def test_check_gives_the_same_reason_as_authorize(ready: Ready, clock: FixedClock) -> None:
    dial, _, handle = ready
    clock.set(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))
    assert dial.post("/v1/dial/check", {"handle": handle}, Role.DIALER) == {"decision": "deny", "reason": "quiet_hours"}
    assert dial.post("/v1/dial/check", {"handle": "dh_nope"}, Role.DIALER)["reason"] == "unknown_handle"


def test_check_with_a_caller_line_checks_it(ready: Ready) -> None:
    dial, _, handle = ready
    answer = dial.post("/v1/dial/check", {"handle": handle, "caller_line": OTHER_LINE}, Role.DIALER)
    assert answer == {"decision": "deny", "reason": "caller_line_not_registered"}
