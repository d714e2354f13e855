"""purge, restore, keys rotate, keys rewrap."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from ..errors import DialvaultError
from ..services import Vault, open_vault
from ..services.requests import JournalEntry, checkpoint_store, read_journal, reapply_journal
from ..services.retention import purge_expired
from ..services.rotation import (
    RewrapBatch,
    retire_unused_wrap_versions,
    rewrap_batch,
    rewrap_pending,
    rotate_key,
)
from ..storage import tables as t
from ._common import DatabaseUrl, DataDir, JsonFlag, TenantName, console, fail, open_from, print_json, settings_from
from ._core import keys_app, resolve_tenant_id

__all__ = ["register", "rewrap_in_batches"]

CLI_ACTOR = "cli:privacy"
CONTACT_DEK_WRAP = "contact_dek_wrap"


def _tenant_ids(vault: Vault, name: str | None) -> list[str]:
    if name is not None:
        return [resolve_tenant_id(vault, name)]
    with vault.database.read() as session:
        return sorted(str(i) for i in session.execute(select(t.tenants.c.id)).scalars())


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print counts per kind without deleting")] = False,
    tenant: Annotated[str | None, typer.Option("--tenant", help="tenant name (default: every tenant)")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Remove what is past its retention under each tenant's policy (audited, counts only)."""
    vault = open_from(settings_from(data_dir, database_url))
    report: dict[str, dict[str, int]] = {}
    try:
        for tenant_id in _tenant_ids(vault, tenant):
            with vault.database.write() as session:
                report[tenant_id] = purge_expired(
                    session, vault, CLI_ACTOR, tenant_id, vault.clock.now(), dry_run=dry_run
                )
        if not dry_run:
            checkpoint_store(vault.database)
    except DialvaultError as exc:
        fail(exc.code, exc.message)
    finally:
        vault.database.dispose()
    if json_output:
        print_json({"dry_run": dry_run, "tenants": report})
        return
    verb = "would remove" if dry_run else "removed"
    for tenant_id, counts in report.items():
        console.print(f"{tenant_id}: {verb} " + ", ".join(f"{kind}={n}" for kind, n in counts.items()))


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's backup API (the source may itself be in WAL mode)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def restore(
    from_backup: Annotated[Path, typer.Option("--from-backup", help="a SQLite backup of vault.db")],
    data_dir: DataDir = None,
    json_output: JsonFlag = False,
) -> None:
    """Put a backup in place, then erase again everyone erased since it was taken (from the live journal)."""
    settings = settings_from(data_dir, None)
    if not settings.is_sqlite or settings.database_url is not None:
        fail("unsupported_store", "restore handles the embedded SQLite store; restore other stores with their tools")
    if not from_backup.is_file():
        fail("backup_not_found", "the backup file does not exist")
    target = settings.home / "vault.db"
    journal: list[JournalEntry] = []
    if target.exists():
        live = open_from(settings)
        with live.database.read() as session:
            journal = read_journal(session)  # kept aside in memory: blind indexes and ids only
        live.database.dispose()
    staging = target.with_name("vault.db.restoring")
    staging.unlink(missing_ok=True)
    _copy_sqlite(from_backup, staging)
    staging.chmod(0o600)
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    shutil.move(staging, target)
    try:
        vault = open_vault(settings, migrate=True)
    except DialvaultError as exc:
        fail(exc.code, exc.message)
    try:
        with vault.database.write() as session:
            counts = reapply_journal(session, vault, journal, vault.clock.now())
        checkpoint_store(vault.database)
    except DialvaultError as exc:
        fail(exc.code, exc.message)
    finally:
        vault.database.dispose()
    if json_output:
        print_json(counts)
    else:
        console.print(
            f"restored; {counts['reapplied']} erasures re-applied from the journal "
            f"({counts['re_erased']} contacts erased again)"
        )


@keys_app.command("rotate")
def keys_rotate(
    family: Annotated[
        str, typer.Option("--family", help="contact_dek_wrap, audit_mac, handle_digest or receipt_signing")
    ] = CONTACT_DEK_WRAP,
    tenant: TenantName = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Add a new version of a tenant key family; the newest version encrypts from now on."""
    vault = open_from(settings_from(data_dir, database_url))
    tenant_id = resolve_tenant_id(vault, tenant)
    try:
        with vault.database.write() as session:
            version = rotate_key(session, vault, CLI_ACTOR, tenant_id, family, vault.clock.now())
    except DialvaultError as exc:
        fail(exc.code, exc.message)
    finally:
        vault.keyrings.forget(tenant_id)
        vault.database.dispose()
    if json_output:
        print_json({"tenant_id": tenant_id, "family": family, "version": version})
    else:
        console.print(f"{family}: version {version} is now current")
        if family == CONTACT_DEK_WRAP:
            console.print("run `dialvault keys rewrap` to move existing contacts to it")
        if family == "handle_digest":
            console.print("[yellow]dial handles issued before this rotation no longer redeem[/]")


def rewrap_in_batches(
    vault: Vault,
    tenant_id: str,
    batch_size: int,
    on_batch: Callable[[RewrapBatch], None] | None = None,
) -> int:
    """Rewrap until nothing is left, one transaction per batch; an interruption loses nothing."""
    done = 0
    after: bytes | None = None
    while True:
        with vault.database.write() as session:
            batch = rewrap_batch(session, vault, CLI_ACTOR, tenant_id, batch_size, vault.clock.now(), after=after)
        done += batch.rewrapped
        if on_batch is not None:
            on_batch(batch)
        if batch.rewrapped < batch_size:
            return done
        after = batch.resume_after


@keys_app.command("rewrap")
def keys_rewrap(
    tenant: TenantName = None,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, max=100_000, help="contacts per transaction")
    ] = 1000,
    retire_old: Annotated[bool, typer.Option("--retire-old", help="retire wrap versions no contact uses")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Re-encrypt every wrapped contact DEK under the newest wrap key, in resumable batches."""
    vault = open_from(settings_from(data_dir, database_url))
    tenant_id = resolve_tenant_id(vault, tenant)
    retired: list[int] = []
    try:
        with vault.database.read() as session:
            pending = rewrap_pending(session, tenant_id)
        with Progress(
            TextColumn("rewrap"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
            console=console, disable=json_output,
        ) as progress:  # fmt: skip
            task = progress.add_task("rewrap", total=pending)
            done = rewrap_in_batches(vault, tenant_id, batch_size, lambda b: progress.advance(task, b.rewrapped))
        if retire_old:
            with vault.database.write() as session:
                retired = retire_unused_wrap_versions(session, vault, CLI_ACTOR, tenant_id, vault.clock.now())
            vault.keyrings.forget(tenant_id)
    except DialvaultError as exc:
        fail(exc.code, exc.message)
    finally:
        vault.database.dispose()
    if json_output:
        print_json({"tenant_id": tenant_id, "rewrapped": done, "retired_versions": retired})
    else:
        console.print(f"rewrapped {done} contact keys" + (f"; retired versions {retired}" if retired else ""))


def register(app: typer.Typer) -> None:
    app.command()(purge)
    app.command()(restore)
