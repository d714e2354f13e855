"""The raw limit: what Python + `cryptography` + sqlite3 can do with no framework at all.

Insert: per number one HMAC-SHA256 (the blind index) and one AES-256-GCM encryption (random
nonce, associated data), then `executemany` in batches into a table with a unique index on the
blind index, one transaction per batch, with the pragmas the product sets on every connection.
Lookup: a point query by blind index and one AES-GCM decryption.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import time
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ._common import Figure, Run
from .numbers import phone_numbers

__all__ = ["PRODUCT_PRAGMAS", "measure_raw", "raw_insert_rate"]

# The same pragmas as vault.storage._database._sqlite_on_connect.
PRODUCT_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-32768",
)

_SCHEMA = """
CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    blind_index BLOB NOT NULL UNIQUE,
    phone_ct BLOB NOT NULL,
    created_at TEXT NOT NULL
)
"""


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in PRODUCT_PRAGMAS:
        connection.execute(pragma)
    connection.execute(_SCHEMA)
    return connection


def raw_insert_rate(
    path: Path, numbers: list[str], batch: int = 1000
) -> tuple[float, sqlite3.Connection, bytes, bytes]:
    """Rows/s of encrypt + HMAC + batched insert; returns the open connection and the keys."""
    connection = _connect(path)
    index_key = os.urandom(32)
    data_key = os.urandom(32)
    aead = AESGCM(data_key)
    now = "2026-03-02 04:00:00.000000"
    started = time.perf_counter()
    for start in range(0, len(numbers), batch):
        rows = []
        for offset, number in enumerate(numbers[start : start + batch]):
            raw = number.encode("ascii")
            contact_id = f"ct{start + offset:012d}"
            blind = hmac.new(index_key, b"phone:" + raw, hashlib.sha256).digest()
            nonce = os.urandom(12)
            rows.append((contact_id, blind, nonce + aead.encrypt(nonce, raw, contact_id.encode()), now))
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany("INSERT INTO contacts (id, blind_index, phone_ct, created_at) VALUES (?, ?, ?, ?)", rows)
        connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    return len(numbers) / elapsed, connection, index_key, data_key


def raw_lookup_rate(connection: sqlite3.Connection, index_key: bytes, data_key: bytes, numbers: list[str]) -> float:
    aead = AESGCM(data_key)
    query = "SELECT id, phone_ct FROM contacts WHERE blind_index = ?"
    started = time.perf_counter()
    for number in numbers:
        blind = hmac.new(index_key, b"phone:" + number.encode("ascii"), hashlib.sha256).digest()
        contact_id, blob = connection.execute(query, (blind,)).fetchone()
        if aead.decrypt(blob[:12], blob[12:], contact_id.encode()).decode("ascii") != number:
            raise AssertionError("raw lookup decrypted the wrong number")
    return len(numbers) / (time.perf_counter() - started)


def measure_raw(run: Run) -> None:
    count = run.n(200_000, 20_000, 2_000)
    numbers = phone_numbers(count, seed=11)
    rate, connection, index_key, data_key = raw_insert_rate(run.workdir / "raw.db", numbers)
    run.add(
        Figure(
            "raw_insert",
            "raw loop: AES-GCM + HMAC + SQLite insert (executemany, batches of 1,000)",
            rate,
            "rows/s",
            limited_by="one core: SQLite B-tree inserts into two indexes, then AES-GCM and HMAC calls",
            details={"rows": count},
        )
    )
    sample = numbers[:: max(1, count // 20_000)][:20_000]
    lookup = raw_lookup_rate(connection, index_key, data_key, sample)
    connection.close()
    run.add(
        Figure(
            "raw_lookup",
            "raw loop: point lookup by HMAC + AES-GCM decrypt",
            lookup,
            "lookups/s",
            limited_by="one core: sqlite3 statement execution (cached) and the Python call overhead",
            details={"lookups": len(sample), "rows_in_table": count},
        )
    )
