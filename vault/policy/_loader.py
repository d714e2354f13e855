"""Reading policy files from a directory."""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._errors import PolicyFileError, validate
from ._model import PolicyFile
from ._policyset import LoadedFile, PolicySet

__all__ = ["load_policy_set"]


def _load_file(path: Path, name: str) -> LoadedFile:
    label = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyFileError(label, f"cannot read: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyFileError(label, f"not UTF-8 (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = None
        marker = " (at line "
        if marker in str(exc):
            try:
                line = int(str(exc).split(marker, 1)[1].split(",", 1)[0])
            except ValueError:
                line = None
        raise PolicyFileError(label, f"invalid TOML: {exc}", None, line) from None
    model = validate(PolicyFile, data, label, text)
    return LoadedFile(name, hashlib.sha256(raw).hexdigest(), model)


def load_policy_set(directory: Path, tenant_overrides: Mapping[str, Any] | None = None) -> PolicySet:
    """Read and validate every `*.toml` under `directory` (recursively), then apply `tenant_overrides`."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyFileError(str(directory), "not a directory")
    files = [_load_file(path, path.relative_to(directory).as_posix()) for path in sorted(directory.rglob("*.toml"))]
    if not files:
        raise PolicyFileError(str(directory), "no *.toml policy files")
    policy = PolicySet(files)
    return policy.with_overrides(tenant_overrides) if tenant_overrides else policy
