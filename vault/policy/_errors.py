"""Errors of the policy package, and turning pydantic validation errors into file/field/line messages."""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

__all__ = ["NoApplicableRule", "PolicyFileError", "UnknownPurpose", "validate"]

M = TypeVar("M", bound=BaseModel)


class PolicyFileError(ValueError):
    """A policy file (or a tenant's overrides) is unreadable or invalid. The message names the file,
    the field path, the line where it could be found, and the reason."""

    def __init__(self, file: str, reason: str, field: str | None = None, line: int | None = None) -> None:
        self.file, self.field, self.line, self.reason = file, field, line, reason
        where = file
        if field:
            where += f": {field}"
        if line is not None:
            where += f" (line {line})"
        super().__init__(f"{where}: {reason}")


class UnknownPurpose(LookupError):
    """The purpose is not defined by the policy set."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"unknown purpose {name!r}")


class NoApplicableRule(LookupError):
    """No rule of the asked kind applies (the shipped default file normally prevents this)."""


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _locate(text: str, loc: tuple[int | str, ...]) -> int | None:
    """Best-effort 1-based line of the value at `loc` in TOML `text` (array-of-tables headers, tables, keys)."""
    lines = text.splitlines()
    pos, i, found_any = 0, 0, False
    while i < len(loc):
        key = loc[i]
        if isinstance(key, int):
            i += 1
            continue
        name = re.escape(key)
        nxt = loc[i + 1] if i + 1 < len(loc) else None
        if isinstance(nxt, int):
            header = re.compile(rf"^\s*\[\[\s*(?:[\w\"'-]+\.)*{name}\s*\]\]")
            headers = [n for n in range(pos, len(lines)) if header.match(lines[n])]
            if len(headers) > nxt:
                pos, i, found_any = headers[nxt], i + 2, True
                continue
        pattern = re.compile(rf"^\s*(?:\[\s*(?:[\w\"'-]+\.)*[\"']?{name}[\"']?\s*\]|[\"']?{name}[\"']?\s*=)")
        for n in range(pos, len(lines)):
            if pattern.match(lines[n]):
                pos, found_any = n, True
                break
        else:
            break
        i += 1
    return pos + 1 if found_any else None


def validate(model: type[M], data: Any, file: str, text: str | None = None) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        field = _field_path(loc) or None
        line = _locate(text, loc) if text is not None and loc else None
        reason = first["msg"]
        if first["type"] == "extra_forbidden":
            reason = "unknown field"
        elif first["type"] == "missing":
            reason = "required field is missing" + (" (every rule cites its source)" if loc[-1] == "source" else "")
        more = len(exc.errors()) - 1
        if more:
            reason += f" (and {more} more error{'s' if more > 1 else ''})"
        raise PolicyFileError(file, reason, field, line) from None
