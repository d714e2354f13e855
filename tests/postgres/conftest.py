"""Tests of PostgreSQL specifics: they always run on PostgreSQL, whatever `--store` says."""

from __future__ import annotations

from pathlib import Path

import pytest

from vault.config import Settings
from vault.services.bootstrap import new_env_root_key


@pytest.fixture
def settings(postgres_database: str, tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "vault", database_url=postgres_database, key_provider="env", root_key=new_env_root_key()
    )
