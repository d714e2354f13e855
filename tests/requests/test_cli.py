"""dialvault restore, purge, keys rotate and keys rewrap, through the command line."""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.conftest import TenantKeys
from tests.requests.conftest import PHONE, give_consent, run
from vault.cli import app
from vault.config import Settings
from vault.services import Vault, open_vault
from vault.services.audit import verify_ledger
from vault.storage import tables as t


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line in-process (a subprocess per call costs seconds of imports), env restored after."""
    for name in [k for k in os.environ if k.startswith("DIALVAULT_")]:
        monkeypatch.delenv(name)
    assert settings.root_key is not None
    monkeypatch.setenv("DIALVAULT_KEY_PROVIDER", "env")
    monkeypatch.setenv("DIALVAULT_ROOT_KEY", settings.root_key.get_secret_value())
    monkeypatch.setenv("DIALVAULT_HOME", str(settings.home))
    if settings.database_url is not None:  # the PostgreSQL test store (--store=postgres)
        monkeypatch.setenv("DIALVAULT_DATABASE_URL", settings.database_url)


@dataclass
class Outcome:
    returncode: int
    stdout: str
    stderr: str


def _cli(settings: Settings, *args: str) -> Outcome:
    del settings  # the cli_env fixture points the command line at the test vault
    result = CliRunner().invoke(app, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr)


def _backup(vault: Vault, target: Path) -> None:
    source = sqlite3.connect(Path(vault.settings.home) / "vault.db")
    dest = sqlite3.connect(target)
    source.backup(dest)
    dest.close()
    source.close()


@pytest.mark.sqlite_only("`dialvault restore` restores a vault.db backup file")
@pytest.mark.usefixtures("cli_env")
def test_restore_re_erases_contacts_erased_after_the_backup(
    client: TestClient, acme: TenantKeys, vault: Vault, settings: Settings, tmp_path: Path
) -> None:
    contact_id = give_consent(client, acme)["contact_id"]
    backup = tmp_path / "backup.db"
    _backup(vault, backup)
    run(client, acme, "erasure")
    vault.database.dispose()

    result = _cli(settings, "restore", "--from-backup", str(backup), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["re_erased"] == 1

    restored = open_vault(settings)
    try:
        with restored.database.read() as session:
            assert session.execute(select(t.contacts.c.id).where(t.contacts.c.id == contact_id)).first() is None
            keyring = restored.keyrings.get(session, acme.tenant_id)
            journal = session.execute(select(func.count()).select_from(t.erasure_journal)).scalar_one()
            suppressed = session.execute(
                select(t.suppressions.c.reason).where(t.suppressions.c.blind_index == keyring.blind_index(PHONE))
            ).scalar_one()
            assert verify_ledger(session, keyring).ok
        assert journal == 1 and suppressed == "erasure"
    finally:
        restored.database.dispose()


@pytest.mark.sqlite_only("`dialvault restore` restores a vault.db backup file")
@pytest.mark.usefixtures("cli_env")
def test_restore_leaves_erasures_older_than_the_backup_alone(
    client: TestClient, acme: TenantKeys, vault: Vault, settings: Settings, tmp_path: Path
) -> None:
    give_consent(client, acme)
    run(client, acme, "erasure")
    again = give_consent(client, acme)["contact_id"]  # the person came back after the erasure
    backup = tmp_path / "backup.db"
    _backup(vault, backup)
    vault.database.dispose()
    result = _cli(settings, "restore", "--from-backup", str(backup), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["re_erased"] == 0
    restored = open_vault(settings)
    with restored.database.read() as session:
        assert session.execute(select(t.contacts.c.id).where(t.contacts.c.id == again)).first() is not None
    restored.database.dispose()


@pytest.mark.usefixtures("cli_env")
def test_purge_dry_run_prints_counts_per_kind(acme: TenantKeys, vault: Vault, settings: Settings) -> None:
    vault.database.dispose()
    result = _cli(settings, "purge", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["dry_run"] is True
    assert set(out["tenants"][acme.tenant_id]) == {
        "call_attempt", "consent_evidence", "complaint", "dsr_record", "dial_handle", "erased_handle"
    }  # fmt: skip


@pytest.mark.usefixtures("cli_env")
def test_keys_rotate_and_rewrap_from_the_command_line(
    client: TestClient, acme: TenantKeys, vault: Vault, settings: Settings
) -> None:
    give_consent(client, acme)
    vault.database.dispose()
    rotated = _cli(settings, "keys", "rotate", "--family", "contact_dek_wrap", "--json")
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["version"] == 2
    rewrapped = _cli(settings, "keys", "rewrap", "--batch-size", "1", "--retire-old", "--json")
    assert rewrapped.returncode == 0, rewrapped.stderr
    assert json.loads(rewrapped.stdout) == {"tenant_id": acme.tenant_id, "rewrapped": 1, "retired_versions": [1]}


@pytest.mark.usefixtures("cli_env")
def test_keys_rotate_refuses_the_blind_index(acme: TenantKeys, vault: Vault, settings: Settings) -> None:
    vault.database.dispose()
    result = _cli(settings, "keys", "rotate", "--family", "blind_index")
    assert result.returncode != 0 and "key_not_rotatable" in result.stderr
