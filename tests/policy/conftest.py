from __future__ import annotations

import pytest

from vault.policy import PolicySet, load_policy_set

from .helpers import SHIPPED


@pytest.fixture(scope="session")
def shipped() -> PolicySet:
    return load_policy_set(SHIPPED)
