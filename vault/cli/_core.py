"""init, keys create, serve, audit verify, db upgrade."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from ..errors import DialvaultError
from ..services import Role, Vault, initialize_vault, vault_exists
from ..services.audit import verify_ledger
from ..services.tenants import find_tenant, issue_api_key
from ..storage import Database, upgrade_schema
from ..storage import tables as t
from ._common import (
    DatabaseUrl,
    DataDir,
    InsecureDev,
    JsonFlag,
    TenantName,
    console,
    fail,
    open_from,
    print_json,
    settings_from,
)

__all__ = ["register"]

keys_app = typer.Typer(help="API keys and tenant keys", no_args_is_help=True)
audit_app = typer.Typer(help="the audit ledger", no_args_is_help=True)
db_app = typer.Typer(help="the database schema", no_args_is_help=True)


def _write_secret_file(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(content + "\n")
    os.chmod(path, 0o600)


def resolve_tenant_id(vault: Vault, name: str | None) -> str:
    with vault.database.read() as session:
        if name is not None:
            return find_tenant(session, name).id
        tenants = [str(i) for i in session.execute(select(t.tenants.c.id)).scalars()]
    if len(tenants) != 1:
        fail("tenant_required", "several tenants exist: name one with --tenant")
    return tenants[0]


def init(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    tenant: Annotated[str, typer.Option("--tenant", help="name of the first tenant")] = "default",
    json_output: JsonFlag = False,
    insecure_dev: InsecureDev = False,
    admin_key_file: Annotated[Path | None, typer.Option(help="write the admin key to this 0600 file")] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="do nothing if a vault exists")] = False,
) -> None:
    """Create the data dir, database, key file and first tenant with an admin key."""
    settings = settings_from(data_dir, database_url, insecure_dev)
    if if_missing and vault_exists(settings):
        if not json_output:
            console.print(f"vault already initialized in {settings.home}")
        return
    try:
        created = initialize_vault(settings, tenant)
    except DialvaultError as exc:
        fail(exc.code, exc.message)
    if admin_key_file is not None:
        _write_secret_file(admin_key_file, created.admin_key.secret)
    if json_output:
        out = {"tenant": created.tenant_name, "tenant_id": created.tenant_id}
        if admin_key_file is None:
            out["admin_key"] = created.admin_key.secret
        print_json(out)
    elif admin_key_file is not None:
        console.print(f"initialized vault in {settings.home}; tenant [bold]{created.tenant_name}[/]")
        console.print(f"the first admin key was written to {admin_key_file} (mode 0600)")
    else:
        console.print(f"initialized vault in {settings.home}; tenant [bold]{created.tenant_name}[/]")
        typer.echo(f"admin key (shown once): {created.admin_key.secret}")
    created.vault.database.dispose()


@keys_app.command("create")
def keys_create(
    role: Annotated[Role, typer.Option("--role", help="the key's only role")],
    tenant: TenantName = None,
    label: Annotated[str | None, typer.Option(help="a label for the key")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Issue a new API key (256-bit, stored only as a keyed digest)."""
    vault = open_from(settings_from(data_dir, database_url))
    tenant_id = resolve_tenant_id(vault, tenant)
    with vault.database.write() as session:
        issued = issue_api_key(session, vault, tenant_id, role, vault.clock.now(), actor="cli", label=label)
    if json_output:
        print_json({"key": issued.secret, "role": issued.role.value, "key_id": issued.key_id})
    else:
        typer.echo(issued.secret)


@audit_app.command("verify")
def audit_verify(
    tenant: TenantName = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    json_output: JsonFlag = False,
) -> None:
    """Exit 0 when every tenant's ledger is intact, 1 naming the first bad entry."""
    vault = open_from(settings_from(data_dir, database_url))
    with vault.database.read() as session:
        names = {tenant_id: name for tenant_id, name in session.execute(select(t.tenants.c.id, t.tenants.c.name))}
        ids = [resolve_tenant_id(vault, tenant)] if tenant else sorted(names)
        reports = {names[t]: verify_ledger(session, vault.keyrings.get(session, t)) for t in ids}
    if json_output:
        print_json({name: report.as_dict() for name, report in reports.items()})
    for name, report in reports.items():
        if not json_output:
            if report.ok:
                console.print(f"{name}: ok, {report.entries} entries")
            else:
                console.print(f"{name}: [bold red]BAD[/] at entry {report.first_bad}: {report.problem}")
    raise typer.Exit(0 if all(r.ok for r in reports.values()) else 1)


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Create or upgrade the schema with Alembic migrations."""
    settings = settings_from(data_dir, database_url)
    if settings.is_sqlite:
        settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    database = Database(settings.resolved_database_url)
    upgrade_schema(database)
    database.dispose()
    console.print("schema is current")


def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to bind")] = 8000,
    workers: Annotated[int, typer.Option(help="worker processes")] = 1,
    init_if_missing: Annotated[
        bool, typer.Option("--init-if-missing", help="initialize a vault first if there is none")
    ] = False,
) -> None:
    """Run the HTTP API."""
    settings = settings_from(data_dir, database_url)
    if init_if_missing and not vault_exists(settings):
        key_file = settings.home / "admin.key"
        init(data_dir=settings.home, database_url=database_url, admin_key_file=key_file)
    open_from(settings).database.dispose()  # fail fast, in this process, on bad settings or keys
    import uvicorn  # noqa: PLC0415 - here: every other command starts ~0.1 s sooner without it

    from ..api import HTTP_PROTOCOL  # noqa: PLC0415 - as uvicorn: the app's modules load in the server

    uvicorn.run(
        "vault.api:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
        proxy_headers=False,
        server_header=False,
        http=HTTP_PROTOCOL,
    )


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.command()(serve)
    app.add_typer(keys_app, name="keys")
    app.add_typer(audit_app, name="audit")
    app.add_typer(db_app, name="db")
