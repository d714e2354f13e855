"""A vault whose key provider is a real OpenBao dev server (Transit), on the session's test store."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from tests import servers
from vault.config import Settings


@pytest.fixture(scope="session")
def openbao_server() -> Iterator[servers.OpenBaoServer]:
    yield from servers.openbao_fixture()


@pytest.fixture
def settings(settings: Settings, openbao_server: servers.OpenBaoServer) -> Settings:
    """The store-aware base settings, with OpenBao as key provider and no keyring cache.

    Each test gets its own transit key. A keyring TTL of 0 makes every request unwrap its tenant
    keys through OpenBao, so an outage shows at once instead of after the 60 s cache.
    """
    return settings.model_copy(
        update={
            "key_provider": "openbao",
            "root_key": None,
            "openbao_addr": openbao_server.addr,
            "openbao_token": SecretStr(openbao_server.token),
            "openbao_key": f"dialvault-{secrets.token_hex(4)}",
            "openbao_timeout": 1.0,
            "keyring_ttl_seconds": 0.0,
        }
    )
