"""Frequency caps are counted atomically: concurrent gateways over real HTTP cannot exceed them."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn

from tests.dialing.conftest import LINE, Dialing
from vault.api import create_app
from vault.services import Role, Vault

Ready = tuple[Dialing, str, str]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(vault: Vault) -> Iterator[str]:
    """The API on a real loopback port, one uvicorn worker, over the test vault's SQLite file."""
    port = _free_port()
    config = uvicorn.Config(create_app(vault), host="127.0.0.1", port=port, log_level="warning", access_log=False)
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not instance.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def test_fifty_concurrent_authorizations_allow_exactly_the_cap(ready: Ready, server: str) -> None:
    dial, _, handle = ready
    headers = dial.tenant.headers(Role.GATEWAY)
    with httpx.Client(base_url=server, headers=headers, timeout=30) as http:

        def attempt(_: int) -> str:
            response = http.post("/v1/dial/authorize", json={"handle": handle, "caller_line": LINE})
            assert response.status_code == 200, response.text
            answer = response.json()
            return str(answer.get("reason") or answer["decision"])

        with ThreadPoolExecutor(max_workers=50) as pool:
            outcomes = Counter(pool.map(attempt, range(50)))
    assert outcomes == {"allow": 3, "frequency_cap": 47}
