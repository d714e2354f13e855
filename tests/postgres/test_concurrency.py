"""Correctness under concurrency: `dialvault serve --workers 4` on PostgreSQL, real concurrent HTTP.

The guarantees, per the contract:
- a frequency cap holds when many gateways authorize the same contact at once;
- a revoked handle is never allowed once the revoke has answered;
- a withdrawal takes effect before its response returns: no call is let through after it.

"After" is judged twice. On this machine's clock: every authorization *sent* after the revoke or
withdraw response arrived is denied. And on the server's own order, the audit ledger: entries are
chained under a per-tenant head row locked until commit, so their seq order is commit order. Every
allow's `dial.reveal` entry must come before the revoke/withdraw entry, i.e. every allow was
decided and committed before the change committed, and none was decided on facts read earlier but
committed later.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.postgres._served import Call, Hammer, Served, serve_on_postgres
from tests.servers import PostgresServer
from vault.services import Role

pytestmark = pytest.mark.postgres

MARKETING_CAP = 3  # policies/default.toml: default.cap.commercial, 3 attempts per rolling 24 h


@pytest.fixture(scope="module")
def served(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve_on_postgres(postgres_server, tmp_path_factory.mktemp("served"), workers=4) as running:
        yield running


def reveals_of(served: Served, contact_id: str) -> dict[str, int]:
    """attempt_id -> seq of each `dial.reveal` entry for the contact."""
    return {
        str(target): seq
        for seq, action, target, _reason, details in served.ledger()
        if action == "dial.reveal" and details.get("contact_id") == contact_id
    }


def seq_of(served: Served, action: str, target_id: str) -> int:
    found = [seq for seq, act, target, _r, _d in served.ledger() if act == action and target == target_id]
    assert len(found) == 1, (action, found)
    return found[0]


def test_the_server_runs_four_worker_processes(served: Served) -> None:
    assert served.process is not None
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == served.process.pid:
            children.append(stat.parent.name)
    assert len(children) >= 4


def test_fifty_concurrent_authorizations_allow_exactly_the_frequency_cap(served: Served) -> None:
    contact = served.consented_contact("+8613800138001", "marketing")
    handle = served.handle(served.campaign("marketing"), contact)
    barrier = threading.Barrier(50)

    def fire(_: int) -> Call:
        barrier.wait()
        return served.authorize(handle)

    with ThreadPoolExecutor(max_workers=50) as pool:
        calls = list(pool.map(fire, range(50)))

    assert all(c.status == 200 for c in calls), [c.body for c in calls if c.status != 200][:3]
    allowed = [c for c in calls if c.allowed]
    assert len(allowed) == MARKETING_CAP
    assert {c.body.get("reason") for c in calls if not c.allowed} == {"frequency_cap"}
    assert set(reveals_of(served, contact)) == {c.body["attempt_id"] for c in allowed}


def test_a_revoked_handle_is_never_allowed_after_the_revoke_answered(served: Served) -> None:
    contact = served.consented_contact("+8613800138002", "survey")  # survey: no frequency cap
    campaign = served.campaign("survey")
    handle = served.handle(campaign, contact)
    hammer = Hammer(served, handle, threads=12)
    hammer.start()
    try:
        hammer.wait_for_allows(5)
        revoke = served.call(Role.DIALER, "/v1/handles/revoke", {"handle": handle})
        assert revoke.status == 200 and revoke.body == {"revoked": True}, revoke.body
        settle = revoke.received + 0.5
        while hammer.calls[-1].sent < settle:
            threading.Event().wait(0.01)
    finally:
        calls = hammer.stop()

    assert all(c.status == 200 for c in calls), [c.body for c in calls if c.status != 200][:3]
    after = [c for c in calls if c.sent > revoke.received]
    assert after, "no authorization was sent after the revoke answered"
    assert not any(c.allowed for c in after)
    revoked_at = revoke_seq(served, campaign)
    late = {a: s for a, s in reveals_of(served, contact).items() if s > revoked_at}
    assert not late, f"{len(late)} calls were revealed after the revoke committed"


def revoke_seq(served: Served, campaign_id: str) -> int:
    """seq of the one `dial.handle_revoked` entry of the campaign (each test has its own campaign)."""
    found = [
        seq
        for seq, action, _t, _r, details in served.ledger()
        if action == "dial.handle_revoked" and details.get("campaign_id") == campaign_id
    ]
    assert len(found) == 1, found
    return found[0]


def test_a_withdrawal_racing_authorizations_lets_no_call_through_after_it(served: Served) -> None:
    contact = served.consented_contact("+8613800138003", "survey")
    handle = served.handle(served.campaign("survey"), contact)
    hammer = Hammer(served, handle, threads=12)
    hammer.start()
    try:
        hammer.wait_for_allows(5)
        withdraw = served.call(Role.CAPTURE, "/v1/consents/withdraw", {"contact_id": contact, "purpose": "survey"})
        assert withdraw.status == 200 and withdraw.body.get("withdrawn") == 1, withdraw.body
        settle = withdraw.received + 0.5
        while hammer.calls[-1].sent < settle:
            threading.Event().wait(0.01)
    finally:
        calls = hammer.stop()

    assert all(c.status == 200 for c in calls), [c.body for c in calls if c.status != 200][:3]
    after = [c for c in calls if c.sent > withdraw.received]
    assert after, "no authorization was sent after the withdrawal answered"
    assert not any(c.allowed for c in after)
    assert {c.body.get("reason") for c in after} == {"consent_withdrawn"}
    withdrawn_at = seq_of(served, "consent.withdrawn", contact)
    reveals = reveals_of(served, contact)
    assert {c.body["attempt_id"] for c in calls if c.allowed} == set(reveals)
    late = {a: s for a, s in reveals.items() if s > withdrawn_at}
    assert not late, f"{len(late)} calls were decided on the old consent but committed after the withdrawal"
