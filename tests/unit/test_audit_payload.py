"""The payload an audit entry's hash covers is the canonical JSON of the entry's fields, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from vault.services.audit import _entry_payload
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
    details=st.none() | st.dictionaries(_text, _json_values, max_size=4),
    key_version=st.integers(min_value=1, max_value=1000),
)
def test_an_entry_payload_is_the_canonical_json_of_its_fields(
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
    details_json = canonical_json(details) if details is not None else None
    payload = _entry_payload(
        tenant_id, seq, at, actor, action, target_type, target_id, reason, details_json, key_version
    )
    fields = {
        "tenant_id": tenant_id, "seq": seq, "at": at.isoformat(timespec="microseconds"), "actor": actor,
        "action": action, "target_type": target_type, "target_id": target_id, "reason": reason,
        "details": details, "key_version": key_version,
    }  # fmt: skip
    assert payload == canonical_json(fields).encode()
