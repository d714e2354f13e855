"""baseline

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:38:18.013153
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import vault.storage._types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit_entries",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=True),
        sa.Column("target_id", sa.String(length=80), nullable=True),
        sa.Column("reason", sa.String(length=80), nullable=True),
        sa.Column("details", vault.storage._types.JSONText(), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("entry_hash", sa.LargeBinary(), nullable=False),
        sa.Column("mac", sa.LargeBinary(), nullable=False),
        sa.Column("key_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "seq"),
    )
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_entries_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_entries_target_id"), ["target_id"], unique=False)

    op.create_table(
        "audit_heads",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "consent_states",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("channels", vault.storage._types.JSONText(), nullable=False),
        sa.Column("given_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("withdrawn_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("updated_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "contact_id", "purpose"),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("request_sha256", sa.String(length=64), nullable=False),
        sa.Column("response", vault.storage._types.JSONText(), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key"),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("policy_overrides", vault.storage._types.JSONText(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenants_name"), ["name"], unique=True)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "attempts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("caller_line_id", sa.String(length=40), nullable=False),
        sa.Column("authorized_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("outcome_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attempts_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index("ix_attempts_cap", ["tenant_id", "contact_id", "purpose", "authorized_at"], unique=False)

    op.create_table(
        "caller_lines",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("carrier", sa.String(length=120), nullable=True),
        sa.Column("whitelist_status", sa.String(length=20), nullable=False),
        sa.Column("whitelisted_until", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "number"),
    )
    with op.batch_alter_table("caller_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_caller_lines_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "campaigns",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("window", vault.storage._types.JSONText(), nullable=True),
        sa.Column("caps", vault.storage._types.JSONText(), nullable=True),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("closed_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaigns_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "complaints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=True),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.Column("attempt_id", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("summary_ct", sa.LargeBinary(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("received_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("due_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complaints_blind_index"), ["blind_index"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_complaints_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "consent_events",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("event_type", sa.String(length=20), nullable=False),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("channels", vault.storage._types.JSONText(), nullable=False),
        sa.Column("notice_id", sa.String(length=120), nullable=True),
        sa.Column("notice_version", sa.String(length=40), nullable=True),
        sa.Column("notice_sha256", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=40), nullable=False),
        sa.Column("jurisdiction", sa.String(length=20), nullable=True),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("evidence", vault.storage._types.JSONText(), nullable=True),
        sa.Column("evidence_ct", sa.LargeBinary(), nullable=True),
        sa.Column("occurred_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("recorded_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("receipt_id", sa.String(length=40), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "idempotency_key"),
    )
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_events_consent_id"), ["consent_id"], unique=False)
        batch_op.create_index("ix_consent_events_contact", ["tenant_id", "contact_id", "purpose"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.Column("dek_key_version", sa.Integer(), nullable=False),
        sa.Column("phone_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "blind_index"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_dek_key_version"), ["dek_key_version"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "erased_handles",
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("erased_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("erased_handles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erased_handles_expires_at"), ["expires_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_erased_handles_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "erasure_journal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.Column("erased_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("erasure_journal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_erasure_journal_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "licences",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("purposes", vault.storage._types.JSONText(), nullable=False),
        sa.Column("valid_from", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("valid_until", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_licences_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("notice_id", sa.String(length=120), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(), nullable=True),
        sa.Column("language", sa.String(length=20), nullable=True),
        sa.Column("policy_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "notice_id", "version"),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "receipts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("consent_event_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("jws", sa.String(), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_consent_event_id"), ["consent_event_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_receipts_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_receipts_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "subject_requests",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=True),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.Column("jurisdictions", vault.storage._types.JSONText(), nullable=False),
        sa.Column("received_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("due_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("verified_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("verification_method", sa.String(length=40), nullable=True),
        sa.Column("verification_ref_digest", sa.String(length=64), nullable=True),
        sa.Column("new_phone_ct", sa.LargeBinary(), nullable=True),
        sa.Column("completed_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.Column("result", vault.storage._types.JSONText(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subject_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_requests_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_subject_requests_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_subject_requests_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_subject_requests_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "suppressions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("blind_index", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "blind_index"),
    )
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suppressions_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "tenant_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("family", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("retired_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "family", "version"),
    )
    with op.batch_alter_table("tenant_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tenant_keys_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "campaign_caller_lines",
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("caller_line_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["caller_line_id"], ["caller_lines.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("campaign_id", "caller_line_id"),
    )
    op.create_table(
        "dial_handles",
        sa.Column("digest", sa.LargeBinary(), nullable=False),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("campaign_id", sa.String(length=40), nullable=False),
        sa.Column("contact_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", vault.storage._types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["campaigns.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("digest"),
    )
    with op.batch_alter_table("dial_handles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dial_handles_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dial_handles_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_dial_handles_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "subject_request_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("at", vault.storage._types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["subject_requests.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("subject_request_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_subject_request_events_request_id"), ["request_id"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("subject_request_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_request_events_request_id"))

    op.drop_table("subject_request_events")
    with op.batch_alter_table("dial_handles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dial_handles_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_dial_handles_contact_id"))
        batch_op.drop_index(batch_op.f("ix_dial_handles_campaign_id"))

    op.drop_table("dial_handles")
    op.drop_table("campaign_caller_lines")
    with op.batch_alter_table("tenant_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenant_keys_tenant_id"))

    op.drop_table("tenant_keys")
    with op.batch_alter_table("suppressions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_suppressions_tenant_id"))

    op.drop_table("suppressions")
    with op.batch_alter_table("subject_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_subject_requests_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_subject_requests_status"))
        batch_op.drop_index(batch_op.f("ix_subject_requests_due_at"))
        batch_op.drop_index(batch_op.f("ix_subject_requests_contact_id"))

    op.drop_table("subject_requests")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_receipts_contact_id"))
        batch_op.drop_index(batch_op.f("ix_receipts_consent_event_id"))

    op.drop_table("receipts")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_tenant_id"))

    op.drop_table("notices")
    with op.batch_alter_table("licences", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licences_tenant_id"))

    op.drop_table("licences")
    with op.batch_alter_table("erasure_journal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erasure_journal_tenant_id"))

    op.drop_table("erasure_journal")
    with op.batch_alter_table("erased_handles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_erased_handles_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_erased_handles_expires_at"))

    op.drop_table("erased_handles")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_contacts_dek_key_version"))

    op.drop_table("contacts")
    with op.batch_alter_table("consent_events", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_events_contact")
        batch_op.drop_index(batch_op.f("ix_consent_events_consent_id"))

    op.drop_table("consent_events")
    with op.batch_alter_table("complaints", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complaints_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_due_at"))
        batch_op.drop_index(batch_op.f("ix_complaints_contact_id"))
        batch_op.drop_index(batch_op.f("ix_complaints_blind_index"))

    op.drop_table("complaints")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaigns_tenant_id"))

    op.drop_table("campaigns")
    with op.batch_alter_table("caller_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_caller_lines_tenant_id"))

    op.drop_table("caller_lines")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_cap")
        batch_op.drop_index(batch_op.f("ix_attempts_campaign_id"))

    op.drop_table("attempts")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_tenant_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tenants_name"))

    op.drop_table("tenants")
    op.drop_table("server_secrets")
    op.drop_table("idempotency_records")
    op.drop_table("consent_states")
    op.drop_table("audit_heads")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_entries_target_id"))
        batch_op.drop_index(batch_op.f("ix_audit_entries_action"))

    op.drop_table("audit_entries")
