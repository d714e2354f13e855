"""OpenBao Transit, the alternative: a real `bao server -dev` on 127.0.0.1, pinned like our server.

- single encrypt / single decrypt of a phone number per HTTP request (same load generator,
  same connections as every other HTTP figure);
- batch encrypt with `batch_input` (100 items per request);
- the do-it-yourself path a user would otherwise build: Transit batch encrypt (100 per call,
  keep-alive) + their own SQLite table with an HMAC lookup column, committed per 1,000 rows.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import sqlite3
import time
from pathlib import Path

from tests.servers import OpenBaoServer, ServerUnavailable, openbao_dev_server

from ._common import Figure, Run, http_request, load
from .numbers import phone_numbers
from .raw import PRODUCT_PRAGMAS

__all__ = ["create_key", "decrypt_requests", "measure_openbao", "pin_process"]

_KEY = "bench-phone"
_BATCH = 100


def pin_process(pid: int, cpus: set[int] | None) -> None:
    """Pin every thread of `pid` (Go servers run many) to `cpus`."""
    if not cpus:
        return
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just exited
            os.sched_setaffinity(int(task.name), cpus)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("ascii")).decode("ascii")


def _transit(server: OpenBaoServer, path: str, body: object) -> dict[str, object]:
    response = server.request("POST", f"transit/{path}", body)
    if response.status_code >= 300:
        raise RuntimeError(f"transit/{path} answered HTTP {response.status_code}")
    data: dict[str, object] = response.json()
    return data


def _encrypt_batch(server: OpenBaoServer, numbers: list[str]) -> list[str]:
    out: list[str] = []
    for start in range(0, len(numbers), _BATCH):
        batch = [{"plaintext": _b64(n)} for n in numbers[start : start + _BATCH]]
        data = _transit(server, f"encrypt/{_KEY}", {"batch_input": batch})
        out.extend(str(item["ciphertext"]) for item in data["data"]["batch_results"])  # type: ignore[index]
    return out


def diy_insert_rate(server: OpenBaoServer, path: Path, numbers: list[str]) -> float:
    """Transit batch encrypt + own SQLite insert with an HMAC lookup column, rows/s."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in PRODUCT_PRAGMAS:
        connection.execute(pragma)
    connection.execute(
        "CREATE TABLE contacts (id TEXT PRIMARY KEY, phone_hmac BLOB NOT NULL UNIQUE, phone_ct TEXT NOT NULL)"
    )
    index_key = os.urandom(32)
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"X-Vault-Token": server.token, "Content-Type": "application/json"}
    started = time.perf_counter()
    rows: list[tuple[str, bytes, str]] = []
    for start in range(0, len(numbers), _BATCH):
        chunk = numbers[start : start + _BATCH]
        body = json.dumps({"batch_input": [{"plaintext": _b64(n)} for n in chunk]})
        client.request("POST", f"/v1/transit/encrypt/{_KEY}", body=body, headers=headers)
        answer = client.getresponse()
        results = json.loads(answer.read())["data"]["batch_results"]
        for offset, (number, item) in enumerate(zip(chunk, results, strict=True)):
            blind = hmac.new(index_key, number.encode("ascii"), hashlib.sha256).digest()
            rows.append((f"c{start + offset:012d}", blind, item["ciphertext"]))
        if len(rows) >= 1000 or start + _BATCH >= len(numbers):
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("INSERT INTO contacts VALUES (?, ?, ?)", rows)
            connection.execute("COMMIT")
            rows = []
    elapsed = time.perf_counter() - started
    client.close()
    connection.close()
    return len(numbers) / elapsed


def create_key(server: OpenBaoServer) -> None:
    _transit(server, f"keys/{_KEY}", {"type": "aes256-gcm96"})


def decrypt_requests(server: OpenBaoServer, numbers: list[str]) -> list[bytes]:
    """Single-decrypt requests for `numbers`, encrypted under the bench key (see `create_key`)."""
    headers = {"X-Vault-Token": server.token}
    ciphertexts = _encrypt_batch(server, numbers)
    return [http_request("POST", f"/v1/transit/decrypt/{_KEY}", {"ciphertext": c}, headers) for c in ciphertexts]


def measure_openbao(run: Run) -> None:
    try:
        server_cm = openbao_dev_server()
        server = server_cm.__enter__()
    except ServerUnavailable as exc:
        run.notes.append(f"OpenBao figures skipped: {exc}")
        run.log(f"  skipped: {exc}")
        return
    try:
        assert server.process is not None
        pin_process(server.process.pid, run.server_cpus)
        create_key(server)
        headers = {"X-Vault-Token": server.token}
        numbers = phone_numbers(2_000, seed=21)
        encrypt = [
            http_request("POST", f"/v1/transit/encrypt/{_KEY}", {"plaintext": _b64(n)}, headers) for n in numbers
        ]
        result = load(run, server.port, encrypt, expect="vault:v1:")
        run.add_load(
            "bao_encrypt",
            "OpenBao Transit: encrypt one number per request",
            result,
            limited_by="OpenBao's request path (token lookup, policy check, JSON; dev mode, no audit) on one core",
        )
        decrypt = decrypt_requests(server, numbers)
        result = load(run, server.port, decrypt, expect="plaintext")
        run.add_load(
            "bao_decrypt",
            "OpenBao Transit: decrypt one number per request",
            result,
            limited_by="OpenBao's request path on one core, as for encrypt",
        )
        both = (run.server_cpus or set()) | (run.client_cpus or set())
        if both != (run.server_cpus or set()):  # the peer of dialvault's two-worker figure: the same two cores
            pin_process(server.process.pid, both)
            result = load(run, server.port, decrypt, expect="plaintext")
            pin_process(server.process.pid, run.server_cpus)
            run.add_load(
                "bao_decrypt_2c",
                "OpenBao Transit: decrypt one number per request (server on both cores, client shares one)",
                result,
                limited_by="the machine: OpenBao's threads and the client share two cores",
            )
        batches = [
            http_request(
                "POST",
                f"/v1/transit/encrypt/{_KEY}",
                {"batch_input": [{"plaintext": _b64(n)} for n in numbers[i : i + _BATCH]]},
                headers,
            )
            for i in range(0, len(numbers), _BATCH)
        ]
        result = load(
            run,
            server.port,
            batches,
            expect="batch_results",
            connections=run.batch_connections,
            duration=run.batch_duration,
        )
        run.add_load(
            "bao_batch_encrypt",
            f"OpenBao Transit: batch encrypt ({_BATCH} per request)",
            result,
            unit="items/s",
            per_request=_BATCH,
            limited_by="OpenBao JSON decoding/encoding of the batch and AES-GCM per item, one core",
        )
        count = run.n(100_000, 10_000, 1_000)
        rate = diy_insert_rate(server, run.workdir / "diy.db", phone_numbers(count, seed=22))
        run.add(
            Figure(
                "diy_insert",
                "do-it-yourself: Transit batch encrypt (100/call) + own SQLite insert + HMAC column",
                rate,
                "rows/s",
                limited_by="one client thread waiting on Transit round trips; OpenBao's batch encrypt on its core",
                details={"rows": count, "client": "one thread, http.client keep-alive"},
            )
        )
    finally:
        server_cm.__exit__(None, None, None)
