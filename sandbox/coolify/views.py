"""How stored records look on the wire.

Internal fields (``_``-prefixed) never leave the emulator, computed fields
(``status``, ``internal_db_url``...) are filled in at read time, and the fields
Coolify's ``removeSensitiveData`` hides (``id`` of applications, databases and
environment variables) are dropped. Keys follow ``serializeApiResponse``: ``id,
uuid, name, description`` first, the rest alphabetical, timestamps last.
"""

from __future__ import annotations

from typing import Any

from vibn.sandbox.coolify import app_fields
from vibn.sandbox.coolify.engines import ENGINES
from vibn.sandbox.coolify.lifecycle import application_status, database_status
from vibn.sandbox.coolify.store import (
    SERVER_ID,
    SERVER_NAME,
    SERVER_UUID,
    TEAM_ID,
    CoolifyStore,
    Record,
    iso,
)

VERSION = "4.3.11"
#: the deploy server's public address (TEST-NET-3): custom domains' A records point here
SERVER_IP = "203.0.113.10"
PUBLIC_HOST = "127.0.0.1"


def ordered(data: dict[str, Any]) -> dict[str, Any]:
    """Key order of Coolify's ``serializeApiResponse`` (cosmetic, but cheap)."""
    head = [k for k in ("id", "uuid", "name", "description") if k in data]
    tail = [k for k in ("created_at", "updated_at") if k in data]
    middle = sorted(k for k in data if k not in head and k not in tail)
    return {k: data[k] for k in head + middle + tail}


def public(rec: Record, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if not k.startswith("_") and k not in hidden}


def application(store: CoolifyStore, rec: Record) -> dict[str, Any]:
    data = {k: rec.get(k, default) for k, default in app_fields.DEFAULTS.items()}
    data.update(uuid=rec["uuid"], created_at=rec["created_at"], updated_at=rec["updated_at"])
    data["status"] = application_status(store, rec, store.now())
    data["settings"] = ordered(dict(rec["settings"]))
    return ordered({k: v for k, v in data.items() if k not in app_fields.HIDDEN})


def env_var(rec: Record) -> dict[str, Any]:
    return ordered(public(rec, frozenset({"id", "resourceable_type", "resourceable_id"})))


def database(store: CoolifyStore, rec: Record, *, with_backups: bool = False) -> dict[str, Any]:
    engine = ENGINES[rec["_flavor"]]
    data = public(rec, frozenset({"id"}))
    data["status"] = database_status(store, rec, store.now())
    data["database_type"] = engine.database_type
    data["internal_db_url"] = engine.internal_url(rec)
    data["external_db_url"] = engine.external_url(rec, PUBLIC_HOST)
    data["server_status"] = True
    if with_backups:
        data["backup_configs"] = [
            backup(store, b, with_executions=False)
            for b in store.where("backups", _database=rec["uuid"])
        ]
    return ordered(data)


def backup(store: CoolifyStore, rec: Record, *, with_executions: bool = True) -> dict[str, Any]:
    data = public(rec)
    if with_executions:
        data["executions"] = [
            execution(store, e) for e in reversed(store.where("executions", _backup=rec["uuid"]))
        ]
    return ordered(data)


def execution(store: CoolifyStore, rec: Record) -> dict[str, Any]:
    now = store.now()
    done = now >= rec["_end_at"]
    data = public(rec)
    data.update(
        status="success" if done else "running",
        message=(rec.get("_message") or "Backup completed.") if done else None,
        size=rec["_size"] if done else 0,
        finished_at=iso(rec["_end_at"]) if done else None,
        s3_uploaded=rec.get("_s3_uploaded", rec.get("s3_uploaded")) if done else None,
    )
    return ordered(data)


def execution_summary(store: CoolifyStore, rec: Record) -> dict[str, Any]:
    """The six fields ``listExecutions`` maps (``created_at`` as ``toIso8601String``)."""
    full = execution(store, rec)
    summary = {k: full[k] for k in ("uuid", "filename", "size", "message", "status")}
    summary["created_at"] = str(rec["created_at"])[:19] + "+00:00"
    return summary


def s3_storage(rec: Record) -> dict[str, Any]:
    """As the published schema has it: ``key``/``secret`` (shown by Coolify only to
    ``read:sensitive`` tokens) never leave the emulator, nor does ``id``."""
    return ordered(public(rec, frozenset({"id", "key", "secret"})))


def project_summary(rec: Record) -> dict[str, Any]:
    return {k: rec[k] for k in ("id", "uuid", "name", "description")}


def environment(rec: Record) -> dict[str, Any]:
    return ordered(public(rec))


def project(store: CoolifyStore, rec: Record) -> dict[str, Any]:
    data = public(rec)
    data["environments"] = [
        environment(e) for e in store.where("environments", _project=rec["uuid"])
    ]
    return ordered(data)


_SERVER_SETTINGS: dict[str, Any] = {
    "id": 0,
    "server_id": SERVER_ID,
    "concurrent_builds": 2,
    "deployment_queue_limit": 25,
    "dynamic_timeout": 3600,
    "force_disabled": False,
    "force_server_cleanup": False,
    "is_build_server": False,
    "is_cloudflare_tunnel": False,
    "is_jump_server": False,
    "is_logdrain_axiom_enabled": False,
    "is_logdrain_custom_enabled": False,
    "is_logdrain_highlight_enabled": False,
    "is_logdrain_newrelic_enabled": False,
    "is_metrics_enabled": False,
    "is_reachable": True,
    "is_sentinel_enabled": False,
    "is_swarm_manager": False,
    "is_swarm_worker": False,
    "is_terminal_enabled": True,
    "is_usable": True,
    "docker_cleanup_frequency": "0 0 * * *",
    "docker_cleanup_threshold": 80,
    "wildcard_domain": None,
    "delete_unused_volumes": False,
    "delete_unused_networks": False,
    "connection_timeout": 10,
    "created_at": "2026-01-01T00:00:00.000000Z",
    "updated_at": "2026-01-01T00:00:00.000000Z",
}

_SERVER: dict[str, Any] = {
    "id": SERVER_ID,
    "uuid": SERVER_UUID,
    "name": SERVER_NAME,
    "description": "This is the server where Coolify is running on. Don't delete this!",
    "ip": SERVER_IP,
    "user": "root",
    "port": 22,
    "team_id": TEAM_ID,
    "proxy": {"type": "traefik", "status": "running", "force_stop": False},
    "proxy_type": "traefik",
    "high_disk_usage_notification_sent": False,
    "unreachable_notification_sent": False,
    "unreachable_count": 0,
    "validation_logs": None,
    "log_drain_notification_sent": False,
    "swarm_cluster": None,
    "created_at": "2026-01-01T00:00:00.000000Z",
    "updated_at": "2026-01-01T00:00:00.000000Z",
}


def server() -> dict[str, Any]:
    """The one server: Coolify's own host, usable and reachable."""
    data = dict(_SERVER)
    data["settings"] = ordered(dict(_SERVER_SETTINGS))
    return ordered(data)


def server_summary() -> dict[str, Any]:
    """``GET /servers`` rows: a column subset plus the two health flags."""
    keys = ("id", "uuid", "name", "description", "ip", "user", "port")
    data = {k: _SERVER[k] for k in keys}
    data["is_reachable"] = True
    data["is_usable"] = True
    data["settings"] = ordered(dict(_SERVER_SETTINGS))
    return data
