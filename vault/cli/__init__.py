"""The `dialvault` command line."""

from __future__ import annotations

import gc
import os

import typer

from . import _core, _import, _privacy

__all__ = ["app", "main"]

app = typer.Typer(
    name="dialvault",
    help="Consent and PII vault for outbound calling.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
_core.register(app)
_import.register(app)
_privacy.register(app)


def main() -> None:
    os.umask(0o077)  # everything the vault writes (database, WAL, key and reject files) is owner-only
    try:
        app()
    finally:
        # The process is ending (a database's connections close at exit whatever is collected): the
        # interpreter's last garbage collection, a walk over every object left (~0.25 s after an import), would
        # only delay it.
        gc.freeze()
