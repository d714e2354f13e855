"""receipts kept in their event's row: a template per receipt shape, and a MAC per event

A receipt's payload is its shape's template filled in with the event's receipt id, time, contact id and
termination; the event row holds the template id and the MAC. A receipts row (~1 KiB of payload and three
index entries) was ~40% of what a captured consent wrote. Receipts stored before stay where they are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vault.storage._types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "receipt_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("pieces", sa.String(), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "sha256"),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("receipt_template_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("receipt_mac", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("receipt_mac_key_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    embedded = (
        op.get_bind().execute(sa.text("SELECT count(*) FROM consent_events WHERE receipt_mac IS NOT NULL")).scalar_one()
    )
    if embedded:
        # Revision 0004 keeps receipts only as rows of `receipts`; moving them there is not a schema change.
        raise RuntimeError(f"{embedded} receipts are kept in their event rows; revision 0004 cannot hold them")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_column("receipt_mac_key_version")
        batch_op.drop_column("receipt_mac")
        batch_op.drop_column("receipt_template_id")
    op.drop_table("receipt_templates")
