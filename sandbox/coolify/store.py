"""The Coolify emulator's data: tables of JSON records, a clock, and persistence.

Records are plain JSON dicts holding the wire fields plus a few internal ones
(prefixed ``_``: owner uuids, tags, timing) that views never show. Time-driven
behaviour (deployments progressing, asynchronous deletes) is computed from
timestamps against the injected clock rather than by background jobs, so the
state is always consistent, survives a restart, and tests can drive a fake
clock. All access happens under ``lock``; a request that changed anything is
written to ``<state dir>/coolify.json`` atomically before its response is sent.
"""

from __future__ import annotations

import secrets
import string
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vibn.sandbox.persist import read_json, write_json_atomic

Record = dict[str, Any]
Clock = Callable[[], float]

FORMAT_VERSION = 1
TABLES = (
    "projects",
    "environments",
    "applications",
    "envs",
    "deployments",
    "databases",
    "backups",
    "executions",
    "s3_storages",
    "private_keys",
)
TEAM_ID = 0
SERVER_ID = 0
SERVER_UUID = "vibnsandboxlocalhost0001"
SERVER_NAME = "localhost"
_ALPHABET = string.ascii_lowercase + string.digits


def new_uuid() -> str:
    """Coolify's public id: 24 lowercase alphanumerics."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(24))


def new_password(length: int = 64) -> str:
    """A generated database password (letters and digits, like ``Str::password``)."""
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def iso(t: float) -> str:
    """Laravel's JSON timestamp format, e.g. ``2026-11-25T17:02:03.000000Z``."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class CoolifySettings:
    """Timing and limits of the emulator, changeable at run time by the control plane."""

    deployment_queue_seconds: float = 0.1
    deployment_run_seconds: float = 0.4
    delete_delay_seconds: float = 0.2
    database_start_seconds: float = 0.2
    backup_run_seconds: float = 0.2
    rate_limit_per_minute: int | None = None

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes``; raises ValueError naming a bad key or value."""
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r}")
            if key == "rate_limit_per_minute":
                if value is not None and (not isinstance(value, int) or value < 1):
                    raise ValueError("rate_limit_per_minute must be a positive integer or null")
            elif isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{key} must be a non-negative number")
        for key, value in changes.items():
            setattr(self, key, value if key == "rate_limit_per_minute" else float(value))

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class FailRule:
    """Make the next ``remaining`` deployments (optionally of one application) fail."""

    remaining: int
    application_uuid: str | None = None


def _empty() -> dict[str, Any]:
    return {"version": FORMAT_VERSION, "ids": {}, **{t: {} for t in TABLES}}


class CoolifyStore:
    """All emulator data behind one re-entrant lock."""

    def __init__(
        self, path: Path | None, clock: Clock, settings: CoolifySettings | None = None
    ) -> None:
        self.path = path
        self.clock = clock
        self.settings = settings or CoolifySettings()
        self.lock = threading.RLock()
        self.fail_rules: list[FailRule] = []
        self._dirty = False
        loaded = read_json(path) if path is not None else None
        self.data: dict[str, Any] = _empty()
        if isinstance(loaded, dict) and loaded.get("version") == FORMAT_VERSION:
            self.data.update(loaded)

    # -- time -------------------------------------------------------------
    def now(self) -> float:
        return self.clock()

    def stamp(self) -> str:
        return iso(self.now())

    # -- tables -----------------------------------------------------------
    def table(self, name: str) -> dict[str, Record]:
        rows: dict[str, Record] = self.data[name]
        return rows

    def rows(self, name: str) -> list[Record]:
        """The records of a table in creation order."""
        return sorted(self.table(name).values(), key=lambda r: int(r["id"]))

    def find(self, name: str, uuid: str) -> Record | None:
        return self.table(name).get(uuid)

    def where(self, name: str, **match: Any) -> list[Record]:
        return [r for r in self.rows(name) if all(r.get(k) == v for k, v in match.items())]

    def insert(self, name: str, record: Record, *, key: str = "uuid") -> Record:
        """Add a record, giving it an ``id``, a uuid (unless set) and timestamps."""
        ids: dict[str, int] = self.data["ids"]
        ids[name] = ids.get(name, 0) + 1
        rec: Record = {"id": ids[name], **record}
        rec.setdefault(key, new_uuid())
        stamp = self.stamp()
        rec.setdefault("created_at", stamp)
        rec["updated_at"] = stamp
        self.table(name)[rec[key]] = rec
        self._dirty = True
        return rec

    def touch(self, rec: Record) -> None:
        rec["updated_at"] = self.stamp()
        self._dirty = True

    def mark_dirty(self) -> None:
        self._dirty = True

    def remove(self, name: str, uuid: str) -> None:
        if self.table(name).pop(uuid, None) is not None:
            self._dirty = True

    def schedule_delete(self, rec: Record) -> None:
        """Coolify deletes in a background job: the record lingers a moment."""
        if "_delete_at" not in rec:
            rec["_delete_at"] = self.now() + self.settings.delete_delay_seconds
            self._dirty = True

    def purge(self) -> None:
        """Finish the deletions whose delay has passed (and their dependants)."""
        now = self.now()
        for name, owned in (("applications", "application"), ("databases", "database")):
            for rec in list(self.table(name).values()):
                if rec.get("_delete_at") is not None and rec["_delete_at"] <= now:
                    self.remove(name, rec["uuid"])
                    self._remove_owned(owned, rec["uuid"])

    def _remove_owned(self, kind: str, uuid: str) -> None:
        for env in self.where("envs", _owner=uuid):
            self.remove("envs", env["uuid"])
        if kind == "database":
            for backup in self.where("backups", _database=uuid):
                self.remove_backup(backup["uuid"])

    def remove_backup(self, uuid: str) -> None:
        for execution in self.where("executions", _backup=uuid):
            self.remove("executions", execution["uuid"])
        self.remove("backups", uuid)

    # -- persistence ------------------------------------------------------
    def flush(self) -> None:
        """Write the data if this request changed it."""
        if self._dirty and self.path is not None:
            write_json_atomic(self.path, self.data)
        self._dirty = False

    def reset(self) -> None:
        """Wipe every record (the server, token and settings stay)."""
        with self.lock:
            self.data = _empty()
            self.fail_rules.clear()
            self._dirty = True
            self.flush()

    def take_failure(self, application_uuid: str) -> bool:
        """Whether a new deployment of this application must fail (consumes a rule)."""
        for rule in self.fail_rules:
            if rule.application_uuid in (None, application_uuid):
                rule.remaining -= 1
                if rule.remaining <= 0:
                    self.fail_rules.remove(rule)
                return True
        return False
