"""``vibn backup now|list|restore``: a stack database's Coolify backups by hand.

The stack's records say which Coolify objects are meant: ``database.{DB}`` is the
database (its provider id the Coolify uuid), ``database.{DB}.backup`` its schedule, and
the schedule's ``s3_storage_uuid`` names the recorded ``coolify.s3_storage`` whose HMAC key
a restore signs its download with (Coolify never gives that key back). Restoring
replaces the database's data, so it wants ``--confirm STACK`` like ``destroy`` does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Annotated

import typer

from vibn.cli.base import JsonOpt, WorkspaceOpt, app, err, errors_reported, fail, out, print_json
from vibn.providers.coolify import CoolifyClient
from vibn.providers.coolify.backup_ops import (
    BackupExecution,
    Placement,
    S3Target,
    job_server,
    list_backups,
    restore,
    run_now,
    wait_finished,
)
from vibn.specs.values import Sensitive
from vibn.state import RecordedResource
from vibn.wiring import Context, coolify_client, open_context

backup_app = typer.Typer(
    help="A stack database's backups: take one now, list them, restore one.",
    no_args_is_help=True,
)
app.add_typer(backup_app, name="backup")

StackArg = Annotated[str, typer.Argument(metavar="STACK", help="Name of the stack.")]
DbArg = Annotated[str, typer.Argument(metavar="DB", help="The database's name in the stack.")]


@dataclass(frozen=True)
class Target:
    """What the stack's records say about one of its databases."""

    stack: str
    name: str
    database: RecordedResource
    schedule: RecordedResource
    storage: RecordedResource | None

    @property
    def database_uuid(self) -> str:
        return str(self.database.provider_id)

    @property
    def schedule_uuid(self) -> str:
        return str(self.schedule.provider_id)


def _target(ctx: Context, workspace: str, stack: str, db: str) -> Target:
    if ctx.store.get_stack(workspace, stack) is None:
        fail(f"no stack {workspace}/{stack} in the state store")
    records = {r.address: r for r in ctx.store.resources(workspace, stack)}
    database = records.get(f"database.{db}")
    if database is None or database.kind != "coolify.database" or not database.provider_id:
        names = sorted(
            a.removeprefix("database.") for a, r in records.items() if r.kind == "coolify.database"
        )
        have = ", ".join(names) if names else "none"
        fail(f"stack {stack} has no database {db!r} (its databases: {have})")
    schedule = records.get(f"database.{db}.backup")
    if schedule is None or schedule.kind != "coolify.backup" or not schedule.provider_id:
        fail(
            f"database {db} of stack {stack} has no backup schedule "
            "(Coolify cannot back up its engine, or its backups are disabled)"
        )
    wanted = schedule.props.get("s3_storage_uuid")
    storage = next(
        (r for r in records.values() if r.kind == "coolify.s3_storage" and r.provider_id == wanted),
        None,
    )
    return Target(stack, db, database, schedule, storage if wanted else None)


@contextmanager
def _session(
    workspace: str, stack: str, db: str
) -> Iterator[tuple[Context, Target, CoolifyClient]]:
    """The state store, the database's records and a Coolify client, for one command."""
    with errors_reported(), open_context(need_providers=False) as ctx:
        target = _target(ctx, workspace, stack, db)
        with closing(coolify_client(ctx.settings)) as client:
            yield ctx, target, client


def _describe(e: BackupExecution) -> str:
    """One line per backup: whole uuids and paths, never wrapped into a table's cells."""
    where = {True: "in the bucket", False: "not in the bucket", None: "local only"}
    return f"{e.uuid}  {e.status}  {e.size} bytes  {where[e.s3_uploaded]}  {e.filename or '-'}"


@backup_app.command("now")
def now(
    stack: StackArg,
    db: DbArg,
    workspace: WorkspaceOpt = "default",
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the run has finished.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Take a backup of the database now (on its schedule's settings)."""
    with _session(workspace, stack, db) as (_, target, client):
        execution = run_now(client, target.database_uuid, target.schedule_uuid)
        if wait:
            execution = wait_finished(
                client, target.database_uuid, target.schedule_uuid, execution.uuid
            )
        if as_json:
            print_json(execution.to_json())
        else:
            err.print(f"Backup of {stack}/{db} {execution.status}: {execution.uuid}")
            out.print(_describe(execution), markup=False)
        if execution.status == "failed":
            fail(f"backup {execution.uuid} failed: {execution.message or 'see Coolify'}")


@backup_app.command("list")
def list_(
    stack: StackArg,
    db: DbArg,
    workspace: WorkspaceOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """The database's backups, newest first."""
    with _session(workspace, stack, db) as (_, target, client):
        executions = list_backups(client, target.database_uuid, target.schedule_uuid)
        if as_json:
            print_json([e.to_json() for e in executions])
            return
        if not executions:
            err.print(
                f"No backups of {stack}/{db} yet; take one with: vibn backup now {stack} {db}"
            )
            return
        for e in executions:
            out.print(f"{e.created_at or '-'}  {_describe(e)}", markup=False)


@backup_app.command("restore")
def restore_(
    stack: StackArg,
    db: DbArg,
    backup: Annotated[str, typer.Argument(metavar="BACKUP", help="The backup's uuid.")],
    confirm: Annotated[
        str | None, typer.Option("--confirm", help="Repeat the stack's name to restore.")
    ] = None,
    workspace: WorkspaceOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Replace the database's data with a backup (asks for --confirm STACK)."""
    with errors_reported():
        if confirm != stack:
            fail(
                f"restoring replaces the data of database {db} of stack {stack}; "
                f"confirm with --confirm {stack}"
            )
    with _session(workspace, stack, db) as (ctx, target, client):
        s3 = _s3_target(target)
        placement = Placement(
            project_uuid=str(target.database.props.get("project_uuid")),
            environment_name=str(target.database.props.get("environment_name") or "production"),
            server_uuid=_server(ctx, client),
        )
        if not as_json:
            err.print(f"Restoring {stack}/{db} from backup {backup} (this replaces its data)...")
        result = restore(
            client,
            target.database_uuid,
            target.schedule_uuid,
            backup,
            target=s3,
            placement=placement,
        )
        if as_json:
            print_json(result.to_json())
        else:
            err.print(f"[green]Restored[/] {stack}/{db} from backup {backup}.")


def _s3_target(target: Target) -> S3Target:
    """The recorded bucket and HMAC key of the database's backups."""
    storage = target.storage
    if storage is None:
        fail(
            f"the backups of {target.stack}/{target.name} do not go to a bucket vibn "
            "recorded, so it holds no key to fetch them with"
        )
    props = storage.props
    secret = props.get("secret")
    if not isinstance(secret, Sensitive):
        secret = Sensitive(str(secret or ""))
    missing = [k for k in ("endpoint", "bucket", "region", "key") if not props.get(k)]
    if missing or not secret.value:
        fail(f"the record of {storage.address} lacks {', '.join(missing or ['secret'])}")
    return S3Target(
        endpoint=str(props["endpoint"]),
        bucket=str(props["bucket"]),
        region=str(props["region"]),
        key=str(props["key"]),
        secret=secret,
    )


def _server(ctx: Context, client: CoolifyClient) -> str:
    """The server vibn places resources on (configured, else the first usable one)."""
    configured = ctx.settings.coolify.server_uuid if ctx.settings.coolify else None
    return job_server(client, configured)
