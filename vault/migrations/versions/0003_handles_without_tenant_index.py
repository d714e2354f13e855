"""dial handles: no index on tenant_id alone

Every query on dial_handles names a digest, a campaign or a contact. Without table statistics SQLite
chose the tenant index for `tenant_id = ? AND contact_id = ?` (erasure) and `tenant_id = ? AND
campaign_id = ?` (closing a campaign), scanning all of a tenant's handles; and each issued handle paid
for one more index write.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:25:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dial_handles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dial_handles_tenant_id"))


def downgrade() -> None:
    with op.batch_alter_table("dial_handles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dial_handles_tenant_id"), ["tenant_id"], unique=False)
