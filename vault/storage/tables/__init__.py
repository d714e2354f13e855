"""Every table of the store. Importing this module registers them all on `SQLModel.metadata`."""

from typing import cast

from sqlalchemy import Table
from sqlmodel import SQLModel

from ._consent import (
    Complaint,
    ConsentEvent,
    ConsentState,
    IdempotencyRecord,
    Notice,
    Receipt,
    ReceiptTemplate,
    Suppression,
)
from ._contacts import Contact
from ._core import ApiKey, AuditEntry, AuditHead, ServerSecret, Tenant, TenantKey
from ._dialing import Attempt, CallerLine, Campaign, CampaignCallerLine, DialHandle, Licence
from ._requests import ErasedHandle, ErasureJournalEntry, SubjectRequest, SubjectRequestEvent

metadata = SQLModel.metadata


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# Core table handles, typed for queries: `select(contacts.c.id).where(contacts.c.tenant_id == t)`.
api_keys = _table(ApiKey)
attempts = _table(Attempt)
audit_entries = _table(AuditEntry)
audit_heads = _table(AuditHead)
caller_lines = _table(CallerLine)
campaign_caller_lines = _table(CampaignCallerLine)
campaigns = _table(Campaign)
complaints = _table(Complaint)
consent_events = _table(ConsentEvent)
consent_states = _table(ConsentState)
contacts = _table(Contact)
dial_handles = _table(DialHandle)
erased_handles = _table(ErasedHandle)
erasure_journal = _table(ErasureJournalEntry)
idempotency_records = _table(IdempotencyRecord)
licences = _table(Licence)
notices = _table(Notice)
receipt_templates = _table(ReceiptTemplate)
receipts = _table(Receipt)
server_secrets = _table(ServerSecret)
subject_request_events = _table(SubjectRequestEvent)
subject_requests = _table(SubjectRequest)
suppressions = _table(Suppression)
tenant_keys = _table(TenantKey)
tenants = _table(Tenant)

__all__ = [
    "ApiKey",
    "Attempt",
    "AuditEntry",
    "AuditHead",
    "CallerLine",
    "Campaign",
    "CampaignCallerLine",
    "Complaint",
    "ConsentEvent",
    "ConsentState",
    "Contact",
    "DialHandle",
    "ErasedHandle",
    "ErasureJournalEntry",
    "IdempotencyRecord",
    "Licence",
    "Notice",
    "Receipt",
    "ReceiptTemplate",
    "ServerSecret",
    "SubjectRequest",
    "SubjectRequestEvent",
    "Suppression",
    "Tenant",
    "TenantKey",
    "api_keys",
    "attempts",
    "audit_entries",
    "audit_heads",
    "caller_lines",
    "campaign_caller_lines",
    "campaigns",
    "complaints",
    "consent_events",
    "consent_states",
    "contacts",
    "dial_handles",
    "erased_handles",
    "erasure_journal",
    "idempotency_records",
    "licences",
    "metadata",
    "notices",
    "receipt_templates",
    "receipts",
    "server_secrets",
    "subject_request_events",
    "subject_requests",
    "suppressions",
    "tenant_keys",
    "tenants",
]
