"""A scratch schema beside the vault's, for testing the storage layer's hot-path helpers on either store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Column, ForeignKey, LargeBinary, MetaData, String, Table

from vault.services import Vault
from vault.storage import Database
from vault.storage._types import JSONText, UTCDateTime

metadata = MetaData()
parents = Table(
    "scratch_parents",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("at", UTCDateTime, nullable=True),
    Column("details", JSONText, nullable=True),
    Column("blob", LargeBinary, nullable=True),
)
children = Table(
    "scratch_children",
    metadata,
    Column("id", String(40), primary_key=True),
    # Checked at COMMIT on both stores: a way to make a commit fail on purpose.
    Column("parent_id", String(40), ForeignKey("scratch_parents.id", deferrable=True, initially="DEFERRED")),
)


@pytest.fixture
def database(vault: Vault) -> Iterator[Database]:
    metadata.create_all(vault.database.engine)
    yield vault.database
    metadata.drop_all(vault.database.engine)
