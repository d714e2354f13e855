"""import row keys of erased contacts: deleted

Erasure keeps a contact's consent events as pseudonymous proof (contact id only), but until this revision
it left an imported row's key in them: an HMAC of the row with its number, under the tenant's key. Erasure
now deletes those keys; this revision deletes the ones it left, those of events whose contact is gone.

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
    op.execute(
        "UPDATE consent_events SET idempotency_key = NULL WHERE idempotency_key IS NOT NULL AND NOT EXISTS "
        "(SELECT 1 FROM contacts WHERE contacts.id = consent_events.contact_id)"
    )


def downgrade() -> None:
    """Nothing to restore: the keys are gone, as erasure now leaves them."""
