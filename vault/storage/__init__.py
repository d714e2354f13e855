"""The store: engine, units of work and tables (SQLite by default, PostgreSQL by URL)."""

from . import tables
from ._bulk import bulk_insert, bulk_update
from ._database import WRITE_WAIT_SECONDS, Database, DatabaseUnavailable, WriterBusy
from ._prepared import Prepared, Tx, as_tx, in_list_chunks
from ._schema import SCHEMA_REVISION, create_schema, schema_is_current, upgrade_schema
from ._types import canonical_json

__all__ = [
    "SCHEMA_REVISION",
    "WRITE_WAIT_SECONDS",
    "Database",
    "DatabaseUnavailable",
    "Prepared",
    "Tx",
    "WriterBusy",
    "as_tx",
    "bulk_insert",
    "bulk_update",
    "canonical_json",
    "create_schema",
    "in_list_chunks",
    "schema_is_current",
    "tables",
    "upgrade_schema",
]
