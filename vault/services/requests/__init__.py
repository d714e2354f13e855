"""Data-subject requests: lifecycle, access packages, erasure by crypto-shredding, rectification, restore."""

from ._access import access_package
from ._erasure import ErasureResult, checkpoint_store, erase_contact, is_erased_handle
from ._lifecycle import (
    CLOSED,
    TYPES,
    cancel_request,
    create_request,
    deny_request,
    execute_request,
    extend_request,
    get_request,
    list_requests,
    verify_identity,
)
from ._restore import JournalEntry, read_journal, reapply_journal
from ._rules import RequestRules, Retention, rules_for

__all__ = [
    "CLOSED",
    "TYPES",
    "ErasureResult",
    "JournalEntry",
    "RequestRules",
    "Retention",
    "access_package",
    "cancel_request",
    "checkpoint_store",
    "create_request",
    "deny_request",
    "erase_contact",
    "execute_request",
    "extend_request",
    "get_request",
    "is_erased_handle",
    "list_requests",
    "read_journal",
    "reapply_journal",
    "rules_for",
    "verify_identity",
]
