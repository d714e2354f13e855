"""Authorizations decided together (the requests of one group-committed batch): each is answered as if the
requests before it had been decided alone, one after the other."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from tests.conftest import TenantKeys
from tests.dialing.conftest import LINE, OTHER_LINE, Dialing
from vault.services import Actor, Role, Vault
from vault.services.dialing import DialAnswer, authorize_all
from vault.storage import tables as t

Ready = tuple[Dialing, str, str]


def _gateway(tenant: TenantKeys) -> Actor:
    return Actor(tenant.tenant_id, "key_gateway", "gateway")


def _together(vault: Vault, requests: list[tuple[Actor, tuple[str, str]]]) -> list[DialAnswer]:
    with vault.database.write_tx() as tx:
        return authorize_all(tx, vault, requests, vault.clock.now())


def _attempts(vault: Vault, contact_id: str) -> int:
    with vault.database.read() as session:
        return int(session.execute(select(func.count()).where(t.attempts.c.contact_id == contact_id)).scalar_one())


def test_each_allow_counts_toward_the_frequency_cap_of_the_requests_after_it(ready: Ready, vault: Vault) -> None:
    dial, contact_id, handle = ready
    answers = _together(vault, [(_gateway(dial.tenant), (handle, LINE))] * 5)
    assert [a.reason for a in answers] == [None, None, None, "frequency_cap", "frequency_cap"]
    assert len({a.attempt_id for a in answers[:3]}) == 3
    assert _attempts(vault, contact_id) == 3


def test_allows_decided_together_count_toward_the_cap_of_later_batches(ready: Ready, vault: Vault) -> None:
    dial, _, handle = ready
    _together(vault, [(_gateway(dial.tenant), (handle, LINE))] * 2)
    answers = _together(vault, [(_gateway(dial.tenant), (handle, LINE))] * 2)
    assert [a.reason for a in answers] == [None, "frequency_cap"]


def test_a_handle_asked_for_by_another_tenant_in_the_same_batch_is_unknown_to_it(
    ready: Ready, vault: Vault, globex: TenantKeys
) -> None:
    dial, _, handle = ready
    answers = _together(vault, [(_gateway(globex), (handle, LINE)), (_gateway(dial.tenant), (handle, LINE))])
    assert [(a.decision, a.reason) for a in answers] == [("deny", "unknown_handle"), ("allow", None)]
    assert answers[1].destination == "+8613800138000"


def test_each_request_of_a_batch_is_checked_against_its_own_caller_line(ready: Ready, vault: Vault) -> None:
    dial, _, handle = ready
    answers = _together(vault, [(_gateway(dial.tenant), (handle, OTHER_LINE)), (_gateway(dial.tenant), (handle, LINE))])
    assert [a.reason for a in answers] == ["caller_line_not_registered", None]


def test_a_wrong_random_part_among_requests_decided_together_is_unknown(ready: Ready, vault: Vault) -> None:
    dial, _, handle = ready
    forged = handle[:-1] + ("A" if handle[-1] != "A" else "B")
    answers = _together(vault, [(_gateway(dial.tenant), (forged, LINE)), (_gateway(dial.tenant), (handle, LINE))])
    assert [a.reason for a in answers] == ["unknown_handle", None]


def test_an_invalid_caller_line_sent_together_with_good_requests_is_refused_alone(ready: Ready) -> None:
    dial, _, handle = ready
    headers = dial.tenant.headers(Role.GATEWAY)

    async def send_both() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=dial.client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://vault") as http:
            bodies = [{"handle": handle, "caller_line": "+86123"}, {"handle": handle, "caller_line": LINE}]
            return await asyncio.gather(*(http.post("/v1/dial/authorize", json=b, headers=headers) for b in bodies))

    bad, good = asyncio.run(send_both())
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "caller_line")
    assert good.json()["decision"] == "allow"
