"""Scheduled database backups and the S3 destinations they upload to.

Backups exist for PostgreSQL, MySQL, MariaDB, MongoDB and ClickHouse; the Redis
family answers 422 "Scheduled backups are not supported for this database type.".
``frequency`` is a cron expression or one of Coolify's names (``daily``...);
``save_s3`` needs an existing ``s3_storage_uuid``. ``backup_now`` records an
execution that runs for ``backup_run_seconds`` and then succeeds.
"""

from __future__ import annotations

import random
from dataclasses import replace
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
S3_RULES = {
    "name": Str(max=255),
    "description": Str(nullable=True, max=255),
    "endpoint": Str(max=255, regex=r"^https?://[^\s/]+"),
    "bucket": Str(min=3, max=63, regex=r"^[a-z0-9][a-z0-9.\-]*[a-z0-9]$"),
    "region": Str(max=255),
    "key": Str(max=255),
    "secret": Str(max=255),
    "is_usable": Bool(),
}
S3_REQUIRED = ("name", "endpoint", "bucket", "region", "key", "secret")


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
    save_s3 = values.get("save_s3", current.get("save_s3") if current else False)
    s3_uuid = values.pop("s3_storage_uuid", current.get("_s3") if current else None)
    if save_s3 and not s3_uuid:
        invalid(
            {"s3_storage_uuid": ["The s3 storage uuid field is required when save s3 is true."]}
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


def _run_now(store: CoolifyStore, db: Record, backup: Record) -> None:
    now = store.now()
    dbname = (
        db.get("postgres_db") or db.get("mysql_database") or db.get("mariadb_database") or "all"
    )
    store.insert(
        "executions",
        {
            "filename": f"/data/coolify/backups/{db['name']}-{db['uuid']}/{dbname}/"
            f"dump-{dbname}-{int(now)}.dmp",
            "database_name": dbname,
            "scheduled_database_backup_id": backup["id"],
            "s3_uploaded": bool(backup.get("save_s3")),
            "local_storage_deleted": False,
            "s3_storage_deleted": False,
            "_backup": backup["uuid"],
            "_end_at": now + store.settings.backup_run_seconds,
            "_size": random.randint(10_000, 5_000_000),
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
    return reply({"executions": [views.execution(call.store, e) for e in runs]})


def _find_s3(call: Call) -> Record:
    s3 = call.store.find("s3_storages", call.param("uuid"))
    if s3 is None:
        fail(404, "S3 storage not found.")
    return s3


def list_s3(call: Call) -> Response:
    return reply([views.s3_storage(s) for s in call.store.rows("s3_storages")])


def create_s3(call: Call) -> Response:
    body = call.strict_json()
    rules = {k: (replace(v, required=True) if k in S3_REQUIRED else v) for k, v in S3_RULES.items()}
    errors = validate(body, rules, rules)
    if errors:
        invalid(errors)
    values = {k: coerce(v, rules[k]) for k, v in body.items()}
    s3 = call.store.insert(
        "s3_storages", {"description": None, "is_usable": False, "team_id": TEAM_ID, **values}
    )
    return reply({"uuid": s3["uuid"]}, 201)


def get_s3(call: Call) -> Response:
    return reply(views.s3_storage(_find_s3(call)))


def update_s3(call: Call) -> Response:
    body = call.strict_json()
    s3 = _find_s3(call)
    errors = validate(body, S3_RULES, S3_RULES)
    if errors:
        invalid(errors)
    s3.update({k: coerce(v, S3_RULES[k]) for k, v in body.items()})
    call.store.touch(s3)
    return reply({"uuid": s3["uuid"]})


def delete_s3(call: Call) -> Response:
    s3 = _find_s3(call)
    call.store.remove("s3_storages", s3["uuid"])
    return reply({"message": "S3 storage deleted."})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/databases/{uuid}/backups", list_backups),
    ("POST", "/databases/{uuid}/backups", create_backup),
    ("PATCH", "/databases/{uuid}/backups/{backup_uuid}", update_backup),
    ("DELETE", "/databases/{uuid}/backups/{backup_uuid}", delete_backup),
    ("GET", "/databases/{uuid}/backups/{backup_uuid}/executions", list_executions),
    ("GET", "/s3-storages", list_s3),
    ("POST", "/s3-storages", create_s3),
    ("GET", "/s3-storages/{uuid}", get_s3),
    ("PATCH", "/s3-storages/{uuid}", update_s3),
    ("DELETE", "/s3-storages/{uuid}", delete_s3),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)
