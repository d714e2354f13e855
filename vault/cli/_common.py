"""Shared CLI plumbing: settings from options, opening the vault, printing, admin actor."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from ..config import Settings
from ..errors import DialvaultError
from ..services import Vault, open_vault

__all__ = [
    "DataDir",
    "DatabaseUrl",
    "InsecureDev",
    "JsonFlag",
    "TenantName",
    "console",
    "err_console",
    "fail",
    "open_from",
    "print_json",
    "settings_from",
]

console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="data directory (default $DIALVAULT_HOME or ./.dialvault)")
]
DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="SQLAlchemy URL of the store")]
InsecureDev = Annotated[bool, typer.Option("--insecure-dev", help="allow empty/weak secrets (development only)")]
JsonFlag = Annotated[bool, typer.Option("--json", help="print machine-readable JSON")]
TenantName = Annotated[str | None, typer.Option("--tenant", help="tenant name (default: the only tenant)")]


def settings_from(data_dir: Path | None, database_url: str | None, insecure_dev: bool = False) -> Settings:
    """Settings from the environment, with command-line options taking precedence.

    The options are also exported to the environment so that server worker processes see them.
    """
    if data_dir is not None:
        os.environ["DIALVAULT_HOME"] = str(data_dir)
    if database_url is not None:
        os.environ["DIALVAULT_DATABASE_URL"] = database_url
    if insecure_dev:
        os.environ["DIALVAULT_INSECURE_DEV"] = "true"
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        fail("configuration_error", str(first.get("msg", "invalid settings")).removeprefix("Value error, "))


def open_from(settings: Settings) -> Vault:
    try:
        return open_vault(settings)
    except DialvaultError as exc:
        fail(exc.code, exc.message)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False))


def fail(code: str, message: str, exit_code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error[/] {escape(f'[{code}]')} {escape(message)}", highlight=False)
    raise typer.Exit(exit_code)
