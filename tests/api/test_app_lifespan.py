"""What the application sets up for the time it serves, and gives back when it stops."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from vault.api import create_app
from vault.services import Vault


def test_the_young_generation_is_collected_less_often_while_serving_and_as_before_after(vault: Vault) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(vault)):
        serving = gc.get_threshold()
    assert serving[0] > before[0]
    assert serving[1:] == before[1:]
    assert gc.get_threshold() == before
