"""`dialvault import` and `dialvault suppress import`: streamed, batched, rejects with line and reason."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import TenantKeys
from vault.cli import app
from vault.config import Settings
from vault.crypto import TenantKeyring, jws_verify
from vault.services import Actor, Role, Vault
from vault.services.consent import ImportRow, RowIdentity, import_batch, register_notice, row_identities
from vault.services.contacts import decrypt_number, register_contact
from vault.storage import tables as t
from vault.storage import upgrade_schema
from vault.storage._schema import alembic_config

HEADER = "phone,region,purpose,channels,notice_id,notice_version,method,consented_at,expires_at\n"
GOOD = [
    "+8613800138001,,marketing,voice;sms,mkt,v1,web_form,2025-06-01T10:00:00+08:00,\n",
    "13800138002,CN,survey,voice,mkt,v1,paper,2025-06-02T10:00:00Z,\n",
    "+14155550123,,service,voice,mkt,v1,ivr,2025-06-03T10:00:00Z,2099-01-01T00:00:00Z\n",
]
BAD = [
    "+86123,,marketing,voice,mkt,v1,web_form,2025-06-01T10:00:00Z,\n",  # bad phone
    "+8613800138005,,astrology,voice,mkt,v1,web_form,2025-06-01T10:00:00Z,\n",  # unknown purpose
    "+8613800138006,,marketing,voice,mkt,v1,web_form,yesterday,\n",  # bad date
    "+8613800138007,,marketing,fax,mkt,v1,web_form,2025-06-01T10:00:00Z,\n",  # channel not allowed
]


@pytest.fixture
def cli_env(vault: Vault, settings: Settings, acme: TenantKeys, monkeypatch: pytest.MonkeyPatch) -> Vault:
    assert settings.root_key is not None
    monkeypatch.setenv("DIALVAULT_HOME", str(settings.home))
    monkeypatch.setenv("DIALVAULT_KEY_PROVIDER", "env")
    monkeypatch.setenv("DIALVAULT_ROOT_KEY", settings.root_key.get_secret_value())
    if settings.database_url is None:
        monkeypatch.delenv("DIALVAULT_DATABASE_URL", raising=False)
    else:  # the PostgreSQL test store (--store=postgres)
        monkeypatch.setenv("DIALVAULT_DATABASE_URL", settings.database_url)
    with vault.database.write() as session:
        actor = Actor(acme.tenant_id, "test", "admin")
        register_notice(session, vault, actor, "mkt", "v1", "Notice text", vault.clock.now())
    return vault


def _events(vault: Vault) -> int:
    with vault.database.read() as session:
        return int(session.execute(select(func.count()).select_from(t.consent_events)).scalar_one())


def _rejects(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(r["line"], r["reason"]) for r in csv.DictReader(handle)]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    return path


def test_good_rows_load_and_bad_rows_go_to_the_reject_file_with_line_and_reason(cli_env: Vault, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", [GOOD[0], BAD[0], GOOD[1], BAD[1], BAD[2], GOOD[2], BAD[3]])
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(app, ["import", str(source), "--reject-file", str(rejects), "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert _events(cli_env) == 3
    assert _rejects(rejects) == [
        ("3", "invalid_phone_number"),
        ("5", "unknown_purpose"),
        ("6", "invalid_consented_at"),
        ("8", "channel_not_allowed"),
    ]
    assert "loaded 3" in result.output


def test_rows_of_the_wrong_width_keep_line_and_reason_under_their_headers(cli_env: Vault, tmp_path: Path) -> None:
    short, long = "+8613800138009,,marketing\n", GOOD[0].rstrip("\n") + ",extra,cells\n"
    source = _write(tmp_path / "in.csv", [short, long])
    rejects = tmp_path / "rejects.csv"
    assert CliRunner().invoke(app, ["import", str(source), "--reject-file", str(rejects)]).exit_code == 0
    assert _rejects(rejects) == [("2", "wrong_column_count"), ("3", "wrong_column_count")]
    with rejects.open(encoding="utf-8") as handle:
        assert list(csv.reader(handle))[2][-2:] == ["extra", "cells"]


def test_rerunning_the_same_file_adds_nothing(cli_env: Vault, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", GOOD)
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(source)]).exit_code == 0
    second = runner.invoke(app, ["import", str(source)])
    assert second.exit_code == 0
    assert _events(cli_env) == 3
    assert "duplicates skipped 3" in second.output


def test_imported_consent_events_store_no_key_of_their_row(cli_env: Vault, tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["import", str(_write(tmp_path / "in.csv", GOOD))]).exit_code == 0
    assert _stored_keys(cli_env) == {None}


def test_a_row_given_again_at_another_time_loads_as_a_renewal(cli_env: Vault, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(_write(tmp_path / "first.csv", GOOD[:1]))]).exit_code == 0
    later = GOOD[0].replace("2025-06-01T10:00:00+08:00", "2025-07-01T10:00:00+08:00")
    result = runner.invoke(app, ["import", str(_write(tmp_path / "later.csv", [later]))])
    assert "loaded 1 · duplicates skipped 0" in result.output
    with cli_env.database.read() as session:
        types = session.execute(select(t.consent_events.c.event_type).order_by(t.consent_events.c.id)).scalars()
        assert list(types) == ["given", "renewed"]


@pytest.mark.parametrize("batch_size", ["1", "20000"])
def test_a_row_repeated_in_a_file_loads_once(cli_env: Vault, tmp_path: Path, batch_size: str) -> None:
    source = _write(tmp_path / "in.csv", [GOOD[0], GOOD[2], GOOD[0], GOOD[2]])
    result = CliRunner().invoke(app, ["import", str(source), "--batch-size", batch_size])
    assert "loaded 2 · duplicates skipped 2" in result.output
    assert _events(cli_env) == 2


def test_a_row_with_another_expiry_than_the_recorded_grant_loads(cli_env: Vault, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(_write(tmp_path / "first.csv", GOOD[2:]))]).exit_code == 0
    extended = GOOD[2].replace("2099-01-01T00:00:00Z", "2099-06-01T00:00:00Z")
    result = runner.invoke(app, ["import", str(_write(tmp_path / "extended.csv", [extended]))])
    assert "loaded 1 · duplicates skipped 0" in result.output


def test_revision_0010_deletes_the_row_keys_and_a_file_loaded_before_it_is_still_skipped(
    cli_env: Vault, tmp_path: Path
) -> None:
    source = _write(tmp_path / "in.csv", GOOD)
    assert CliRunner().invoke(app, ["import", str(source)]).exit_code == 0
    command.downgrade(alembic_config(cli_env.database), "0009")
    with cli_env.database.write() as session:  # keys as revision 0009 stored them
        session.execute(t.consent_events.update().values(idempotency_key="import:" + t.consent_events.c.id))
    upgrade_schema(cli_env.database)
    assert _stored_keys(cli_env) == {None}
    again = CliRunner().invoke(app, ["import", str(source)])
    assert "loaded 0 · duplicates skipped 3" in again.output
    assert _events(cli_env) == 3


def _grants(first: int, count: int) -> list[str]:
    """`count` grants to distinct new numbers."""
    row = "+86139{:08d},,marketing,voice,mkt,v1,web_form,2025-06-01T10:00:00Z,\n"
    return [row.format(n) for n in range(first, first + count)]


def test_a_row_loaded_before_among_new_rows_is_skipped_and_the_rest_load_once(cli_env: Vault, tmp_path: Path) -> None:
    loaded = _grants(0, 40)
    runner = CliRunner()
    assert runner.invoke(app, ["import", str(_write(tmp_path / "first.csv", loaded))]).exit_code == 0
    mixed = [*_grants(100, 1), loaded[7], *_grants(101, 39)]
    result = runner.invoke(app, ["import", str(_write(tmp_path / "mixed.csv", mixed))])
    assert result.exit_code == 0, result.output
    assert "loaded 40 · duplicates skipped 1" in result.output
    assert _events(cli_env) == 80
    with cli_env.database.read() as session:
        per_contact = session.execute(
            select(func.count()).select_from(t.consent_events).group_by(t.consent_events.c.contact_id)
        ).scalars()
        assert set(per_contact) == {1}


def test_revision_0009_cuts_full_length_keys_to_their_first_128_bits(cli_env: Vault, tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["import", str(_write(tmp_path / "in.csv", GOOD[:1]))]).exit_code == 0
    config = alembic_config(cli_env.database)
    command.downgrade(config, "0008")
    full = "import:" + "ab" * 32
    with cli_env.database.write() as session:  # the key as revision 0008 stored it: all 256 bits
        session.execute(t.consent_events.update().values(idempotency_key=full))
    command.upgrade(config, "0009")
    assert _stored_keys(cli_env) == {full[: len("import:") + 32]}
    upgrade_schema(cli_env.database)


def test_revision_0007_removes_the_plain_hash_keys_of_rows_imported_before_it(cli_env: Vault, tmp_path: Path) -> None:
    assert CliRunner().invoke(app, ["import", str(_write(tmp_path / "in.csv", GOOD))]).exit_code == 0
    command.downgrade(alembic_config(cli_env.database), "0006")
    with cli_env.database.write() as session:
        session.execute(t.consent_events.update().values(idempotency_key="import:" + t.consent_events.c.id))
    command.upgrade(alembic_config(cli_env.database), "0007")
    assert _stored_keys(cli_env) == {None}
    upgrade_schema(cli_env.database)


def test_imported_consents_have_receipts_that_verify_and_carry_when_consent_was_given(
    cli_env: Vault, tmp_path: Path, client: TestClient, acme: TenantKeys
) -> None:
    assert CliRunner().invoke(app, ["import", str(_write(tmp_path / "in.csv", GOOD))]).exit_code == 0
    with cli_env.database.read() as session:
        receipt_ids = session.execute(select(t.consent_events.c.receipt_id)).scalars().all()
    jwks = client.get("/v1/.well-known/jwks.json").json()
    stamps = set()
    for receipt_id in receipt_ids:
        response = client.get(f"/v1/receipts/{receipt_id}", headers=acme.headers(Role.CAPTURE)).json()
        assert jws_verify(response["jws"], jwks) == response["receipt"]
        stamps.add(response["receipt"]["consentTimestamp"])
    assert int(datetime(2025, 6, 2, 10, tzinfo=UTC).timestamp()) in stamps


def test_a_crash_mid_import_leaves_only_whole_batches(cli_env: Vault, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", [GOOD[0], GOOD[1], GOOD[2], BAD[0]])
    unwritable = tmp_path / "no-such-dir" / "rejects.csv"
    result = CliRunner().invoke(app, ["import", str(source), "--reject-file", str(unwritable), "--batch-size", "2"])
    assert result.exit_code == 1
    assert _events(cli_env) == 2  # batch 1 committed; batch 2 failed writing its reject and rolled back whole
    again = CliRunner().invoke(
        app, ["import", str(source), "--reject-file", str(tmp_path / "r.csv"), "--batch-size", "2"]
    )
    assert again.exit_code == 0
    assert _events(cli_env) == 3


def test_a_batch_is_one_transaction_even_when_loaded_in_parts(
    cli_env: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("vault.cli._import._PART_ROWS", 2)
    source = _write(tmp_path / "in.csv", [GOOD[0], GOOD[1], GOOD[2], BAD[0]])
    unwritable = tmp_path / "no-such-dir" / "rejects.csv"
    result = CliRunner().invoke(app, ["import", str(source), "--reject-file", str(unwritable), "--batch-size", "4"])
    assert result.exit_code == 1
    assert _events(cli_env) == 0  # the first part was captured, the second failed: the batch rolled back whole
    again = CliRunner().invoke(app, ["import", str(source), "--reject-file", str(tmp_path / "r.csv")])
    assert again.exit_code == 0
    assert _events(cli_env) == 3
    assert "loaded 3" in again.output


def test_missing_columns_exit_2(cli_env: Vault, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("phone,purpose\n+8613800138001,marketing\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["import", str(source)])
    assert result.exit_code == 2
    assert "missing_columns" in result.output


def test_unreadable_file_exits_2(cli_env: Vault, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["import", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2


def test_the_import_never_prints_a_number(cli_env: Vault, tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", [GOOD[0], BAD[0]])
    result = CliRunner().invoke(app, ["import", str(source), "--reject-file", str(tmp_path / "r.csv")])
    assert "13800138001" not in result.output


def test_suppress_import_loads_a_dnc_list(cli_env: Vault, tmp_path: Path) -> None:
    source = tmp_path / "dnc.csv"
    source.write_text(
        "phone,region\n+8613800138001,\n13800138002,CN\nnot-a-number,\n+8613800138001,\n", encoding="utf-8"
    )
    rejects = tmp_path / "dnc-rejects.csv"
    result = CliRunner().invoke(app, ["suppress", "import", str(source), "--reject-file", str(rejects)])
    assert result.exit_code == 0, result.output
    with cli_env.database.read() as session:
        assert session.execute(select(func.count()).select_from(t.suppressions)).scalar_one() == 2
    assert _rejects(rejects) == [("4", "invalid_phone_number")]


def _stored_keys(vault: Vault) -> set[str | None]:
    with vault.database.read() as session:
        return set(session.execute(select(t.consent_events.c.idempotency_key)).scalars())


@pytest.fixture
def parsed_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file is large enough for the second process that parses numbers and keys ahead."""
    monkeypatch.setattr("vault.cli._import._AHEAD_MIN_BYTES", 0)


@pytest.mark.usefixtures("parsed_ahead")
def test_rows_parsed_ahead_in_a_second_process_load_and_reject_as_in_one(cli_env: Vault, tmp_path: Path) -> None:
    lines = [GOOD[0], "\n", BAD[0], "+8613800138009,,marketing\n", GOOD[1], BAD[1], BAD[2], GOOD[2], BAD[3]]
    source = _write(tmp_path / "in.csv", lines)
    rejects = tmp_path / "rejects.csv"
    result = CliRunner().invoke(app, ["import", str(source), "--reject-file", str(rejects), "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    assert "loaded 3" in result.output
    assert sorted(_rejects(rejects), key=lambda reject: int(reject[0])) == [
        ("4", "invalid_phone_number"),
        ("5", "wrong_column_count"),
        ("7", "unknown_purpose"),
        ("8", "invalid_consented_at"),
        ("10", "channel_not_allowed"),
    ]


def test_keys_parsed_ahead_match_the_keys_parsed_in_one_process(
    cli_env: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write(tmp_path / "in.csv", GOOD)
    assert CliRunner().invoke(app, ["import", str(source)]).exit_code == 0
    monkeypatch.setattr("vault.cli._import._AHEAD_MIN_BYTES", 0)
    again = CliRunner().invoke(app, ["import", str(source)])
    assert again.exit_code == 0
    assert "duplicates skipped 3" in again.output


@pytest.mark.usefixtures("parsed_ahead")
def test_the_identities_the_second_process_gives_are_the_ones_stored(
    cli_env: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def marked(keyring: TenantKeyring, header: Sequence[str]) -> Callable[[Sequence[Sequence[str]]], list[Any]]:
        identities = row_identities(keyring, header)

        def mark(identity: RowIdentity | None) -> RowIdentity | None:
            if identity is None:
                return None
            return identity._replace(parsed=identity.parsed._replace(language=f"ahead-{identity.e164[-4:]}"))

        return lambda rows: [mark(identity) for identity in identities(rows)]

    monkeypatch.setattr("vault.cli._import.row_identities", marked)
    assert CliRunner().invoke(app, ["import", str(_write(tmp_path / "in.csv", [GOOD[0]]))]).exit_code == 0
    with cli_env.database.read() as session:
        assert session.execute(select(t.consent_events.c.language)).scalar_one() == "ahead-8001"


@pytest.mark.usefixtures("parsed_ahead")
def test_rows_the_second_process_failed_on_are_parsed_by_the_loader(
    cli_env: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(
        keyring: TenantKeyring, header: Sequence[str]
    ) -> Callable[[Sequence[Sequence[str]]], list[RowIdentity]]:
        def identities(rows: Sequence[Sequence[str]]) -> list[Any]:
            raise RuntimeError(rows[0][0])

        return identities

    monkeypatch.setattr("vault.cli._import.row_identities", failing)
    source = _write(tmp_path / "in.csv", [*GOOD, BAD[0]])
    result = CliRunner().invoke(app, ["import", str(source), "--reject-file", str(tmp_path / "r.csv")])
    assert result.exit_code == 0, result.output
    assert "loaded 3" in result.output
    assert "13800138001" not in result.output
    assert _rejects(tmp_path / "r.csv") == [("5", "invalid_phone_number")]


def _import_with_identities(vault: Vault, tenant_id: str, lines: list[str]) -> list[RowIdentity]:
    header = HEADER.strip().split(",")
    cells = [line.strip().split(",") for line in lines]
    actor = Actor(tenant_id, "test", "import")
    with vault.database.write() as session:
        identities = row_identities(vault.keyrings.get(session, tenant_id), header)(cells)
        rows = [ImportRow(n, values, identity) for n, values, identity in zip([2, 3], cells, identities, strict=True)]
        import_batch(session, vault, actor, header, rows, vault.clock.now())
    assert all(identity is not None and identity.contact is not None for identity in identities)
    return [identity for identity in identities if identity is not None]


def test_new_numbers_get_the_contacts_sealed_ahead(cli_env: Vault, acme: TenantKeys) -> None:
    identities = _import_with_identities(cli_env, acme.tenant_id, GOOD[:2])
    with cli_env.database.read() as session:
        keyring = cli_env.keyrings.get(session, acme.tenant_id)
        stored = {row.id: row for row in session.execute(select(t.contacts))}
    for identity in identities:
        assert identity.contact is not None
        row = stored[identity.contact.contact_id]
        assert decrypt_number(keyring, row.id, row.wrapped_dek, row.phone_ct) == identity.e164


def test_a_known_number_keeps_its_contact_whatever_was_sealed_ahead(cli_env: Vault, acme: TenantKeys) -> None:
    actor = Actor(acme.tenant_id, "test", "admin")
    with cli_env.database.write() as session:
        known = register_contact(session, cli_env, actor, "+8613800138002", None, cli_env.clock.now())
    _import_with_identities(cli_env, acme.tenant_id, GOOD[:2])
    with cli_env.database.read() as session:
        assert session.execute(select(func.count()).select_from(t.contacts)).scalar_one() == 2
        owners = session.execute(select(t.consent_events.c.contact_id)).scalars().all()
    assert known.contact_id in owners


@pytest.mark.usefixtures("parsed_ahead")
def test_an_import_that_cannot_start_its_second_process_loads_alone(
    cli_env: Vault, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_fork(self: object) -> None:
        raise BlockingIOError("Resource temporarily unavailable")

    monkeypatch.setattr("multiprocessing.process.BaseProcess.start", no_fork)
    result = CliRunner().invoke(app, ["import", str(_write(tmp_path / "in.csv", GOOD))])
    assert result.exit_code == 0, result.output
    assert "loaded 3" in result.output
