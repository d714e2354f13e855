"""contacts: no index on tenant_id alone

The unique (tenant_id, blind_index) index starts with the tenant, so it serves every query that names
only a tenant (key rotation's counts); the separate index cost one more index write per registered
contact and ~8% of the table's pages.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 13:30:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_tenant_id"))


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_tenant_id"), ["tenant_id"], unique=False)
