"""import row keys: the first 128 bits of the digest, not all 256

An imported row's key is its keyed digest in hex. Its unique index takes a random page per row, and at
256 bits it was the largest index of the store: a large import's commits rewrote most of its pages. Keys
are now the digest's first 16 bytes. The keys already stored are cut to that prefix, which is exactly the
key the import now computes for the same row, so re-running a file loaded before this revision still skips
its rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 21:40:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 'import:' and 64 hex digits become 'import:' and the first 32 (7 + 32 = 39 characters).
    op.execute(
        "UPDATE consent_events SET idempotency_key = substr(idempotency_key, 1, 39) "
        "WHERE idempotency_key LIKE 'import:%' AND length(idempotency_key) = 71"
    )


def downgrade() -> None:
    """Nothing to restore: the cut halves are gone. Code before this revision computes full-length keys, so
    re-running a file after a downgrade records its rows again instead of skipping them."""
