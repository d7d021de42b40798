"""Scheduled database backups: schedules, ``backup_now`` and their executions.

Backups exist for PostgreSQL, MySQL, MariaDB, MongoDB and ClickHouse; the Redis
family answers 422 "Scheduled backups are not supported for this database type.".
``frequency`` is a cron expression or one of Coolify's names (``daily``...);
``save_s3`` needs an existing ``s3_storage_uuid`` (the destinations are in
``routes_s3``). ``backup_now`` records one execution per database to dump, named and
placed as ``DatabaseBackupJob`` does (``/data/coolify/backups/databases/<team>/
<database slug>-<uuid>/pg-dump-<db>-<timestamp>.dmp``...); it runs for
``backup_run_seconds`` and then succeeds. When the schedule's S3 storage has been
deleted meanwhile, the run turns ``save_s3`` off and the execution still succeeds
locally with Coolify's "S3 upload failed" warning and ``s3_uploaded: false``.
``GET .../executions`` answers only the six fields ``listExecutions`` maps; the full
rows (``s3_uploaded``, ``database_name``...) come with ``GET /databases/{uuid}/backups``.
"""

from __future__ import annotations

import re
import zlib
from typing import Any

from croniter import croniter
from starlette.responses import Response

from vibn.sandbox.coolify import views
from vibn.sandbox.coolify.engines import ENGINES
from vibn.sandbox.coolify.routes_databases import find_database
from vibn.sandbox.coolify.store import TEAM_ID, CoolifyStore, Record
from vibn.sandbox.coolify.validation import Bool, Int, Num, Str, coerce, validate
from vibn.sandbox.coolify.web import Call, Handler, fail, invalid, reply
from vibn.sandbox.routing import Router

NAMED_FREQUENCIES = ("every_minute", "hourly", "daily", "weekly", "monthly", "yearly")
_RETENTION = {
    f"database_backup_retention_{what}_{where}": Num(min=0) if what == "max_storage" else Int(min=0)
    for what in ("amount", "days", "max_storage")
    for where in ("locally", "s3")
}
BACKUP_RULES = {
    "frequency": Str(),
    "enabled": Bool(),
    "save_s3": Bool(),
    "s3_storage_uuid": Str(nullable=True),
    "databases_to_backup": Str(nullable=True),
    "dump_all": Bool(),
    "backup_now": Bool(),
    **_RETENTION,
    "timeout": Int(min=60, max=36000),
}


def _valid_frequency(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    return value in NAMED_FREQUENCIES or croniter.is_valid(value)


def _checked(call: Call, body: dict[str, Any], current: Record | None) -> dict[str, Any]:
    """Validate a backup body; returns the field values to store."""
    rules = dict(BACKUP_RULES)
    if current is None:
        rules["frequency"] = Str(required=True)
    errors = validate(body, rules, rules)
    if (
        "frequency" in body
        and "frequency" not in errors
        and not _valid_frequency(body["frequency"])
    ):
        errors["frequency"] = ["Invalid cron expression or frequency format."]
    if errors:
        invalid(errors)
    values = {k: coerce(v, rules[k]) for k, v in body.items() if k != "backup_now"}
    # the request alone is checked, as the controller does: a stored storage id is never
    # looked up again (it may dangle once its storage has been deleted)
    s3_uuid = values.pop("s3_storage_uuid", None)
    if values.get("save_s3") and not s3_uuid:
        invalid(
            {"s3_storage_uuid": ["The s3_storage_uuid field is required when save_s3 is true."]}
        )
    if s3_uuid:
        s3 = call.store.find("s3_storages", str(s3_uuid))
        if s3 is None:
            invalid({"s3_storage_uuid": ["The specified S3 storage was not found."]})
        values["s3_storage_id"] = s3["id"]
        values["_s3"] = s3["uuid"]
    return values


def _default_databases(db: Record) -> str | None:
    for field in ("postgres_db", "mysql_database", "mariadb_database", "mongo_initdb_database"):
        if db.get(field):
            return str(db[field])
    return None


def _backup_database(call: Call) -> tuple[Record, Record | None]:
    db = find_database(call.store, call.param("uuid"))
    if not ENGINES[db["_flavor"]].backups:
        fail(422, "Scheduled backups are not supported for this database type.")
    uuid = call.params.get("backup_uuid")
    if uuid is None:
        return db, None
    backup = call.store.find("backups", uuid)
    if backup is None or backup["_database"] != db["uuid"]:
        fail(404, "Backup configuration not found.")
    return db, backup


#: ``backup_dir()`` + ``/databases/`` + the team's slug and id (the sandbox has the root team)
BACKUP_ROOT = "/data/coolify/backups/databases/root-team-0"
_DUMP_FILES = {
    "postgresql": ("pg-dump", ".dmp"),
    "mysql": ("mysql-dump", ".dmp"),
    "mariadb": ("mariadb-dump", ".dmp"),
    "mongodb": ("mongo-dump", ".tar.gz"),
    "clickhouse": ("clickhouse-dump", ".tar.gz"),
}


def _slug(text: str) -> str:
    """Laravel's ``Str::slug`` for plain ASCII names."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _dump_targets(db: Record, backup: Record) -> list[str]:
    """The databases one run dumps: ``databases_to_backup``, else the engine's default."""
    listed = str(backup.get("databases_to_backup") or "").strip()
    if db["_flavor"] == "mongodb":
        parts = [p.split(":", 1)[0].strip() for p in listed.split("|")] if listed else []
        return [p for p in parts if p and p != "*"] or ["all"]
    if backup.get("dump_all"):
        return ["all"]
    parts = [p.strip() for p in listed.split(",") if p.strip()]
    return parts or [_default_databases(db) or "all"]


def _run_now(store: CoolifyStore, db: Record, backup: Record) -> None:
    """One ``DatabaseBackupJob`` run: an execution per database, S3 checked at run time."""
    now = store.now()
    save_s3 = bool(backup.get("save_s3"))
    message = None
    if save_s3 and (backup.get("_s3") is None or store.find("s3_storages", backup["_s3"]) is None):
        backup.update(save_s3=False, s3_storage_id=None, _s3=None)
        store.touch(backup)
        message = (
            "Warning: S3 upload failed: S3 storage configuration is missing or has been "
            "deleted (S3 storage ID: null). S3 backup has been disabled for this schedule."
        )
    prefix, suffix = _DUMP_FILES.get(db["_flavor"], ("dump", ".dmp"))
    directory = f"{BACKUP_ROOT}/{_slug(db['name'])}-{db['uuid']}"
    ext = ".gz" if backup.get("dump_all") and suffix == ".dmp" else suffix
    for name in _dump_targets(db, backup):
        store.insert(
            "executions",
            {
                "filename": f"{directory}/{prefix}-{name}-{int(now)}{ext}",
                "database_name": name,
                "scheduled_database_backup_id": backup["id"],
                "local_storage_deleted": False,
                "s3_storage_deleted": False,
                "_backup": backup["uuid"],
                "_end_at": now + store.settings.backup_run_seconds,
                # a plausible dump size, the same for the same run (no global RNG)
                "_size": 10_000 + zlib.crc32(f"{backup['uuid']}{now}".encode()) % 4_990_000,
                "_s3_uploaded": (message is None) if save_s3 else None,
                "_message": message,
            },
        )


def list_backups(call: Call) -> Response:
    db = find_database(call.store, call.param("uuid"))
    backups = call.store.where("backups", _database=db["uuid"])
    return reply([views.backup(call.store, b) for b in backups])


def create_backup(call: Call) -> Response:
    body = call.strict_json()
    db, _ = _backup_database(call)
    values = _checked(call, body, None)
    record: Record = {
        "team_id": TEAM_ID,
        "description": None,
        "enabled": True,
        "save_s3": False,
        "s3_storage_id": None,
        **{k: 0 for k in _RETENTION},
        "databases_to_backup": _default_databases(db),
        "dump_all": False,
        "timeout": 3600,
        "disable_local_backup": False,
        "database_type": ENGINES[db["_flavor"]].model,
        "database_id": db["id"],
        "_database": db["uuid"],
        "_s3": None,
        **values,
    }
    backup = call.store.insert("backups", record)
    if coerce(body.get("backup_now"), BACKUP_RULES["backup_now"]):
        _run_now(call.store, db, backup)
    return reply(
        {"uuid": backup["uuid"], "message": "Backup configuration created successfully."}, 201
    )


def update_backup(call: Call) -> Response:
    body = call.strict_json()
    db, backup = _backup_database(call)
    assert backup is not None
    backup.update(_checked(call, body, backup))
    call.store.touch(backup)
    if coerce(body.get("backup_now"), BACKUP_RULES["backup_now"]):
        _run_now(call.store, db, backup)
    return reply({"message": "Database backup configuration updated"})


def delete_backup(call: Call) -> Response:
    _, backup = _backup_database(call)
    assert backup is not None
    call.query_bool("delete_s3", False)
    call.store.remove_backup(backup["uuid"])
    return reply({"message": "Backup configuration and all executions deleted."})


def list_executions(call: Call) -> Response:
    _, backup = _backup_database(call)
    assert backup is not None
    runs = reversed(call.store.where("executions", _backup=backup["uuid"]))
    return reply({"executions": [views.execution_summary(call.store, e) for e in runs]})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/databases/{uuid}/backups", list_backups),
    ("POST", "/databases/{uuid}/backups", create_backup),
    ("PATCH", "/databases/{uuid}/backups/{backup_uuid}", update_backup),
    ("DELETE", "/databases/{uuid}/backups/{backup_uuid}", delete_backup),
    ("GET", "/databases/{uuid}/backups/{backup_uuid}/executions", list_executions),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)
