"""Consent capture (one or many), withdrawal, expiry, and the fold from events to current state.

Events are append-only; `consent_states` is the fold of a contact's events per purpose, kept in the
same transaction as the events. The fold orders events by when they happened (`occurred_at`), so a
historical grant imported after a withdrawal never re-grants: a later withdrawal always wins.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Text, bindparam, select, type_coerce
from sqlmodel import Session

from ...clock import utc
from ...crypto import SecretBytes, TenantKeyring
from ...errors import DialvaultError, InvalidInput, NotFound
from ...storage import Prepared, bulk_insert, bulk_update, in_list_chunks
from ...storage import tables as t
from .._context import Actor, Vault
from .._ids import new_sorted_ids
from .._phone import parse_phone, valid_e164_region
from ..audit import record_event
from ..contacts import BatchItemError, SealedContact, ensure_contacts, register_contact
from ._notices import NoticeClaim, NoticeRef, resolve_notices
from ._receipts import ReceiptSealer, ReceiptShape, receipt_id_of_event, tenant_name
from ._rules import ConsentRules, PurposeRules, rules_for

__all__ = [
    "EVIDENCE_FIELD",
    "METHODS",
    "CapturedConsent",
    "ConsentInput",
    "DuplicateItem",
    "FoldedState",
    "Withdrawal",
    "capture_consent",
    "capture_consents",
    "consent_history",
    "effective_status",
    "expire_consents",
    "fold_events",
    "withdraw_consents",
]

METHODS = frozenset({"web_form", "ivr", "agent_call", "paper", "api", "import"})
EVIDENCE_FIELD = "evidence"
_GRANTS = ("given", "renewed")
_RANK = {"given": 0, "renewed": 0, "expired": 1, "withdrawn": 2}
_CLOCK_SKEW = timedelta(minutes=5)
_CHUNK = 500


class ConsentInput(NamedTuple):
    # Named tuples, not frozen dataclasses: a batch builds thousands, and they are 3-4x cheaper to create.
    purpose: str
    channels: Sequence[str]
    notice: NoticeClaim
    method: str
    phone: str | None = None
    contact_id: str | None = None
    region: str | None = None
    jurisdiction: str | None = None
    language: str | None = None
    evidence: Mapping[str, Any] | None = None
    expires_at: datetime | None = None
    occurred_at: datetime | None = None  # when it was given, if before now (imports)
    # An imported row: nothing is written when its contact already has a grant with the same facts (the
    # purpose, channels, notice, method, time given, jurisdiction, language, and expiry if the row gives one).
    skip_if_recorded: bool = False
    normalized: bool = False  # `phone` is already canonical E.164 (parsed by the caller): skip re-parsing


class CapturedConsent(NamedTuple):
    consent_id: str
    contact_id: str
    receipt_id: str
    event_id: str
    event_type: str
    status: str = "granted"


@dataclass(frozen=True, slots=True)
class DuplicateItem:
    """An item whose grant was already recorded (`skip_if_recorded`): nothing written."""

    index: int


@dataclass(slots=True)
class _Item:
    index: int
    source: ConsentInput
    rules: PurposeRules
    channels: list[str]
    occurred_at: datetime
    expires_at: datetime | None
    evidence: dict[str, Any] | None
    evidence_secret: dict[str, str] | None
    e164: str | None
    contact_id: str | None = None
    notice: NoticeRef | None = None


# -- validation -------------------------------------------------------------------------


def _validate_evidence(raw: Mapping[str, Any] | None) -> tuple[dict[str, Any] | None, dict[str, str] | None]:
    """Split evidence into stored references (JSON) and secret parts (ip, user agent: encrypted)."""
    if raw is None:
        return None, None

    def bad(message: str) -> InvalidInput:
        return InvalidInput(message, code="invalid_evidence", field="evidence")

    if not isinstance(raw, Mapping) or set(raw) - {"references", "ip", "user_agent"}:
        raise bad("evidence takes references, ip and user_agent only")
    references = raw.get("references", [])
    if not isinstance(references, list) or len(references) > 20:
        raise bad("evidence references must be a list of at most 20")
    clean: list[dict[str, str]] = []
    for ref in references:
        if not isinstance(ref, Mapping) or set(ref) - {"type", "uri", "sha256"}:
            raise bad("each reference takes type, uri and sha256")
        kind, uri, digest = ref.get("type"), ref.get("uri"), ref.get("sha256")
        if not isinstance(kind, str) or not 0 < len(kind) <= 40:
            raise bad("each reference needs a type")
        if uri is not None and (not isinstance(uri, str) or len(uri) > 500):
            raise bad("a reference uri must be text of at most 500 characters")
        if digest is not None and (
            not isinstance(digest, str) or len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest)
        ):
            raise bad("a reference sha256 must be 64 lowercase hex digits")
        clean.append({k: v for k, v in (("type", kind), ("uri", uri), ("sha256", digest)) if v is not None})
    secret: dict[str, str] = {}
    for key in ("ip", "user_agent"):
        value = raw.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > 500:
            raise bad(f"evidence {key} must be text of at most 500 characters")
        secret[key] = value
    return ({"references": clean} if clean else None), (secret or None)


def _utc(value: datetime) -> datetime:
    # The same object when already UTC: rows sharing an instant then share it, and it is stored once per batch.
    return value if value.tzinfo is UTC else utc(value)


def _validate(index: int, item: ConsentInput, rules: ConsentRules, now: datetime, latest: datetime) -> _Item:
    """`latest`: the latest time a consent may say it was given (now, give or take clock skew)."""
    purpose = rules.require_purpose(item.purpose)
    channels = rules.channels(purpose, item.channels)
    if item.method not in METHODS:
        raise InvalidInput("unknown collection method", code="invalid_method", field="method")
    occurred_at = now if item.occurred_at is None else _utc(item.occurred_at)
    if occurred_at > latest:
        raise InvalidInput("consent cannot be given in the future", code="consented_in_future", field="consented_at")
    if item.expires_at is not None:
        expires_at: datetime | None = _utc(item.expires_at)
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("the expiry is in the past", code="expiry_in_past", field="expires_at")
    else:
        expires_at = rules.consent_expiry(purpose.name, occurred_at)
    evidence, secret = (None, None) if item.evidence is None else _validate_evidence(item.evidence)
    phone = item.phone
    if (phone is None) == (item.contact_id is None):
        raise InvalidInput("name either phone or contact_id", code="contact_required", field="phone")
    if phone is not None and not item.normalized and valid_e164_region(phone) is None:
        # Not canonical E.164 (a national format, or invalid): the general parser normalizes or refuses it.
        phone = parse_phone(phone, item.region).e164
    return _Item(index, item, purpose, channels, occurred_at, expires_at, evidence, secret, phone, item.contact_id)


# -- state -------------------------------------------------------------------------------


@dataclass(slots=True)
class FoldedState:
    consent_id: str
    status: str
    channels: list[str]
    given_at: datetime
    expires_at: datetime | None
    withdrawn_at: datetime | None = None
    updated_at: datetime | None = field(default=None, compare=False)

    def last_event_at(self) -> datetime:
        if self.status == "withdrawn" and self.withdrawn_at is not None:
            return self.withdrawn_at
        if self.status == "expired" and self.expires_at is not None:
            return self.expires_at
        return self.given_at


def _apply(
    state: FoldedState | None,
    event_type: str,
    consent_id: str,
    channels: list[str],
    occurred_at: datetime,
    expires_at: datetime | None,
) -> FoldedState | None:
    """The state after one more event; None when the event does not change it (it is older)."""
    if event_type in _GRANTS:
        if state is not None:
            last = state.last_event_at()
            if occurred_at < last or (occurred_at == last and state.status != "granted"):
                return None
        return FoldedState(consent_id, "granted", channels, occurred_at, expires_at)
    if state is None or state.status != "granted" or state.consent_id != consent_id:
        return None
    if event_type == "withdrawn":
        return FoldedState(consent_id, "withdrawn", state.channels, state.given_at, state.expires_at, occurred_at)
    if event_type == "expired":
        return FoldedState(consent_id, "expired", state.channels, state.given_at, state.expires_at)
    return None


def _grant_type(state: FoldedState | None, occurred_at: datetime) -> str:
    live = state is not None and state.status == "granted"
    if live and state is not None and (state.expires_at is None or state.expires_at > occurred_at):
        return "renewed"
    return "given"


def fold_events(events: Iterable[Mapping[str, Any]]) -> dict[str, FoldedState]:
    """Current state per purpose from a contact's events (mappings with consent_events columns)."""
    ordered = sorted(events, key=lambda e: (e["occurred_at"], _RANK[e["event_type"]], e["recorded_at"]))
    states: dict[str, FoldedState] = {}
    for event in ordered:
        purpose = event["purpose"]
        new = _apply(
            states.get(purpose),
            event["event_type"],
            event["consent_id"],
            list(event["channels"]),
            event["occurred_at"],
            event["expires_at"],
        )
        if new is not None:
            states[purpose] = new
    return states


def effective_status(state: FoldedState, now: datetime) -> str:
    if state.status == "granted" and state.expires_at is not None and state.expires_at <= now:
        return "expired"
    return state.status


def _load_states(session: Session, tenant_id: str, contact_ids: Iterable[str]) -> dict[tuple[str, str], FoldedState]:
    ids = list(dict.fromkeys(contact_ids))
    c = t.consent_states.c
    out: dict[tuple[str, str], FoldedState] = {}
    # Channel lists are read as their JSON text and decoded once per distinct text: a batch's states mostly
    # share a few (and share the list objects, which are never changed in place).
    channel_lists: dict[str, list[str]] = {}
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            select(
                c.contact_id, c.purpose, c.consent_id, c.status, type_coerce(c.channels, Text), c.given_at,
                c.expires_at, c.withdrawn_at,
            ).where(c.tenant_id == tenant_id, c.contact_id.in_(ids[start : start + _CHUNK]))
        )  # fmt: skip
        for contact_id, purpose, consent_id, status, text, given_at, expires_at, withdrawn_at in rows:
            channels = channel_lists.get(text)
            if channels is None:
                channels = channel_lists[text] = list(json.loads(text))
            out[(contact_id, purpose)] = FoldedState(consent_id, status, channels, given_at, expires_at, withdrawn_at)
    return out


_STATE_COLUMNS = (
    "tenant_id", "contact_id", "purpose", "consent_id", "status", "channels", "given_at", "expires_at", "withdrawn_at",
    "updated_at",
)  # fmt: skip
_STATE_VALUES = ("consent_id", "status", "channels", "given_at", "expires_at", "withdrawn_at", "updated_at")
_STATE_KEYS = ("tenant_id", "contact_id", "purpose")


def _write_states(
    session: Session,
    tenant_id: str,
    changed: Mapping[tuple[str, str], FoldedState],
    existed: set[tuple[str, str]],
    now: datetime,
) -> None:
    inserts: list[tuple[Any, ...]] = []
    updates: list[tuple[Any, ...]] = []
    for (contact_id, purpose), s in changed.items():
        if (contact_id, purpose) in existed:
            updates.append(
                (s.consent_id, s.status, s.channels, s.given_at, s.expires_at, s.withdrawn_at, now, tenant_id,
                 contact_id, purpose)
            )  # fmt: skip
        else:
            inserts.append(
                (tenant_id, contact_id, purpose, s.consent_id, s.status, s.channels, s.given_at, s.expires_at,
                 s.withdrawn_at, now)
            )  # fmt: skip
    bulk_insert(session, t.consent_states, inserts, columns=_STATE_COLUMNS)
    bulk_update(session, t.consent_states, updates, keys=_STATE_KEYS, columns=_STATE_VALUES)


# -- capture -----------------------------------------------------------------------------


@dataclass(slots=True)
class _Context:
    keyring: TenantKeyring
    controller: str
    actor_label: str


#: Stands for the expiry in the facts of a grant whose input gave none (its expiry came from the policy).
_EXPIRY_NOT_GIVEN = object()


def _grant_facts(item: _Item) -> tuple[Any, ...]:
    """What makes two grants the same grant, for `skip_if_recorded`."""
    notice, source = item.notice, item.source
    assert notice is not None
    expiry = _EXPIRY_NOT_GIVEN if source.expires_at is None else item.expires_at
    return (
        item.contact_id, item.rules.name, tuple(item.channels), notice.id, notice.version, source.method,
        item.occurred_at, source.jurisdiction, source.language, expiry,
    )  # fmt: skip


def _recorded_grants(session: Session, tenant_id: str, contact_ids: list[str]) -> set[tuple[Any, ...]]:
    """The facts of the contacts' grant events, each with its expiry and with `_EXPIRY_NOT_GIVEN`."""
    found: set[tuple[Any, ...]] = set()
    for size, params in in_list_chunks("c", contact_ids):
        params["tenant"] = tenant_id
        for row in _grants_query(size).all(session, params):
            facts = (row.contact_id, row.purpose, tuple(row.channels), row.notice_id, row.notice_version, row.method,
                     row.occurred_at, row.jurisdiction, row.language)  # fmt: skip
            found.add((*facts, row.expires_at))
            found.add((*facts, _EXPIRY_NOT_GIVEN))
    return found


@cache
def _grants_query(size: int) -> Prepared:
    """Prepared, not built per call: building and expanding an IN list costs microseconds per value."""
    c = t.consent_events.c
    return Prepared(
        select(
            c.contact_id, c.purpose, c.channels, c.notice_id, c.notice_version, c.method, c.occurred_at,
            c.expires_at, c.jurisdiction, c.language,
        ).where(
            c.tenant_id == bindparam("tenant"),
            c.contact_id.in_([bindparam(f"c{i}") for i in range(size)]),
            c.event_type.in_([bindparam(f"grant{i}", value) for i, value in enumerate(_GRANTS)]),
        )
    )  # fmt: skip


def _without_recorded(
    session: Session, tenant_id: str, items: list[_Item], fresh: set[str], results: list[Any]
) -> list[_Item]:
    """`items` less the `skip_if_recorded` ones whose grant is recorded, or repeats one before it (each of those
    gets its DuplicateItem in `results`). Contacts created in this unit of work have no grants to read."""
    if not any(i.source.skip_if_recorded for i in items):
        return items
    known = sorted(
        {i.contact_id for i in items if i.source.skip_if_recorded and i.contact_id and i.contact_id not in fresh}
    )
    recorded = _recorded_grants(session, tenant_id, known) if known else set()
    kept: list[_Item] = []
    for item in items:
        if item.source.skip_if_recorded:
            facts = _grant_facts(item)
            if facts in recorded:
                results[item.index] = DuplicateItem(item.index)
                continue
            recorded.add(facts)
        kept.append(item)
    return kept


def _existing_contacts(session: Session, tenant_id: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        found.update(
            session.execute(
                select(t.contacts.c.id).where(
                    t.contacts.c.tenant_id == tenant_id, t.contacts.c.id.in_(ids[start : start + _CHUNK])
                )
            ).scalars()
        )
    return found


def _contact_deks(session: Session, keyring: TenantKeyring, ids: list[str]) -> dict[str, SecretBytes]:
    deks: dict[str, SecretBytes] = {}
    for start in range(0, len(ids), _CHUNK):
        for contact_id, wrapped in session.execute(
            select(t.contacts.c.id, t.contacts.c.wrapped_dek).where(
                t.contacts.c.tenant_id == keyring.tenant_id, t.contacts.c.id.in_(ids[start : start + _CHUNK])
            )
        ):
            deks[contact_id] = keyring.unwrap_contact_dek(contact_id, wrapped)
    return deks


def _capture(
    session: Session,
    vault: Vault,
    actor: Actor,
    items: Sequence[ConsentInput],
    now: datetime,
    sealed: Mapping[str, SealedContact] | None = None,
) -> list[CapturedConsent | DuplicateItem | DialvaultError]:
    tenant_id = actor.tenant_id
    rules = rules_for(session, vault, tenant_id)
    results: list[CapturedConsent | DuplicateItem | DialvaultError | None] = [None] * len(items)
    good: list[_Item] = []
    latest = now + _CLOCK_SKEW
    for index, source in enumerate(items):
        try:
            good.append(_validate(index, source, rules, now, latest))
        except DialvaultError as exc:
            results[index] = exc

    named = sorted({i.contact_id for i in good if i.contact_id is not None})
    if named:
        known = _existing_contacts(session, tenant_id, named)
        for item in good:
            if item.contact_id is not None and item.contact_id not in known:
                results[item.index] = NotFound("unknown contact", code="contact_not_found", field="contact_id")
        good = [i for i in good if results[i.index] is None]

    if good:
        # A batch's items mostly share one claim object: resolved (and hashed) once per object, not per item.
        claims = {id(i.source.notice): i.source.notice for i in good}
        notices = resolve_notices(session, vault, actor, claims.values(), now)
        by_claim = {key: notices[claim] for key, claim in claims.items()}
        for item in good:
            resolved = by_claim[id(item.source.notice)]
            if isinstance(resolved, DialvaultError):
                results[item.index] = resolved
            else:
                item.notice = resolved
        good = [i for i in good if results[i.index] is None]

    numbered = [i for i in good if i.e164 is not None]
    fresh: set[str] = set()  # contacts created here: they have no consent state to read
    if len(numbered) == 1 and numbered[0].e164 is not None:
        registered = register_contact(session, vault, actor, numbered[0].e164, None, now)
        numbered[0].contact_id = registered.contact_id
        if registered.created:
            fresh.add(registered.contact_id)
    elif numbered:
        # Numbers are already normalized: register them in bulk without parsing them again.
        keyring = vault.keyrings.get(session, tenant_id)
        owners = ensure_contacts(session, keyring, list(dict.fromkeys(i.e164 or "" for i in numbered)), now, sealed)
        for item in numbered:
            item.contact_id = owners[item.e164 or ""][0]
        fresh = {contact_id for contact_id, was_created in owners.values() if was_created}
        record_event(
            session, keyring, actor, "contacts.registered", now, target_type="contact",
            details={"created": len(fresh), "existing": len(owners) - len(fresh), "rejected": 0},
        )  # fmt: skip

    good = _without_recorded(session, tenant_id, good, fresh, results)
    if good:
        context = _Context(
            vault.keyrings.get(session, tenant_id), tenant_name(session, tenant_id), f"{actor.role}:{actor.key_id}"
        )
        for item, captured in zip(good, _write_grants(session, context, good, now, fresh), strict=True):
            results[item.index] = captured
    return [r if r is not None else InvalidInput("not processed") for r in results]


_EVENT_COLUMNS = (
    "id", "tenant_id", "consent_id", "contact_id", "event_type", "purpose", "channels", "notice_id", "notice_version",
    "notice_sha256", "method", "jurisdiction", "language", "evidence", "evidence_ct", "occurred_at", "recorded_at",
    "expires_at", "receipt_id", "actor", "receipt_template_id", "receipt_mac",
    "receipt_mac_key_version",
)  # fmt: skip


def _write_grants(
    session: Session, ctx: _Context, items: list[_Item], now: datetime, fresh: set[str]
) -> list[CapturedConsent]:
    """Events, receipts and states for validated grants; `fresh` names contacts created in this unit of work."""
    keyring = ctx.keyring
    states = _load_states(session, keyring.tenant_id, (i.contact_id or "" for i in items if i.contact_id not in fresh))
    existed = set(states)
    secret_owners = sorted({i.contact_id or "" for i in items if i.evidence_secret})
    deks = _contact_deks(session, keyring, secret_owners) if secret_owners else {}
    sealer = ReceiptSealer(session, keyring, ctx.controller, now)
    seal = sealer.seal
    count = len(items)
    consent_ids = new_sorted_ids("cn", now, count)
    # Sorted: the batch's rows then enter the event id index in order instead of all over its last pages.
    event_ids = sorted(new_sorted_ids("ce", now, count))
    changed: dict[tuple[str, str], FoldedState] = {}
    events: list[tuple[Any, ...]] = []
    out: list[CapturedConsent] = []
    shapes: dict[tuple[Any, ...], ReceiptShape] = {}
    tenant_id, actor_label = keyring.tenant_id, ctx.actor_label
    for item, consent_id, event_id in zip(items, consent_ids, event_ids, strict=True):
        contact_id = item.contact_id or ""
        receipt_id = receipt_id_of_event(event_id)
        rules = item.rules
        purpose = rules.name
        notice = item.notice
        assert notice is not None
        channels = item.channels  # shared by the batch's items with the same list: stored as JSON once
        occurred_at, expires_at = item.occurred_at, item.expires_at
        state_key = (contact_id, purpose)
        state = states.get(state_key)
        if state is None:  # a first grant (new contacts have no state): what `_apply` would give, without the calls
            event_type = "given"
            states[state_key] = changed[state_key] = FoldedState(
                consent_id, "granted", channels, occurred_at, expires_at
            )
        else:
            event_type = _grant_type(state, occurred_at)
            new_state = _apply(state, event_type, consent_id, channels, occurred_at, expires_at)
            if new_state is not None:
                states[state_key] = changed[state_key] = new_state
        source = item.source
        method, jurisdiction, language = source.method, source.jurisdiction, source.language
        # The batch's items share their rules, channel lists and notices (one object each): a key of their ids
        # finds the receipt shape without hashing the facts themselves.
        shape_key = (event_type, id(rules), id(channels), id(notice), method, jurisdiction, language)
        shape = shapes.get(shape_key)
        if shape is None:
            shape = shapes[shape_key] = sealer.shape(
                event_type=event_type, purpose=purpose, purpose_category=rules.category, explicit=rules.explicit,
                channels=tuple(channels), method=method, jurisdiction=jurisdiction, language=language,
                notice=notice.facts, policy_url=notice.policy_url,
            )  # fmt: skip
        evidence_ct = None
        if item.evidence_secret:
            plain = json.dumps(item.evidence_secret, separators=(",", ":"), sort_keys=True).encode("utf-8")
            evidence_ct = keyring.encrypt_field(deks[contact_id], contact_id, EVIDENCE_FIELD, plain)
        events.append(
            (event_id, tenant_id, consent_id, contact_id, event_type, purpose, channels, notice.id, notice.version,
             notice.sha256, method, jurisdiction, language, item.evidence, evidence_ct, occurred_at, now, expires_at,
             receipt_id, actor_label,
             *seal(shape, receipt_id, event_id, contact_id, occurred_at, expires_at))
        )  # fmt: skip
        out.append(CapturedConsent(consent_id, contact_id, receipt_id, event_id, event_type))
    bulk_insert(session, t.consent_events, events, columns=_EVENT_COLUMNS)
    sealer.flush()
    _write_states(session, keyring.tenant_id, changed, existed, now)
    return out


def capture_consent(session: Session, vault: Vault, actor: Actor, item: ConsentInput, now: datetime) -> CapturedConsent:
    """Record one grant (given or renewed) with its receipt; any invalid input writes nothing."""
    (result,) = _capture(session, vault, actor, [item], now)
    if isinstance(result, DialvaultError):
        raise result
    if isinstance(result, DuplicateItem):  # pragma: no cover - only imported rows are skipped as recorded
        raise InvalidInput("duplicate consent", code="duplicate")
    keyring = vault.keyrings.get(session, actor.tenant_id)
    record_event(
        session,
        keyring,
        actor,
        f"consent.{result.event_type}",
        now,
        target_type="consent",
        target_id=result.consent_id,
        details={"contact_id": result.contact_id, "purpose": item.purpose, "receipt_id": result.receipt_id},
    )
    return result


def capture_consents(
    session: Session,
    vault: Vault,
    actor: Actor,
    items: Sequence[ConsentInput],
    now: datetime,
    *,
    action: str = "consents.captured",
    sealed: Mapping[str, SealedContact] | None = None,
) -> list[CapturedConsent | DuplicateItem | BatchItemError]:
    """Record many grants in one transaction; bad items are reported by index and write nothing.

    One audit entry covers the batch (counts by outcome); each event row names its actor. `sealed`: contact
    rows made ahead for numbers that may be new (`seal_contacts`).
    """
    raw = _capture(session, vault, actor, items, now, sealed)
    results: list[CapturedConsent | DuplicateItem | BatchItemError] = []
    for index, r in enumerate(raw):
        if isinstance(r, DialvaultError):
            results.append(BatchItemError(index, r.code, r.message, r.field))
        else:
            results.append(r)
    given = sum(1 for r in results if isinstance(r, CapturedConsent) and r.event_type == "given")
    renewed = sum(1 for r in results if isinstance(r, CapturedConsent) and r.event_type == "renewed")
    duplicates = sum(1 for r in results if isinstance(r, DuplicateItem))
    record_event(
        session,
        vault.keyrings.get(session, actor.tenant_id),
        actor,
        action,
        now,
        target_type="consent",
        details={
            "given": given,
            "renewed": renewed,
            "duplicates": duplicates,
            "rejected": len(results) - given - renewed - duplicates,
        },
    )
    return results


# -- withdrawal and expiry ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Withdrawal:
    withdrawn: int
    receipt_ids: list[str]
    purposes: list[str]


def _grant_events(session: Session, tenant_id: str, contact_id: str, consent_ids: list[str]) -> dict[str, Any]:
    c = t.consent_events.c
    rows = session.execute(
        select(c.consent_id, c.notice_id, c.notice_version, c.notice_sha256, c.jurisdiction, c.language).where(
            c.tenant_id == tenant_id,
            c.contact_id == contact_id,
            c.consent_id.in_(consent_ids),
            c.event_type.in_(_GRANTS),
        )
    )
    return {r.consent_id: r for r in rows}


def withdraw_consents(
    session: Session,
    vault: Vault,
    actor: Actor,
    contact_id: str,
    purpose: str | None,
    now: datetime,
    *,
    method: str = "api",
    reason: str | None = None,
) -> Withdrawal:
    """Withdraw the live grants of a contact (one purpose or all), effective in this transaction."""
    tenant_id = actor.tenant_id
    if method not in METHODS:
        raise InvalidInput("unknown withdrawal method", code="invalid_method", field="method")
    states = _load_states(session, tenant_id, [contact_id])
    live = {key: s for key, s in states.items() if s.status == "granted" and (purpose is None or key[1] == purpose)}
    keyring = vault.keyrings.get(session, tenant_id)
    if not live:
        record_event(
            session, keyring, actor, "consent.withdraw_requested", now,
            target_type="contact", target_id=contact_id, reason=reason, details={"withdrawn": 0, "purpose": purpose},
        )  # fmt: skip
        return Withdrawal(0, [], [])
    rules = rules_for(session, vault, tenant_id)
    grants = _grant_events(session, tenant_id, contact_id, [s.consent_id for s in live.values()])
    sealer = ReceiptSealer(session, keyring, tenant_name(session, tenant_id), now)
    actor_label = f"{actor.role}:{actor.key_id}"
    events: list[tuple[Any, ...]] = []
    receipt_ids: list[str] = []
    changed: dict[tuple[str, str], FoldedState] = {}
    for (key, state), event_id in zip(sorted(live.items()), new_sorted_ids("ce", now, len(live)), strict=True):
        purpose_name = key[1]
        grant = grants.get(state.consent_id)
        purpose_rules = rules.purpose(purpose_name)
        receipt_id = receipt_id_of_event(event_id)
        notice = None
        if grant is not None and grant.notice_id is not None:
            notice = (("id", grant.notice_id), ("sha256", grant.notice_sha256), ("version", grant.notice_version))
        shape = sealer.shape(
            event_type="withdrawn",
            purpose=purpose_name,
            purpose_category=purpose_rules.category if purpose_rules else (purpose_name,),
            explicit=purpose_rules.explicit if purpose_rules else True,
            channels=tuple(state.channels),
            method=method,
            jurisdiction=grant.jurisdiction if grant is not None else None,
            language=grant.language if grant is not None else None,
            notice=notice,
            policy_url=None,
        )
        # The withdrawal's row has no expiry: its receipt's termination is "withdrawn" whatever the grant's was.
        receipt = sealer.seal(shape, receipt_id, event_id, contact_id, now, None)
        new_state = _apply(state, "withdrawn", state.consent_id, state.channels, now, None)
        if new_state is not None:
            changed[key] = new_state
        events.append(
            (event_id, tenant_id, state.consent_id, contact_id, "withdrawn", purpose_name, state.channels, None, None,
             None, method, None, None, None, None, now, now, None, receipt_id, actor_label, *receipt)
        )  # fmt: skip
        receipt_ids.append(receipt_id)
    bulk_insert(session, t.consent_events, events, columns=_EVENT_COLUMNS)
    sealer.flush()
    _write_states(session, tenant_id, changed, set(changed), now)
    purposes = [k[1] for k in sorted(live)]
    record_event(
        session, keyring, actor, "consent.withdrawn", now, target_type="contact", target_id=contact_id,
        reason=reason, details={"purposes": purposes, "receipt_ids": receipt_ids},
    )  # fmt: skip
    return Withdrawal(len(events), receipt_ids, purposes)


def expire_consents(session: Session, vault: Vault, actor: Actor | str, tenant_id: str, now: datetime) -> int:
    """Append `expired` events for grants whose expiry has passed (a sweep; reads treat them as expired anyway)."""
    c = t.consent_states.c
    rows = session.execute(
        select(c.contact_id, c.purpose, c.consent_id, c.channels, c.given_at, c.expires_at).where(
            c.tenant_id == tenant_id, c.status == "granted", c.expires_at.is_not(None), c.expires_at <= now
        )
    ).all()
    if not rows:
        return 0
    label = actor if isinstance(actor, str) else f"{actor.role}:{actor.key_id}"
    events: list[dict[str, Any]] = []
    changed: dict[tuple[str, str], FoldedState] = {}
    for r, event_id in zip(rows, new_sorted_ids("ce", now, len(rows)), strict=True):
        changed[(r.contact_id, r.purpose)] = FoldedState(
            r.consent_id, "expired", list(r.channels), r.given_at, r.expires_at
        )
        events.append(
            {
                "id": event_id, "tenant_id": tenant_id, "consent_id": r.consent_id, "contact_id": r.contact_id,
                "event_type": "expired", "purpose": r.purpose, "channels": list(r.channels),
                "occurred_at": r.expires_at, "recorded_at": now, "method": "api", "actor": label,
            }
        )  # fmt: skip
    session.execute(t.consent_events.insert(), events)
    _write_states(session, tenant_id, changed, set(changed), now)
    record_event(
        session, vault.keyrings.get(session, tenant_id), actor, "consents.expired", now,
        target_type="consent", details={"expired": len(events)},
    )  # fmt: skip
    return len(events)


def consent_history(session: Session, actor: Actor, contact_id: str, now: datetime) -> dict[str, Any]:
    """Current state per purpose and every event of a contact: no number, no decrypted evidence."""
    tenant_id = actor.tenant_id
    exists = session.execute(
        select(t.contacts.c.id).where(t.contacts.c.id == contact_id, t.contacts.c.tenant_id == tenant_id)
    ).scalar_one_or_none()
    c = t.consent_events.c
    events = session.execute(
        select(
            c.id, c.consent_id, c.event_type, c.purpose, c.channels, c.notice_id, c.notice_version, c.notice_sha256,
            c.method, c.jurisdiction, c.language, c.evidence, c.occurred_at, c.recorded_at, c.expires_at, c.receipt_id,
        )
        .where(c.tenant_id == tenant_id, c.contact_id == contact_id)
        .order_by(c.occurred_at, c.recorded_at)
    ).all()  # fmt: skip
    if exists is None and not events:
        raise NotFound("unknown contact", code="contact_not_found")
    states = _load_states(session, tenant_id, [contact_id])
    return {
        "contact_id": contact_id,
        "purposes": {
            purpose: {
                "consent_id": s.consent_id,
                "status": effective_status(s, now),
                "channels": s.channels,
                "given_at": s.given_at.isoformat(),
                "expires_at": s.expires_at.isoformat() if s.expires_at else None,
                "withdrawn_at": s.withdrawn_at.isoformat() if s.withdrawn_at else None,
            }
            for (_, purpose), s in sorted(states.items())
        },
        "events": [
            {
                "event_id": e.id,
                "consent_id": e.consent_id,
                "event_type": e.event_type,
                "purpose": e.purpose,
                "channels": e.channels,
                "notice": (
                    {"id": e.notice_id, "version": e.notice_version, "sha256": e.notice_sha256} if e.notice_id else None
                ),
                "method": e.method,
                "jurisdiction": e.jurisdiction,
                "language": e.language,
                "evidence": e.evidence,
                "occurred_at": e.occurred_at.isoformat(),
                "recorded_at": e.recorded_at.isoformat(),
                "expires_at": e.expires_at.isoformat() if e.expires_at else None,
                "receipt_id": e.receipt_id,
            }
            for e in events
        ],
    }


def live_grant(session: Session, tenant_id: str, contact_id: str, purpose: str, now: datetime) -> FoldedState | None:
    """The contact's unexpired, unwithdrawn grant for a purpose, if any (for the dialing rules)."""
    state = _load_states(session, tenant_id, [contact_id]).get((contact_id, purpose))
    if state is None or effective_status(state, now) != "granted":
        return None
    return state
