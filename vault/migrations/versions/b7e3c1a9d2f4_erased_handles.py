"""erased handles: digests of an erased contact's dial handles, so authorize answers `erased`

Revision ID: b7e3c1a9d2f4
Revises: d25a1fca95bd
Create Date: 2026-11-23 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vault.storage._types

revision = "b7e3c1a9d2f4"
down_revision = "d25a1fca95bd"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "erased_handles",
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("erased_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("erased_handles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erased_handles_tenant_id"), ["tenant_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_erased_handles_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("erased_handles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erased_handles_expires_at"))
        batch_op.drop_index(batch_op.f("ix_erased_handles_tenant_id"))
    op.drop_table("erased_handles")
