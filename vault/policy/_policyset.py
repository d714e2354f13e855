"""A loaded, validated policy set: purposes, jurisdictions and their rules, indexed for the engine."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ._calendar import add_period
from ._errors import NoApplicableRule, PolicyFileError, UnknownPurpose, validate
from ._model import (
    WEEKDAYS,
    CapRule,
    ComplaintRule,
    ConsentRequirementRule,
    CooloffRule,
    DsrRule,
    DueRule,
    JurisdictionHeader,
    LicenceRule,
    OverridesFile,
    Period,
    PolicyFile,
    Purpose,
    RetentionRule,
    RuleBase,
    ScreeningRule,
    WindowRule,
)

__all__ = ["CompiledWindow", "Jurisdiction", "LoadedFile", "Plan", "PolicySet"]

OVERRIDES_LABEL = "<tenant overrides>"
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class LoadedFile:
    name: str
    digest: str
    model: PolicyFile


@dataclass(slots=True)
class Jurisdiction:
    """One jurisdiction's header and rules (shipped rules plus a tenant's additions)."""

    code: str
    name: str
    groups: tuple[str, ...]
    holiday_country: str | None
    strictest_when_subdivision_unknown: bool
    window: list[WindowRule] = field(default_factory=list)
    cap: list[CapRule] = field(default_factory=list)
    cooloff: list[CooloffRule] = field(default_factory=list)
    consent_requirement: list[ConsentRequirementRule] = field(default_factory=list)
    licence: list[LicenceRule] = field(default_factory=list)
    dsr: list[DsrRule] = field(default_factory=list)
    retention: list[RetentionRule] = field(default_factory=list)
    complaint: list[ComplaintRule] = field(default_factory=list)
    screening: list[ScreeningRule] = field(default_factory=list)

    @classmethod
    def from_header(cls, header: JurisdictionHeader) -> Jurisdiction:
        holiday = header.holiday_country
        if holiday is None and len(header.code) == 2:
            holiday = header.code
        return cls(header.code, header.name, header.groups, holiday, header.strictest_when_subdivision_unknown)


@dataclass(frozen=True, slots=True)
class CompiledWindow:
    rule: WindowRule
    days: frozenset[int]
    periods: tuple[tuple[int, int], ...]
    holiday_country: str | None  # set only when the rule excludes public holidays


@dataclass(frozen=True, slots=True)
class Plan:
    """The rules covering one (jurisdictions, purpose, channel); effective dates are checked per call."""

    windows: tuple[CompiledWindow, ...]
    caps: tuple[CapRule, ...]
    cooloffs: tuple[CooloffRule, ...]
    consent_requirements: tuple[ConsentRequirementRule, ...]
    licences: tuple[LicenceRule, ...]


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


class PolicySet:
    """Immutable after construction (its caches only memoize pure results)."""

    def __init__(
        self,
        files: Sequence[LoadedFile],
        overrides: OverridesFile | None = None,
        overrides_digest: str | None = None,
    ) -> None:
        self._files = tuple(sorted(files, key=lambda f: f.name))
        self._overrides = overrides
        self._purposes: dict[str, Purpose] = {}
        self._jurisdictions: dict[str, Jurisdiction] = {}
        self.licences_enforced = False
        rule_origin: dict[str, str] = {}
        purpose_origin: dict[str, str] = {}
        for loaded in self._files:
            self._add_file(loaded, rule_origin, purpose_origin)
        if overrides is not None:
            self._add_overrides(overrides, rule_origin, purpose_origin)
        self._check_references()
        digest = hashlib.sha256()
        for loaded in self._files:
            digest.update(f"{loaded.name}\0{loaded.digest}\n".encode())
        if overrides_digest is not None:
            digest.update(f"{OVERRIDES_LABEL}\0{overrides_digest}\n".encode())
        self.fingerprint: str = digest.hexdigest()
        self._callee_cache: dict[tuple[str | None, frozenset[str]], tuple[str, ...]] = {}
        self._plan_cache: dict[tuple[tuple[str, ...], str, str], Plan] = {}

    # -- construction -------------------------------------------------------------------------------

    def _add_file(self, loaded: LoadedFile, rule_origin: dict[str, str], purpose_origin: dict[str, str]) -> None:
        model = loaded.model
        for purpose in model.purpose:
            if purpose.name in purpose_origin:
                raise PolicyFileError(
                    loaded.name,
                    f"purpose {purpose.name!r} is also defined in {purpose_origin[purpose.name]}",
                    "purpose",
                )
            purpose_origin[purpose.name] = loaded.name
            self._purposes[purpose.name] = purpose
        if model.jurisdiction is None:
            return
        code = model.jurisdiction.code
        if code in self._jurisdictions:
            raise PolicyFileError(loaded.name, f"jurisdiction {code!r} is defined twice", "jurisdiction.code")
        juris = Jurisdiction.from_header(model.jurisdiction)
        self._jurisdictions[code] = juris
        self._add_rules(juris, model, loaded.name, rule_origin, replace_due=False)

    def _add_rules(
        self, juris: Jurisdiction, rules: Any, origin: str, rule_origin: dict[str, str], *, replace_due: bool
    ) -> None:
        for kind in (
            "window",
            "cap",
            "cooloff",
            "consent_requirement",
            "licence",
            "dsr",
            "retention",
            "complaint",
            "screening",
        ):
            new: tuple[RuleBase, ...] = getattr(rules, kind)
            for rule in new:
                if rule.id in rule_origin:
                    raise PolicyFileError(
                        origin, f"rule id {rule.id!r} is already used in {rule_origin[rule.id]}", kind
                    )
                rule_origin[rule.id] = origin
            target: list[RuleBase] = getattr(juris, kind)
            if replace_due and kind in ("dsr", "complaint") and new:
                target.clear()
            target.extend(new)

    def _add_overrides(
        self, overrides: OverridesFile, rule_origin: dict[str, str], purpose_origin: dict[str, str]
    ) -> None:
        if overrides.licences_enforced is not None:
            self.licences_enforced = overrides.licences_enforced
        for index, purpose in enumerate(overrides.purpose):
            if purpose.name in purpose_origin:
                raise PolicyFileError(
                    OVERRIDES_LABEL,
                    f"purpose {purpose.name!r} is already defined in {purpose_origin[purpose.name]}"
                    "; overrides only add purposes",
                    f"purpose[{index}].name",
                )
            purpose_origin[purpose.name] = OVERRIDES_LABEL
            self._purposes[purpose.name] = purpose
        for code, extra in overrides.jurisdiction.items():
            juris = self._jurisdictions.get(code)
            if juris is None:
                header = JurisdictionHeader(
                    code=code, name=extra.name or code, groups=extra.groups, holiday_country=extra.holiday_country
                )
                juris = self._jurisdictions[code] = Jurisdiction.from_header(header)
            else:
                juris.groups = tuple(dict.fromkeys((*juris.groups, *extra.groups)))
            self._add_rules(juris, extra, OVERRIDES_LABEL, rule_origin, replace_due=True)

    def _check_references(self) -> None:
        if "default" not in self._jurisdictions:
            raise PolicyFileError("<policy set>", "no file defines the 'default' jurisdiction", "jurisdiction.code")
        for juris in self._jurisdictions.values():
            for group in juris.groups:
                if group not in self._jurisdictions:
                    raise PolicyFileError(
                        "<policy set>",
                        f"{juris.code} names group {group!r}, which no file defines",
                        "jurisdiction.groups",
                    )
        for juris in self._jurisdictions.values():
            for rule in (*juris.window, *juris.cap, *juris.cooloff, *juris.consent_requirement, *juris.licence):
                unknown = [p for p in rule.purposes if p not in self._purposes]
                if unknown:
                    raise PolicyFileError(
                        f"<{juris.code}>", f"rule {rule.id!r} names unknown purposes {unknown}", "purposes"
                    )

    def with_overrides(self, overrides: Mapping[str, Any]) -> PolicySet:
        """A new set: these shipped files plus a tenant's overrides (validated like a file)."""
        model = validate(OverridesFile, dict(overrides), OVERRIDES_LABEL)
        digest = hashlib.sha256(_canonical(dict(overrides))).hexdigest()
        return PolicySet(self._files, model, digest)

    # -- purposes and jurisdictions ------------------------------------------------------------------

    @property
    def purposes(self) -> tuple[Purpose, ...]:
        return tuple(self._purposes[name] for name in sorted(self._purposes))

    def purpose(self, name: str) -> Purpose:
        try:
            return self._purposes[name]
        except KeyError:
            raise UnknownPurpose(name) from None

    @property
    def jurisdiction_codes(self) -> tuple[str, ...]:
        return tuple(sorted(self._jurisdictions))

    def jurisdiction(self, code: str) -> Jurisdiction:
        return self._jurisdictions[code]

    def _expand(self, codes: Iterable[str]) -> tuple[str, ...]:
        """`default`, then the known codes given, then their groups (transitively); unknown codes are dropped."""
        out = ["default"]
        queue = [c for c in codes if c in self._jurisdictions]
        while queue:
            code = queue.pop(0)
            if code in out:
                continue
            out.append(code)
            queue.extend(g for g in self._jurisdictions[code].groups if g not in out)
        return tuple(out)

    def jurisdictions_for(self, region: str | None, subdivisions: Iterable[str]) -> tuple[str, ...]:
        """Rule sets that apply to a callee: default + region + its subdivisions + declared groups."""
        subs = frozenset(subdivisions)
        key = (region, subs)
        cached = self._callee_cache.get(key)
        if cached is not None:
            return cached
        codes: list[str] = []
        if region:
            region = region.upper()
            codes.append(region)
            known = sorted(s for s in subs if s in self._jurisdictions)
            region_rules = self._jurisdictions.get(region)
            if not subs and region_rules is not None and region_rules.strictest_when_subdivision_unknown:
                known = sorted(c for c in self._jurisdictions if c.startswith(region + "-"))
            codes.extend(known)
        else:
            codes.extend(sorted(subs))
        result = self._expand(codes)
        if len(self._callee_cache) >= _CACHE_LIMIT:
            self._callee_cache.clear()
        self._callee_cache[key] = result
        return result

    def plan(self, jurisdictions: tuple[str, ...], purpose: Purpose, channel: str) -> Plan:
        key = (jurisdictions, purpose.name, channel)
        cached = self._plan_cache.get(key)
        if cached is not None:
            return cached
        windows: list[CompiledWindow] = []
        caps: list[CapRule] = []
        cooloffs: list[CooloffRule] = []
        consent: list[ConsentRequirementRule] = []
        licences: list[LicenceRule] = []
        for code in jurisdictions:
            juris = self._jurisdictions[code]
            for window in juris.window:
                if window.covers(purpose, channel):
                    windows.append(
                        CompiledWindow(
                            window,
                            frozenset(WEEKDAYS.index(d) for d in window.days),
                            window.periods,
                            juris.holiday_country if window.exclude_public_holidays else None,
                        )
                    )
            caps.extend(r for r in juris.cap if r.covers(purpose, channel))
            cooloffs.extend(r for r in juris.cooloff if r.covers(purpose, channel))
            consent.extend(r for r in juris.consent_requirement if r.covers(purpose, channel))
            licences.extend(r for r in juris.licence if r.covers(purpose, channel))
        plan = Plan(tuple(windows), tuple(caps), tuple(cooloffs), tuple(consent), tuple(licences))
        if len(self._plan_cache) >= _CACHE_LIMIT:
            self._plan_cache.clear()
        self._plan_cache[key] = plan
        return plan

    # -- helpers for the services --------------------------------------------------------------------

    def _rules(self, kind: str, jurisdictions: Iterable[str], at: datetime | None) -> list[Any]:
        out: list[Any] = []
        for code in self._expand(jurisdictions):
            out.extend(r for r in getattr(self._jurisdictions[code], kind) if at is None or r.in_force(at))
        return out

    def _due_rules(
        self, kind: str, jurisdictions: Iterable[str], at: datetime, request_type: str | None
    ) -> list[DueRule]:
        rules: list[DueRule] = [
            r
            for r in self._rules(kind, jurisdictions, at)
            if request_type is None or not r.request_types or request_type in r.request_types
        ]
        primary = [r for r in rules if not r.fallback]
        chosen = primary or rules
        if not chosen:
            raise NoApplicableRule(f"no {kind} rule applies to {tuple(jurisdictions)}")
        return chosen

    @staticmethod
    def _due(rule: DueRule, received_at: datetime) -> datetime:
        return add_period(received_at, rule.due, rule.holiday_country, rule.time_zone)

    def _extended(self, rule: DueRule, received_at: datetime) -> datetime:
        due = self._due(rule, received_at)
        if rule.extension is None:
            return due
        if rule.due.months is not None and rule.extension.months is not None:  # Jan 31 + 1 + 2 months = Apr 30
            months = Period(months=rule.due.months + rule.extension.months)
            return add_period(received_at, months, rule.holiday_country, rule.time_zone)
        return add_period(due, rule.extension, rule.holiday_country, rule.time_zone)

    def dsr_due_at(self, jurisdictions: Sequence[str], request_type: str, received_at: datetime) -> datetime:
        """When a data-subject request must be answered: the earliest due date of the applicable rules."""
        rules = self._due_rules("dsr", jurisdictions, received_at, request_type)
        return min(self._due(r, received_at) for r in rules)

    def dsr_extension_limit(self, jurisdictions: Sequence[str], request_type: str, received_at: datetime) -> datetime:
        """The latest an answer may come with every allowed extension used (earliest over applicable rules)."""
        rules = self._due_rules("dsr", jurisdictions, received_at, request_type)
        return min(self._extended(r, received_at) for r in rules)

    def complaint_due_at(self, jurisdictions: Sequence[str], received_at: datetime) -> datetime:
        """When a complaint must be answered: the earliest due date of the applicable rules."""
        rules = self._due_rules("complaint", tuple(jurisdictions), received_at, None)
        return min(self._due(r, received_at) for r in rules)

    def retention(
        self, record_kind: str, jurisdictions: Sequence[str], *, purpose: str | None = None, at: datetime | None = None
    ) -> timedelta | None:
        """How long records of `record_kind` must be kept: the longest applicable rule, or None if none.

        Rules limited to certain purposes count only when `purpose` is given and matches. With `at`,
        only rules in force then count; without it every rule counts (the conservative answer)."""
        return self.retention_basis(record_kind, jurisdictions, purpose=purpose, at=at)[0]

    def retention_basis(
        self, record_kind: str, jurisdictions: Sequence[str], *, purpose: str | None = None, at: datetime | None = None
    ) -> tuple[timedelta | None, tuple[str, ...]]:
        """The retention period (as `retention`) and the sources of the rules that set it."""
        target = self.purpose(purpose) if purpose is not None else None
        found = [
            r
            for r in self._rules("retention", jurisdictions, at)
            if r.record_kind == record_kind
            and (
                (not r.purposes and not r.purpose_tags)
                or (target is not None and r.covers(target, next(iter(target.allowed_channels))))
            )
        ]
        if not found:
            return None, ()
        longest = max(r.period for r in found)
        return longest, tuple(sorted({str(r.source) for r in found if r.period == longest}))

    def refusal_cooloff(
        self, purpose: str, jurisdictions: Sequence[str], *, at: datetime | None = None
    ) -> timedelta | None:
        """How long after a refusal the person may not be called for `purpose`: the longest rule, or None."""
        target = self.purpose(purpose)
        found = [
            r.period
            for r in self._rules("cooloff", jurisdictions, at)
            if any(r.covers(target, channel) for channel in target.allowed_channels)
        ]
        return max(found, default=None)

    def consent_expiry(self, purpose: str, given_at: datetime) -> datetime | None:
        """When a consent given at `given_at` lapses by the purpose's default lifetime (None = never)."""
        days = self.purpose(purpose).default_consent_lifetime_days
        return None if days is None else given_at + timedelta(days=days)

    def screening(self, jurisdictions: Sequence[str], *, at: datetime | None = None) -> tuple[ScreeningRule, ...]:
        """Do-not-call registers to scrub against, with their refresh intervals."""
        return tuple(self._rules("screening", jurisdictions, at))

    def __repr__(self) -> str:
        names = sorted(self._purposes)
        return f"PolicySet(files={len(self._files)}, purposes={names}, fingerprint={self.fingerprint[:12]})"
