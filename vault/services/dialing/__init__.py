"""Tokenized dialing: caller lines and licences, campaigns, dial handles, gateway authorization, outcomes."""

from ._authorize import (
    CALLEE_FACTS,
    OUTCOMES,
    DialAnswer,
    authorize,
    authorize_all,
    caller_line_number,
    check,
    record_outcome,
)
from ._campaigns import CampaignInput, close_campaign, create_campaign, get_campaign
from ._handles import IssuedHandles, issue_handles, revoke_handle
from ._lines import (
    WHITELIST_STATUSES,
    LicenceInput,
    add_caller_line,
    add_licence,
    list_caller_lines,
    list_licences,
    update_caller_line,
)
from ._rules import dial_rules
from ._tenant_policy import get_tenant_policy, set_tenant_policy

__all__ = [
    "CALLEE_FACTS",
    "OUTCOMES",
    "WHITELIST_STATUSES",
    "CampaignInput",
    "DialAnswer",
    "IssuedHandles",
    "LicenceInput",
    "add_caller_line",
    "add_licence",
    "authorize",
    "authorize_all",
    "caller_line_number",
    "check",
    "close_campaign",
    "create_campaign",
    "dial_rules",
    "get_campaign",
    "get_tenant_policy",
    "issue_handles",
    "list_caller_lines",
    "list_licences",
    "record_outcome",
    "revoke_handle",
    "set_tenant_policy",
    "update_caller_line",
]
