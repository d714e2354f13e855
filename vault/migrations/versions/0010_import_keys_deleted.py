"""import row keys: deleted; a re-run of a file skips a row whose grant its contact already has

An imported row's key was an HMAC of the row with its number. Its unique index took a random page per
row: in a 1M-row import its commits wrote 7.2 GiB to the WAL instead of 4.3, and with the store larger
than the memory left to it, the import ran 2x slower. The import now knows a row it loaded before by the
grant itself (the contact, purpose, channels, notice, method, time given, jurisdiction, language and the
expiry the row gives), which also knows the rows loaded before this revision; their keys are deleted, as
nothing reads them and each one was a keyed digest of a number.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE consent_events SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL")


def downgrade() -> None:
    """Nothing to restore: the keys are gone. Code before this revision looks rows up by key, so re-running a
    file after a downgrade records its rows again instead of skipping them."""
