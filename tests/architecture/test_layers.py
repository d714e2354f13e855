"""Imports point one way, as DESIGN.md says: api/cli → services → policy, crypto, storage."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "vault"

# What each layer may import from the project (besides itself).
ALLOWED: dict[str, set[str]] = {
    "crypto": set(),
    "policy": set(),
    "storage": set(),
    "services": {"crypto", "policy", "storage", "config", "errors", "clock"},
    "api": {"services", "config", "errors", "clock", "storage"},
    "cli": {"services", "api", "config", "errors", "clock", "storage"},
    "config": {"errors"},
    "errors": set(),
    "clock": set(),
    "migrations": {"storage"},
}


def _layer_of(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    return parts[0].removesuffix(".py")


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    layers: set[str] = set()
    package_depth = len(path.relative_to(ROOT).parts) - 1
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and node.module.startswith("vault."):
                layers.add(node.module.split(".")[1])
            elif node.level > package_depth and node.module:
                layers.add(node.module.split(".")[0])
            elif node.level > package_depth:
                layers.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            layers.update(a.name.split(".")[1] for a in node.names if a.name.startswith("vault."))
    return layers


MODULES = sorted(p for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    layer = _layer_of(path)
    forbidden = _imported_layers(path) - ALLOWED.get(layer, set()) - {layer}
    assert not forbidden, f"{path.relative_to(ROOT)} ({layer}) imports {sorted(forbidden)}"


def test_every_layer_is_known() -> None:
    assert {_layer_of(p) for p in MODULES} <= set(ALLOWED)
