"""The payload an audit append hashes is byte for byte the one verification rebuilds from the stored row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from vault.services.audit import _appended_payload, _entry_payload
from vault.storage import canonical_json

_text = st.text(max_size=20)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@given(
    tenant_id=_text,
    seq=st.integers(min_value=1, max_value=2**53),
    at=st.datetimes(timezones=st.just(UTC)),
    actor=_text,
    action=_text,
    target_type=st.none() | _text,
    target_id=st.none() | _text,
    reason=st.none() | _text,
    details=st.none() | st.dictionaries(_text, _json_values, min_size=1, max_size=4),
    key_version=st.integers(min_value=1, max_value=1000),
)
def test_an_appended_payload_is_the_payload_verification_rebuilds(
    tenant_id: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target_type: str | None,
    target_id: str | None,
    reason: str | None,
    details: dict[str, Any] | None,
    key_version: int,
) -> None:
    details_json = canonical_json(details) if details else None
    appended = _appended_payload(
        tenant_id, seq, at, actor, action, target_type, target_id, reason, details_json, key_version
    )
    rebuilt = _entry_payload(tenant_id, seq, at, actor, action, target_type, target_id, reason, details, key_version)
    assert appended == rebuilt
