"""The Logging emulator's records: log buckets and sinks, per project.

Every project comes with the ``_Default`` and ``_Required`` buckets (location
``global``) and the sinks of the same names that route into them; they appear
the first time a request names the project. A deleted bucket lingers as
``DELETE_REQUESTED`` for 7 days (computed against the injected clock, so a test
can move time) and is then purged. Everything lives in
``<state dir>/logging.json``.
"""

from __future__ import annotations

from typing import Any

from vibn.sandbox.gcs.gcp import JsonStore, rfc3339

Record = dict[str, Any]
PURGE_SECONDS = 7 * 86400
_AUDIT_LOGS = (
    'LOG_ID("cloudaudit.googleapis.com/activity")',
    'LOG_ID("externalaudit.googleapis.com/activity")',
    'LOG_ID("cloudaudit.googleapis.com/system_event")',
    'LOG_ID("externalaudit.googleapis.com/system_event")',
    'LOG_ID("cloudaudit.googleapis.com/access_transparency")',
    'LOG_ID("externalaudit.googleapis.com/access_transparency")',
)
REQUIRED_FILTER = " OR ".join(_AUDIT_LOGS)
DEFAULT_FILTER = " AND ".join(f"NOT {log}" for log in _AUDIT_LOGS)
DEFAULT_BUCKETS = {
    "_Default": ("Default bucket", 30, False),
    "_Required": ("Audit bucket", 400, True),
}


def bucket_name(project: str, location: str, bucket_id: str) -> str:
    return f"projects/{project}/locations/{location}/buckets/{bucket_id}"


def sink_name(project: str, sink_id: str) -> str:
    return f"projects/{project}/sinks/{sink_id}"


class LoggingStore(JsonStore):
    """Log buckets and sinks behind one lock."""

    def empty(self) -> dict[str, Any]:
        return {"version": self.version, "projects": {}, "buckets": {}, "sinks": {}}

    def buckets(self) -> dict[str, Record]:
        return self.table("buckets")

    def sinks(self) -> dict[str, Record]:
        return self.table("sinks")

    def ensure_project(self, project: str) -> None:
        """Give a project seen for the first time its default buckets and sinks."""
        projects = self.table("projects")
        if project in projects:
            return
        stamp = rfc3339(self.now(), 6)
        projects[project] = {"seen": stamp}
        for bucket_id, (description, days, locked) in DEFAULT_BUCKETS.items():
            name = bucket_name(project, "global", bucket_id)
            self.buckets()[name] = {
                "name": name,
                "description": description,
                "retentionDays": days,
                "locked": locked,
                "lifecycleState": "ACTIVE",
                "updateTime": stamp,
                "_project": project,
                "_location": "global",
                "_id": bucket_id,
            }
        for sink_id, log_filter in (("_Required", REQUIRED_FILTER), ("_Default", DEFAULT_FILTER)):
            self.sinks()[sink_name(project, sink_id)] = {
                "name": sink_id,
                "destination": (
                    f"logging.googleapis.com/{bucket_name(project, 'global', sink_id)}"
                ),
                "filter": log_filter,
                "resourceName": sink_name(project, sink_id),
                "_project": project,
                "_unique": False,
            }
        self.mark_dirty()

    def purge(self) -> None:
        """Forget the buckets whose 7-day deletion window has passed."""
        now = self.now()
        for name, rec in list(self.buckets().items()):
            deleted_at = rec.get("_deleted_at")
            if deleted_at is not None and deleted_at + PURGE_SECONDS <= now:
                del self.buckets()[name]
                self.mark_dirty()
