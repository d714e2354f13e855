"""The command line: init, keys create, audit verify, db upgrade."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

PASSPHRASE = "correct horse battery staple"


def run(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIALVAULT_")}
    env["DIALVAULT_PASSPHRASE"] = PASSPHRASE
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "vault.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "vault"
    result = run("init", "--data-dir", str(path), "--tenant", "acme", "--json")
    assert result.returncode == 0, result.stderr
    return path


def test_init_prints_tenant_and_admin_key_as_json(tmp_path: Path) -> None:
    result = run("init", "--data-dir", str(tmp_path / "v"), "--tenant", "acme", "--json")
    out = json.loads(result.stdout)
    assert out["tenant"] == "acme" and out["admin_key"].startswith("dvk_")


def test_init_writes_owner_only_files(data_dir: Path) -> None:
    for name in ("keyfile.json", "vault.db"):
        assert stat.S_IMODE((data_dir / name).stat().st_mode) == 0o600


def test_init_refuses_to_overwrite_an_existing_vault(data_dir: Path) -> None:
    result = run("init", "--data-dir", str(data_dir), "--json")
    assert result.returncode != 0
    assert "vault_exists" in result.stderr


def test_init_refuses_an_empty_passphrase(tmp_path: Path) -> None:
    result = run("init", "--data-dir", str(tmp_path / "v"), env_extra={"DIALVAULT_PASSPHRASE": ""})
    assert result.returncode != 0
    assert "passphrase" in result.stderr.lower()


def test_init_accepts_an_empty_passphrase_in_insecure_dev_mode(tmp_path: Path) -> None:
    result = run(
        "init",
        "--data-dir",
        str(tmp_path / "v"),
        "--insecure-dev",
        "--json",
        env_extra={"DIALVAULT_PASSPHRASE": ""},
    )
    assert result.returncode == 0, result.stderr


def test_placeholder_passphrase_is_refused(tmp_path: Path) -> None:
    result = run("init", "--data-dir", str(tmp_path / "v"), env_extra={"DIALVAULT_PASSPHRASE": "changeme-changeme"})
    assert result.returncode != 0


def test_init_can_write_the_admin_key_to_a_private_file(tmp_path: Path) -> None:
    key_file = tmp_path / "admin.key"
    result = run("init", "--data-dir", str(tmp_path / "v"), "--admin-key-file", str(key_file))
    assert result.returncode == 0, result.stderr
    assert key_file.read_text().startswith("dvk_")
    assert "dvk_" not in result.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_keys_create_prints_key_and_role(data_dir: Path) -> None:
    result = run("keys", "create", "--role", "gateway", "--data-dir", str(data_dir), "--json")
    out = json.loads(result.stdout)
    assert out["role"] == "gateway" and out["key"].startswith("dvk_")


def test_a_command_closes_the_database_it_wrote_to_before_the_process_ends(data_dir: Path) -> None:
    assert run("keys", "create", "--role", "dialer", "--data-dir", str(data_dir)).returncode == 0
    # SQLite removes the WAL when its last connection closes, after copying it into the database.
    assert not list(data_dir.glob("*-wal"))


def test_audit_verify_exits_zero_on_an_intact_ledger(data_dir: Path) -> None:
    assert run("audit", "verify", "--data-dir", str(data_dir)).returncode == 0


def test_audit_verify_exits_one_naming_the_bad_entry(tmp_path: Path) -> None:
    path = tmp_path / "v"
    run("init", "--data-dir", str(path))
    with sqlite3.connect(path / "vault.db") as db:
        db.execute("UPDATE audit_entries SET action = 'forged' WHERE seq = 1")
    result = run("audit", "verify", "--data-dir", str(path))
    assert result.returncode == 1
    assert "entry 1" in result.stdout


def test_db_upgrade_is_idempotent(data_dir: Path) -> None:
    assert run("db", "upgrade", "--data-dir", str(data_dir)).returncode == 0
