"""audit entries and attempts: drop the indexes no query reads

No query finds audit entries by action or by target, nor attempts by campaign: the ledger is read by
(tenant, seq), attempts by (tenant, contact, purpose). Each authorization still wrote an entry into
all three, and its commit wrote their pages (~7 of 30 WAL pages per commit of 16 authorizations).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 19:55:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_action"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_target_id"))
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attempts_campaign_id"))


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempts_campaign_id"), ["campaign_id"], unique=False)
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_target_id"), ["target_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_action"), ["action"], unique=False)
