"""Standalone databases: create per flavour, list, read, update, delete, start/stop.

``POST /databases/{flavor}`` answers 201 ``{"uuid", "internal_db_url"}`` (plus
``external_db_url`` when public), not the "Database updated" the OpenAPI document
claims. ``is_public`` silently falls back to false without a ``public_port``.
Deletes are asynchronous like applications'; start/stop refuse when the database
is already in that state.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import Response

from vibn.sandbox.coolify import views
from vibn.sandbox.coolify.app_create import decode_base64
from vibn.sandbox.coolify.engines import COMMON_RULES, DEFAULTS, ENGINES, PATCH_RULES, Engine
from vibn.sandbox.coolify.lifecycle import database_status, start_database, stop_database
from vibn.sandbox.coolify.routes_applications import DELETE_FLAGS, post_required
from vibn.sandbox.coolify.routes_projects import placement
from vibn.sandbox.coolify.store import CoolifyStore, Record, new_uuid
from vibn.sandbox.coolify.validation import coerce, validate
from vibn.sandbox.coolify.web import Call, Handler, fail, invalid, reply
from vibn.sandbox.routing import Router


def find_database(store: CoolifyStore, uuid: str) -> Record:
    db = store.find("databases", uuid)
    if db is None:
        fail(404, "Database not found.")
    return db


def _check_confs(engine: Engine, body: dict[str, Any]) -> None:
    for field in engine.conf_fields:
        if body.get(field) is not None:
            decode_base64(field, body[field])


def _apply(db: Record, body: dict[str, Any], rules: dict[str, Any]) -> None:
    for key, value in body.items():
        if key in rules and key not in COMMON_RULES.keys() - PATCH_RULES.keys():
            db[key] = coerce(value, rules[key])
    if not db.get("public_port"):
        db["is_public"] = False


def create_database(call: Call, flavor: str) -> Response:
    store = call.store
    engine = ENGINES[flavor]
    body = call.strict_json()
    rules = {**COMMON_RULES, **engine.fields}
    errors = validate(body, rules, rules)
    if errors:
        invalid(errors)
    env = placement(store, body)
    _check_confs(engine, body)
    uuid = new_uuid()
    db: Record = {
        "uuid": uuid,
        "name": body.get("name") or f"{flavor}-database-{uuid}",
        **DEFAULTS,
        "image": engine.image,
        **engine.initial_values(body),
        "environment_id": env["id"],
        "_environment": env["uuid"],
        "_project": env["_project"],
        "_flavor": flavor,
        "_tags": sorted(set(body.get("tags") or [])),
        "_started_at": None,
        "_stopped_at": None,
    }
    _apply(db, {k: v for k, v in body.items() if k not in engine.fields}, rules)
    db = store.insert("databases", db)
    if coerce(body.get("instant_deploy", False), COMMON_RULES["instant_deploy"]):
        start_database(store, db)
    out = {"uuid": db["uuid"], "internal_db_url": engine.internal_url(db)}
    external = engine.external_url(db, views.PUBLIC_HOST)
    if external:
        out["external_db_url"] = external
    return reply(out, 201)


def list_databases(call: Call) -> Response:
    store = call.store
    return reply([views.database(store, d, with_backups=True) for d in store.rows("databases")])


def get_database(call: Call) -> Response:
    return reply(views.database(call.store, find_database(call.store, call.param("uuid"))))


def update_database(call: Call) -> Response:
    body = call.strict_json()
    db = find_database(call.store, call.param("uuid"))
    engine = ENGINES[db["_flavor"]]
    rules = {**PATCH_RULES, **engine.fields}
    errors = validate(body, rules, rules)
    if errors:
        invalid(errors)
    _check_confs(engine, body)
    if body.get("name") is None:
        body.pop("name", None)
    _apply(db, body, rules)
    call.store.touch(db)
    return reply({"message": "Database updated."})


def delete_database(call: Call) -> Response:
    db = find_database(call.store, call.param("uuid"))
    for flag in DELETE_FLAGS:
        call.query_bool(flag, True)
    call.store.schedule_delete(db)
    return reply({"message": "Database deletion request queued."})


def start(call: Call) -> Response:
    db = find_database(call.store, call.param("uuid"))
    if database_status(call.store, db, call.now) != "exited":
        fail(400, "Database is already running.")
    start_database(call.store, db)
    return reply({"message": "Database starting request queued."})


def stop(call: Call) -> Response:
    db = find_database(call.store, call.param("uuid"))
    call.query_bool("docker_cleanup", True)
    if database_status(call.store, db, call.now) == "exited":
        fail(400, "Database is already stopped.")
    stop_database(call.store, db)
    return reply({"message": "Database stopping request queued."})


def restart(call: Call) -> Response:
    db = find_database(call.store, call.param("uuid"))
    db["_stopped_at"] = None
    start_database(call.store, db)
    return reply({"message": "Database restarting request queued."})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/databases", list_databases),
    *[("POST", f"/databases/{f}", partial(create_database, flavor=f)) for f in ENGINES],
    ("GET", "/databases/{uuid}", get_database),
    ("PATCH", "/databases/{uuid}", update_database),
    ("DELETE", "/databases/{uuid}", delete_database),
    ("POST", "/databases/{uuid}/start", start),
    ("POST", "/databases/{uuid}/stop", stop),
    ("POST", "/databases/{uuid}/restart", restart),
    ("GET", "/databases/{uuid}/start", post_required),
    ("GET", "/databases/{uuid}/stop", post_required),
    ("GET", "/databases/{uuid}/restart", post_required),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)
