"""import row keys are keyed digests: drop the plain SHA-256 ones

An imported row's idempotency key was the SHA-256 of the row, number included. Everything else the
hash covered is stored in the same event row, so hashing every number of a region against it gave the
number back. Keys are now an HMAC under the tenant's blind-index key. The old keys cannot be converted
here (that takes the tenant's key), so they are removed: re-importing a file loaded before this revision
records its rows again instead of skipping them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 18:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE consent_events SET idempotency_key = NULL WHERE idempotency_key LIKE 'import:%'")


def downgrade() -> None:
    """Nothing to restore: the removed keys could be reversed to numbers."""
