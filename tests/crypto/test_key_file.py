"""The local key file: argon2id from a passphrase wraps the root KEK."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vault.crypto import Argon2Params, KeyFileError, LocalKeyFileProvider, create_key_file

FAST = Argon2Params(time_cost=1, memory_cost=8192, parallelism=1)
PASSPHRASE = "correct horse battery staple"


def test_key_file_opens_with_its_passphrase_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "keyfile.json"
    create_key_file(path, PASSPHRASE, FAST)
    provider = LocalKeyFileProvider(path, PASSPHRASE)
    assert provider.unwrap(provider.wrap(b"tenant key", context="c"), context="c") == b"tenant key"


def test_key_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keyfile.json"
    create_key_file(path, PASSPHRASE, FAST)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_wrong_passphrase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyfile.json"
    create_key_file(path, PASSPHRASE, FAST)
    with pytest.raises(KeyFileError):
        LocalKeyFileProvider(path, "another long passphrase")


def test_existing_key_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keyfile.json"
    create_key_file(path, PASSPHRASE, FAST)
    with pytest.raises(KeyFileError):
        create_key_file(path, PASSPHRASE, FAST)


def test_malformed_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyfile.json"
    path.write_text("{not json")
    with pytest.raises(KeyFileError):
        LocalKeyFileProvider(path, PASSPHRASE)


def test_key_file_holds_no_raw_key_material_in_the_clear(tmp_path: Path) -> None:
    path = tmp_path / "keyfile.json"
    create_key_file(path, PASSPHRASE, FAST)
    assert "argon2id" in path.read_text() and PASSPHRASE not in path.read_text()
