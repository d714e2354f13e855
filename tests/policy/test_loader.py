"""Loading and validating policy files and tenant overrides."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vault.policy import PolicyFileError, PolicySet, UnknownPurpose, load_policy_set

from .helpers import SHIPPED

MINIMAL_DEFAULT = """
format = 1

[jurisdiction]
code = "default"
name = "Everywhere"

[[window]]
id = "d.window"
periods = [["08:00", "21:00"]]
source = "test"
status = "industry"
effective_from = 2020-01-01
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    shutil.copytree(SHIPPED, tmp_path / "p", dirs_exist_ok=True)
    (tmp_path / "p" / name).write_text(text, encoding="utf-8")
    return tmp_path / "p"


def load_error(directory: Path) -> PolicyFileError:
    with pytest.raises(PolicyFileError) as info:
        load_policy_set(directory)
    return info.value


def test_shipped_policies_load(shipped: PolicySet) -> None:
    assert {p.name for p in shipped.purposes} == {"marketing", "service", "collections", "survey"}
    assert {"default", "CN", "US", "US-FL", "US-OK", "US-MD", "US-CA", "GB", "DE", "FR", "EU"} <= set(
        shipped.jurisdiction_codes
    )
    marketing = shipped.purpose("marketing")
    assert marketing.legal_basis == "consent" and marketing.requires_explicit_consent
    assert shipped.purpose("service").legal_basis == "contract"
    assert marketing.accepted_methods("prerecorded") is not None
    assert marketing.accepted_methods("voice") is None
    assert len(shipped.fingerprint) == 64


def test_every_shipped_rule_cites_a_source_with_a_status(shipped: PolicySet) -> None:
    for code in shipped.jurisdiction_codes:
        juris = shipped.jurisdiction(code)
        rules = [*juris.window, *juris.cap, *juris.cooloff, *juris.consent_requirement, *juris.licence]
        rules += [*juris.dsr, *juris.retention, *juris.complaint, *juris.screening]
        for rule in rules:
            assert rule.source and rule.status and rule.effective_from, rule.id
    for purpose in shipped.purposes:
        assert purpose.citations


def test_unknown_purpose_raises(shipped: PolicySet) -> None:
    with pytest.raises(UnknownPurpose):
        shipped.purpose("lottery")
    with pytest.raises(LookupError):
        shipped.consent_expiry("lottery", datetime(2026, 1, 1, tzinfo=UTC))


def test_bad_toml_names_file_and_line(tmp_path: Path) -> None:
    directory = write(tmp_path, "XX.toml", 'format = 1\n[jurisdiction]\ncode = "XX"\nname = \n')
    error = load_error(directory)
    assert "XX.toml" in str(error) and "invalid TOML" in str(error)
    assert error.line == 4


def test_unknown_field_names_file_field_and_line(tmp_path: Path) -> None:
    text = MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"').replace("d.window", "xx.window")
    text = text.replace('status = "industry"', 'status = "industry"\ncolour = "red"')
    error = load_error(write(tmp_path, "XX.toml", text))
    assert error.file.endswith("XX.toml")
    assert error.field == "window[0].colour"
    assert error.reason == "unknown field"
    assert error.line == text.splitlines().index('colour = "red"') + 1
    assert "XX.toml: window[0].colour (line" in str(error)


def test_missing_citation_is_refused(tmp_path: Path) -> None:
    text = MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"').replace("d.window", "xx.window")
    text = text.replace('source = "test"\n', "")
    error = load_error(write(tmp_path, "XX.toml", text))
    assert error.field == "window[0].source"
    assert "cites its source" in error.reason


def test_missing_purpose_citations_are_refused(tmp_path: Path) -> None:
    text = """
[[purpose]]
name = "raffle"
legal_basis = "consent"
requires_explicit_consent = true
allowed_channels = ["voice"]
"""
    error = load_error(write(tmp_path, "raffle.toml", text))
    assert error.field == "purpose[0].citations"
    assert error.line == 2  # a missing field points at its table


@pytest.mark.parametrize("bad", ["25:00", "8am", "08:60"])
def test_bad_time_names_the_field(tmp_path: Path, bad: str) -> None:
    text = MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"').replace("d.window", "xx.window")
    text = text.replace('"21:00"', f'"{bad}"')
    error = load_error(write(tmp_path, "XX.toml", text))
    assert error.field == "window[0].periods[0][1]"
    assert "bad time" in error.reason
    assert error.line == text.splitlines().index(f'periods = [["08:00", "{bad}"]]') + 1


def test_period_must_end_after_it_starts(tmp_path: Path) -> None:
    text = MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"').replace("d.window", "xx.window")
    text = text.replace('[["08:00", "21:00"]]', '[["21:00", "08:00"]]')
    error = load_error(write(tmp_path, "XX.toml", text))
    assert error.field == "window[0].periods"


def test_bad_duration_and_dates(tmp_path: Path) -> None:
    text = MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"').replace("d.window", "xx.window")
    error = load_error(write(tmp_path, "XX.toml", text + "effective_to = 2019-01-01\n"))
    assert "effective_to must be after" in error.reason
    cap = '\n[[cap]]\nid = "xx.cap"\nmax_attempts = 3\nperiod = "3 days"\nsource = "test"\nstatus = "industry"\n'
    error = load_error(write(tmp_path, "XX.toml", text + cap + "effective_from = 2020-01-01\n"))
    assert error.field == "cap[0].period" and "bad duration" in error.reason


def test_duplicate_rule_id_names_both_files(tmp_path: Path) -> None:
    text = MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"').replace("d.window", "fr.window.demarchage")
    error = load_error(write(tmp_path, "XX.toml", text))
    assert "XX.toml" in str(error) and "FR.toml" in str(error)


def test_unknown_group_is_refused(tmp_path: Path) -> None:
    text = MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"\ngroups = ["ASEAN"]').replace("d.window", "x.w")
    assert "ASEAN" in str(load_error(write(tmp_path, "XX.toml", text)))


def test_a_set_without_default_is_refused(tmp_path: Path) -> None:
    (tmp_path / "only.toml").write_text(MINIMAL_DEFAULT.replace('code = "default"', 'code = "XX"'), encoding="utf-8")
    assert "default" in str(load_error(tmp_path))


def test_empty_directory_is_refused(tmp_path: Path) -> None:
    assert "no *.toml" in str(load_error(tmp_path))


def test_fingerprint_tracks_content(tmp_path: Path, shipped: PolicySet) -> None:
    directory = write(tmp_path, "extra.toml", MINIMAL_DEFAULT.replace('"default"', '"XX"').replace("d.w", "x.w"))
    changed = load_policy_set(directory)
    assert changed.fingerprint != shipped.fingerprint
    assert load_policy_set(SHIPPED).fingerprint == shipped.fingerprint
    assert shipped.with_overrides({"licences_enforced": True}).fingerprint != shipped.fingerprint


CAP: dict[str, Any] = {
    "id": "acme.cap",
    "max_attempts": 2,
    "period": "24h",
    "source": "tenant policy",
    "status": "tenant",
    "effective_from": "2020-01-01",
}

INSURANCE: dict[str, Any] = {
    "purpose": [
        {
            "name": "insurance_sales",
            "legal_basis": "consent",
            "requires_explicit_consent": True,
            "allowed_channels": ["voice"],
            "tags": ["commercial", "insurance"],
            "citations": [{"source": "tenant: insurance telesales", "status": "tenant"}],
        }
    ]
}


def test_overrides_add_purposes_and_rules(shipped: PolicySet) -> None:
    overrides = {
        **INSURANCE,
        "licences_enforced": True,
        "jurisdiction": {
            "CN": {
                "dsr": [
                    {
                        "id": "acme.cn.dsr",
                        "due": {"days": 30},
                        "source": "GB/T 35273-2020 §8.7",
                        "status": "standard",
                        "effective_from": "2020-10-01",
                    }
                ]
            }
        },
    }
    tenant = shipped.with_overrides(overrides)
    assert tenant.purpose("insurance_sales").tags == ("commercial", "insurance")
    assert tenant.licences_enforced and not shipped.licences_enforced
    assert [r.id for r in tenant.jurisdiction("CN").dsr] == ["acme.cn.dsr"]
    assert [r.id for r in shipped.jurisdiction("CN").dsr] == ["cn.dsr"]
    assert load_policy_set(SHIPPED, overrides).fingerprint == tenant.fingerprint
    assert tenant.jurisdiction("CN").dsr[0].effective_from == datetime(2020, 10, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"colour": "red"}, "colour"),
        ({"jurisdiction": {"CN": {"cap": [{**CAP, "max_attempts": 0}]}}}, "jurisdiction.CN.cap[0].max_attempts"),
        ({"jurisdiction": {"CN": {"cap": [{**CAP, "period": "1 day"}]}}}, "jurisdiction.CN.cap[0].period"),
        ({"jurisdiction": {"CN": {"cap": [{**CAP, "id": "fr.cap.demarchage"}]}}}, "cap"),
        ({"jurisdiction": {"CN": {"window": [{"id": "x", "periods": [["9:00", "10:00"]]}]}}}, None),
        ({"purpose": [{**INSURANCE["purpose"][0], "name": "marketing"}]}, "purpose[0].name"),
    ],
)
def test_bad_overrides_are_refused(shipped: PolicySet, overrides: dict[str, Any], field: str | None) -> None:
    with pytest.raises(PolicyFileError) as info:
        shipped.with_overrides(overrides)
    assert info.value.file == "<tenant overrides>"
    if field is not None:
        assert info.value.field == field
