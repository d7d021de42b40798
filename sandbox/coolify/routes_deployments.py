"""Deploying and polling: ``POST /deploy`` and the ``/deployments`` routes.

``/deploy`` takes comma-separated resource uuids or tag names (query string or
JSON body, read like Laravel's ``$request->input``) and queues one deployment per
application; databases are started instead and get no deployment uuid.
``GET /deployments`` lists only queued and in-progress rows; the per-application
list answers ``{"count", "deployments"}`` newest first, as the controller does
(the OpenAPI document says otherwise).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from vibn.sandbox.coolify.lifecycle import (
    FINAL,
    database_status,
    deployment_status,
    deployment_view,
    queue_deployment,
    start_database,
)
from vibn.sandbox.coolify.routes_applications import find_application, post_required
from vibn.sandbox.coolify.store import CoolifyStore, Record
from vibn.sandbox.coolify.web import Call, Handler, fail, reply
from vibn.sandbox.routing import Router


def _split(value: Any) -> list[str]:
    return [p.strip() for p in str(value).split(",") if p.strip()]


def _deploy_one(call: Call, kind: str, rec: Record, force: bool) -> dict[str, Any]:
    store = call.store
    if kind == "application":
        dep = queue_deployment(store, rec, force=force)
        return {
            "message": f"Application {rec['name']} deployment queued.",
            "resource_uuid": rec["uuid"],
            "deployment_uuid": dep["deployment_uuid"],
        }
    if database_status(store, rec, call.now) == "exited":
        start_database(store, rec)
    return {"message": f"Database {rec['name']} started.", "resource_uuid": rec["uuid"]}


def _targets(store: CoolifyStore, uuids: list[str], tags: list[str]) -> list[tuple[str, Record]]:
    found: list[tuple[str, Record]] = []
    for kind, table in (("application", "applications"), ("database", "databases")):
        for rec in store.rows(table):
            if rec["uuid"] in uuids or set(tags) & set(rec.get("_tags", [])):
                found.append((kind, rec))
    if uuids:
        order = {u: i for i, u in enumerate(uuids)}
        found.sort(key=lambda kr: order[kr[1]["uuid"]])
    return found


def deploy(call: Call) -> Response:
    uuid, tag = call.input("uuid"), call.input("tag")
    if not uuid and not tag:
        fail(400, "You must provide uuid or tag.")
    if uuid and tag:
        fail(400, "You can only use uuid or tag, not both.")
    force = str(call.input("force") or "").lower() in {"1", "true", "on", "yes"}
    targets = _targets(call.store, _split(uuid) if uuid else [], _split(tag) if tag else [])
    if not targets:
        fail(404, "No resources found.")
    return reply({"deployments": [_deploy_one(call, kind, rec, force) for kind, rec in targets]})


def list_deployments(call: Call) -> Response:
    now = call.now
    running = [
        d
        for d in call.store.rows("deployments")
        if deployment_status(d, now) in ("queued", "in_progress")
    ]
    return reply([deployment_view(d, now) for d in running])


def _find_deployment(call: Call) -> Record:
    dep = call.store.find("deployments", call.param("uuid"))
    if dep is None:
        fail(404, "Deployment not found.")
    return dep


def get_deployment(call: Call) -> Response:
    return reply(deployment_view(_find_deployment(call), call.now))


def _int_query(call: Call, name: str, default: int, minimum: int) -> int:
    try:
        value = int(call.query.get(name, default))
    except ValueError:
        value = default
    return max(value, minimum)


def application_deployments(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"))
    skip = _int_query(call, "skip", 0, 0)
    take = _int_query(call, "take", 10, 1)
    deps = list(reversed(call.store.where("deployments", _application=app["uuid"])))
    page = deps[skip : skip + take]
    return reply({"count": len(deps), "deployments": [deployment_view(d, call.now) for d in page]})


def cancel_deployment(call: Call) -> Response:
    dep = _find_deployment(call)
    status = deployment_status(dep, call.now)
    if status in FINAL:
        fail(400, f"Deployment cannot be cancelled. Current status: {status}")
    dep["_cancelled_at"] = call.now
    call.store.touch(dep)
    return reply(
        {
            "message": "Deployment cancelled successfully.",
            "deployment_uuid": dep["deployment_uuid"],
            "status": "cancelled-by-user",
        }
    )


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", "/deploy", deploy),
    ("GET", "/deploy", post_required),
    ("GET", "/deployments", list_deployments),
    ("GET", "/deployments/applications/{uuid}", application_deployments),
    ("GET", "/deployments/{uuid}", get_deployment),
    ("POST", "/deployments/{uuid}/cancel", cancel_deployment),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)
