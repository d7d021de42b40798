"""Operations on a database's backups: take one now, list them, restore one.

They sit behind ``vibn backup now|list|restore`` and speak only Coolify's published API.
A run is ``PATCH`` of the schedule with ``backup_now`` (Coolify queues its
``DatabaseBackupJob``; the execution shows up once the job starts). The list comes from
``GET /databases/{uuid}/backups``, whose executions are the full rows — the
``.../executions`` route leaves out ``s3_uploaded``.

Coolify publishes no restore endpoint, so a restore is a one-shot job vibn builds from
ordinary calls (see ``restore_job``): a Docker-image application running the database's
own image, idle, in the database's project and network; a second deployment whose
pre-deployment command fetches the dump from the bucket and loads it. Coolify fails a
deployment whose pre-deployment command fails, so that deployment's status is the
restore's outcome. The job application is deleted afterwards, whatever happened.
Only a successful execution that reached the bucket, of an engine vibn knows how to load,
into a running database, is ever restored; everything else is refused up front.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vibn.providers.coolify import restore_job
from vibn.providers.coolify.client import PROVIDER, CoolifyClient
from vibn.providers.coolify.common import Settle, Shared
from vibn.providers.coolify.databases import engine_of
from vibn.providers.coolify.restore_job import Placement, S3Target
from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    ProviderError,
    TransientError,
)

__all__ = [
    "BackupExecution",
    "Placement",
    "RestoreResult",
    "S3Target",
    "job_server",
    "list_backups",
    "restore",
    "run_now",
    "wait_finished",
]

#: how long ``run_now`` waits for the queued job to start, and how often it looks
RUN_SETTLE = Settle(timeout=120.0, interval=1.0)
#: a restore waits for two deployments, the second one loading the whole dump
RESTORE_SETTLE = Settle(timeout=3600.0, interval=1.0)
DEPLOYMENT_FINAL = ("finished", "failed", "cancelled-by-user")


@dataclass(frozen=True)
class BackupExecution:
    """One run of a backup schedule, as ``vibn backup list`` shows it."""

    uuid: str
    filename: str | None
    size: int
    status: str
    created_at: str | None
    s3_uploaded: bool | None
    message: str | None = None
    database_name: str | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> BackupExecution:
        uploaded = row.get("s3_uploaded")
        return cls(
            uuid=str(row["uuid"]),
            filename=row.get("filename") or None,
            size=int(row.get("size") or 0),
            status=str(row.get("status") or "unknown"),
            created_at=row.get("created_at"),
            s3_uploaded=None if uploaded is None else bool(uploaded),
            message=row.get("message"),
            database_name=row.get("database_name"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "filename": self.filename,
            "size": self.size,
            "status": self.status,
            "created_at": self.created_at,
            "s3_uploaded": self.s3_uploaded,
            "message": self.message,
            "database_name": self.database_name,
        }


@dataclass(frozen=True)
class RestoreResult:
    """A finished restore: which backup, and the job that loaded it (now deleted)."""

    backup: BackupExecution
    database_uuid: str
    job_application_uuid: str
    deployment_uuid: str

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "restored",
            "backup": self.backup.to_json(),
            "database_uuid": self.database_uuid,
            "job_application_uuid": self.job_application_uuid,
            "deployment_uuid": self.deployment_uuid,
        }


def job_server(client: CoolifyClient, configured: str | None) -> str:
    """The server a restore job runs on: vibn's configured one, else the first usable one
    (where vibn placed the database, so the job shares its Docker network)."""
    return Shared(client, configured).server_uuid()


def schedule_of(client: CoolifyClient, database_uuid: str, schedule_uuid: str) -> Mapping[str, Any]:
    """The schedule with its executions; ``NotFoundError`` when the database has no such one."""
    for schedule in client.list_backups(database_uuid):
        if schedule.get("uuid") == schedule_uuid:
            found: Mapping[str, Any] = schedule
            return found
    raise NotFoundError(
        PROVIDER, f"database {database_uuid} has no backup schedule {schedule_uuid}"
    )


def list_backups(
    client: CoolifyClient, database_uuid: str, schedule_uuid: str
) -> list[BackupExecution]:
    """The schedule's executions, newest first."""
    schedule = schedule_of(client, database_uuid, schedule_uuid)
    rows = [BackupExecution.from_row(r) for r in schedule.get("executions") or []]
    return sorted(rows, key=lambda e: e.created_at or "", reverse=True)


def run_now(
    client: CoolifyClient,
    database_uuid: str,
    schedule_uuid: str,
    *,
    settle: Settle = RUN_SETTLE,
) -> BackupExecution:
    """Queue a run of the schedule and return its execution once Coolify shows it."""
    before = {e.uuid for e in list_backups(client, database_uuid, schedule_uuid)}
    client.update_backup(database_uuid, schedule_uuid, {"backup_now": True})
    deadline = settle.clock() + settle.timeout
    while True:
        fresh = [
            e for e in list_backups(client, database_uuid, schedule_uuid) if e.uuid not in before
        ]
        if fresh:
            return fresh[0]
        if settle.clock() >= deadline:
            raise TransientError(
                PROVIDER,
                f"Coolify queued a backup of database {database_uuid} but no run started "
                f"within {settle.timeout:g} s (Coolify skips databases that are not running)",
            )
        settle.sleep(settle.interval)


def wait_finished(
    client: CoolifyClient,
    database_uuid: str,
    schedule_uuid: str,
    backup_uuid: str,
    *,
    settle: Settle = RESTORE_SETTLE,
) -> BackupExecution:
    """The execution once it is no longer ``running`` (or as it is when time runs out)."""
    deadline = settle.clock() + settle.timeout
    while True:
        execution = _execution(client, database_uuid, schedule_uuid, backup_uuid)
        if execution.status != "running" or settle.clock() >= deadline:
            return execution
        settle.sleep(settle.interval)


def restore(
    client: CoolifyClient,
    database_uuid: str,
    schedule_uuid: str,
    backup_uuid: str,
    *,
    target: S3Target,
    placement: Placement,
    settle: Settle = RESTORE_SETTLE,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RestoreResult:
    """Load backup ``backup_uuid`` into its database through a one-shot Coolify job."""
    execution = _execution(client, database_uuid, schedule_uuid, backup_uuid)
    if execution.status != "success":
        raise InvalidError(
            PROVIDER,
            f"backup {backup_uuid} is {execution.status!r}: only a successful backup can be "
            "restored",
        )
    database = client.get_database(database_uuid)
    engine = engine_of(database) or "unknown"
    if engine not in restore_job.RESTORABLE:
        raise InvalidError(
            PROVIDER,
            f"backup {backup_uuid} is a {engine} dump; vibn restores "
            f"{', '.join(sorted(restore_job.RESTORABLE))} backups only",
        )
    if execution.s3_uploaded is not True or not execution.filename:
        raise InvalidError(
            PROVIDER,
            f"backup {backup_uuid} never reached the bucket (it exists only on the Coolify "
            "server's disk, if at all); vibn restores from the bucket only",
        )
    if not database.get("internal_db_url"):
        raise AuthError(
            PROVIDER,
            f"Coolify did not show database {database_uuid}'s credentials: the token needs "
            "the read:sensitive ability to restore",
        )
    status = str(database.get("status") or "")
    if not status.startswith("running"):
        raise ConflictError(
            PROVIDER, f"database {database_uuid} is {status or 'not running'}: start it first"
        )
    expires = int(min(604_800, max(3600.0, 2 * settle.timeout)))
    url = target.presigned_get(execution.filename, now(), expires)
    job = restore_job.create(
        client, database, engine, backup_uuid, execution.filename, url, placement
    )
    try:
        _deploy(client, job, settle, "start the restore job")
        client.update_application(job, {"pre_deployment_command": restore_job.RUN_RESTORE})
        deployment = _deploy(client, job, settle, f"restore backup {backup_uuid}")
    except BaseException:
        with suppress(ProviderError):
            restore_job.remove(client, job)
        raise
    try:
        restore_job.remove(client, job)
    except ProviderError as err:
        raise ProviderError(
            PROVIDER,
            f"backup {backup_uuid} was restored, but deleting the job application {job} "
            f"failed: {err.message}; delete it in Coolify",
        ) from err
    return RestoreResult(execution, database_uuid, job, deployment)


def _execution(
    client: CoolifyClient, database_uuid: str, schedule_uuid: str, backup_uuid: str
) -> BackupExecution:
    for execution in list_backups(client, database_uuid, schedule_uuid):
        if execution.uuid == backup_uuid:
            return execution
    raise NotFoundError(PROVIDER, f"no backup {backup_uuid} in schedule {schedule_uuid}")


def _deploy(client: CoolifyClient, app_uuid: str, settle: Settle, what: str) -> str:
    """Deploy the job application; returns the deployment uuid once it finished."""
    deployment = str(client.start_application(app_uuid)["deployment_uuid"])
    deadline = settle.clock() + settle.timeout
    while True:
        status = client.get_deployment(deployment).get("status")
        if status == "finished":
            return deployment
        if status in DEPLOYMENT_FINAL:
            raise ProviderError(
                PROVIDER,
                f"could not {what}: Coolify deployment {deployment} of job {app_uuid} "
                f"ended {status!r}; its logs say why",
            )
        if settle.clock() >= deadline:
            raise TransientError(
                PROVIDER,
                f"could not {what}: deployment {deployment} still {status!r} after "
                f"{settle.timeout:g} s",
            )
        settle.sleep(settle.interval)
