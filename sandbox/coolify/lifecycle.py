"""Deployments and run states, advanced by wall time.

Coolify queues a deployment, runs it, and marks it ``finished`` or ``failed``;
the application shows ``running:healthy`` once a deployment has finished and
``exited`` after a stop. The emulator schedules each deployment at creation
(queued for ``deployment_queue_seconds``, then in progress for
``deployment_run_seconds``, one at a time per application, as Coolify's queue
does) and derives every status from those timestamps and the clock. Databases
start and stop the same way, without deployments.
"""

from __future__ import annotations

import json
from typing import Any

from vibn.sandbox.coolify.store import SERVER_ID, SERVER_NAME, CoolifyStore, Record, iso

FINAL = ("finished", "failed", "cancelled-by-user")


def queue_deployment(
    store: CoolifyStore,
    app: Record,
    *,
    restart_only: bool = False,
    force: bool = False,
    instant: bool = False,
) -> Record:
    """Queue a deployment of ``app`` behind the ones already queued for it."""
    now = store.now()
    settings = store.settings
    previous = [
        d["_end_at"]
        for d in store.where("deployments", _application=app["uuid"])
        if d.get("_cancelled_at") is None
    ]
    start = max([now + (0.0 if instant else settings.deployment_queue_seconds), *previous])
    env = store.find("environments", app["_environment"]) or {}
    rec = store.insert(
        "deployments",
        {
            "application_id": str(app["id"]),
            "pull_request_id": 0,
            "force_rebuild": force,
            "commit": app.get("git_commit_sha") or "HEAD",
            "commit_message": None,
            "is_webhook": False,
            "is_api": True,
            "restart_only": restart_only,
            "server_id": SERVER_ID,
            "server_name": SERVER_NAME,
            "application_name": app["name"],
            "destination_id": str(app.get("destination_id", 0)),
            "only_this_server": False,
            "rollback": False,
            "git_type": None,
            "current_process_id": None,
            "docker_registry_image_tag": None,
            "configuration_hash": None,
            "_application": app["uuid"],
            "_project": env.get("_project"),
            "_environment": app["_environment"],
            "_start_at": start,
            "_end_at": start + settings.deployment_run_seconds,
            "_fail": store.take_failure(app["uuid"]),
            "_cancelled_at": None,
        },
        key="deployment_uuid",
    )
    return rec


def deployment_status(dep: Record, now: float) -> str:
    if dep.get("_cancelled_at") is not None:
        return "cancelled-by-user"
    if now < dep["_start_at"]:
        return "queued"
    if now < dep["_end_at"]:
        return "in_progress"
    return "failed" if dep.get("_fail") else "finished"


def _changed_at(dep: Record, status: str) -> float | None:
    return {
        "cancelled-by-user": dep.get("_cancelled_at"),
        "in_progress": dep["_start_at"],
        "finished": dep["_end_at"],
        "failed": dep["_end_at"],
    }.get(status)


def _logs(dep: Record, status: str) -> str:
    lines = [(dep["_start_at"], f"Starting deployment of {dep['application_name']}.")]
    if status in ("finished", "failed"):
        lines.append((dep["_start_at"], "Building and starting the new container."))
    if status == "finished":
        lines.append((dep["_end_at"], "New container started."))
    if status == "failed":
        lines.append((dep["_end_at"], "Deployment failed: the sandbox was told to fail it."))
    if status == "cancelled-by-user":
        lines.append((dep["_cancelled_at"], "Deployment cancelled by user."))
    if status == "queued":
        lines = []
    return json.dumps(
        [
            {
                "command": None,
                "output": text,
                "type": "stderr" if "failed" in text else "stdout",
                "timestamp": iso(at),
                "hidden": False,
                "batch": 1,
                "order": i + 1,
            }
            for i, (at, text) in enumerate(lines)
        ]
    )


def deployment_view(dep: Record, now: float) -> dict[str, Any]:
    status = deployment_status(dep, now)
    changed = _changed_at(dep, status)
    view = {k: v for k, v in dep.items() if not k.startswith("_")}
    view["status"] = status
    view["logs"] = _logs(dep, status)
    view["deployment_url"] = (
        f"/project/{dep.get('_project')}/environment/{dep['_environment']}"
        f"/application/{dep['_application']}/deployment/{dep['deployment_uuid']}"
    )
    if changed is not None and changed <= now:
        view["updated_at"] = iso(changed)
    return view


def application_status(store: CoolifyStore, app: Record, now: float) -> str:
    """``running:healthy`` after a finished deployment, ``exited`` before or after a stop."""
    finished = [
        d["_end_at"]
        for d in store.where("deployments", _application=app["uuid"])
        if deployment_status(d, now) == "finished"
    ]
    if not finished:
        return "exited"
    stopped = app.get("_stopped_at")
    if stopped is not None and stopped >= max(finished):
        return "exited"
    return "running:healthy"


def database_status(store: CoolifyStore, db: Record, now: float) -> str:
    started, stopped = db.get("_started_at"), db.get("_stopped_at")
    if started is None or (stopped is not None and stopped >= started):
        return "exited"
    if now < started + store.settings.database_start_seconds:
        return "starting:unknown"
    return "running:healthy"


def start_database(store: CoolifyStore, db: Record) -> None:
    db["_started_at"] = store.now()
    db["started_at"] = store.stamp()
    store.touch(db)


def stop_database(store: CoolifyStore, db: Record) -> None:
    db["_stopped_at"] = store.now()
    store.touch(db)
