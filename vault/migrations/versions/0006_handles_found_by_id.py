"""dial handles found by id: no unique index on the token digest

A handle token now names its row's (time-sorted) id and the row is found by primary key, matching its
digest there; the unique index on the digest of a random token cost every issued handle one random
index page. Handles issued before this revision name no row: their digest is copied to
`legacy_digest`, indexed for those rows only (new rows leave it NULL), so they redeem until they
expire. The column and its index can be dropped once no handle issued before this revision is live.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_LEGACY_ONLY = sa.text("legacy_digest IS NOT NULL")
# 0001 left the unique constraint on the digest unnamed: this is the name PostgreSQL gave it, and the
# name batch mode gives it on SQLite (which keeps no name) through this naming convention.
_POSTGRESQL_NAME = "dial_handles_digest_key"
_SQLITE_NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_SQLITE_NAME = "uq_dial_handles_digest"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    op.add_column("dial_handles", sa.Column("legacy_digest", sa.LargeBinary(), nullable=True))
    op.execute("UPDATE dial_handles SET legacy_digest = digest")
    if _sqlite():
        with op.batch_alter_table("dial_handles", naming_convention=_SQLITE_NAMING) as batch_op:
            batch_op.drop_constraint(_SQLITE_NAME, type_="unique")
    else:
        op.drop_constraint(_POSTGRESQL_NAME, "dial_handles", type_="unique")
    op.create_index(
        "ix_dial_handles_legacy_digest", "dial_handles", ["legacy_digest"], unique=True,
        sqlite_where=_LEGACY_ONLY, postgresql_where=_LEGACY_ONLY,
    )  # fmt: skip


def downgrade() -> None:
    # Handles issued since keep redeeming: revision 0005 finds any token by its digest.
    op.drop_index("ix_dial_handles_legacy_digest", table_name="dial_handles")
    if _sqlite():
        with op.batch_alter_table("dial_handles", naming_convention=_SQLITE_NAMING) as batch_op:
            batch_op.create_unique_constraint(_SQLITE_NAME, ["digest"])
            batch_op.drop_column("legacy_digest")
    else:
        op.create_unique_constraint(_POSTGRESQL_NAME, "dial_handles", ["digest"])
        op.drop_column("dial_handles", "legacy_digest")
