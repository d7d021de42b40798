"""Application environment variables, with Coolify's quirks kept on purpose.

- Variables are matched by key (trimmed, spaces become ``_``) within one scope:
  production (``is_preview=false``) or preview.
- Creating a production variable on an application also creates its *preview
  twin* (``EnvironmentVariable::booted``): ``GET .../envs`` lists every production
  variable, then every preview one, so a key shows up twice. Deleting or updating
  one never touches the other.
- ``PATCH .../envs/bulk`` upserts by key and silently drops unknown item fields;
  the other writes reject them with 422.
- These routes say "Application not found" without the final period (except
  DELETE), as the controller does.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from vibn.sandbox.coolify import views
from vibn.sandbox.coolify.routes_applications import find_application
from vibn.sandbox.coolify.store import CoolifyStore, Record
from vibn.sandbox.coolify.validation import Bool, Str, coerce, validate
from vibn.sandbox.coolify.web import Call, Handler, fail, invalid, reply
from vibn.sandbox.routing import Router

FLAGS = ("is_preview", "is_literal", "is_multiline", "is_shown_once", "is_runtime", "is_buildtime")
RULES = {
    "key": Str(required=True),
    "value": Str(nullable=True),
    **{flag: Bool() for flag in FLAGS},
    "comment": Str(nullable=True, max=256),
}
ALLOWED = tuple(RULES)
_NOT_FOUND = "Application not found"


def normalise_key(key: Any) -> str:
    return str(key).strip().replace(" ", "_")


def _flag(item: dict[str, Any], name: str, default: bool) -> bool:
    value = item.get(name)
    return default if value is None else bool(coerce(value, RULES[name]))


def _scope(store: CoolifyStore, app: Record, preview: bool) -> list[Record]:
    return [e for e in store.where("envs", _owner=app["uuid"]) if e["is_preview"] == preview]


def _find(store: CoolifyStore, app: Record, key: str, preview: bool) -> Record | None:
    return next((e for e in _scope(store, app, preview) if e["key"] == key), None)


def _create(store: CoolifyStore, app: Record, item: dict[str, Any]) -> Record:
    value = item.get("value")
    env = store.insert(
        "envs",
        {
            "key": normalise_key(item["key"]),
            "value": value,
            "real_value": value,
            "is_preview": _flag(item, "is_preview", False),
            "is_literal": _flag(item, "is_literal", False),
            "is_multiline": _flag(item, "is_multiline", False),
            "is_shown_once": _flag(item, "is_shown_once", False),
            "is_runtime": _flag(item, "is_runtime", True),
            "is_buildtime": _flag(item, "is_buildtime", True),
            "is_shared": False,
            "is_required": False,
            "comment": item.get("comment"),
            "version": views.VERSION,
            "resourceable_type": "App\\Models\\Application",
            "resourceable_id": app["id"],
            "_owner": app["uuid"],
        },
    )
    if not env["is_preview"] and _find(store, app, env["key"], True) is None:
        twin = {k: v for k, v in env.items() if k not in ("id", "uuid", "created_at", "updated_at")}
        store.insert("envs", {**twin, "is_preview": True})
    return env


def _update(store: CoolifyStore, env: Record, item: dict[str, Any]) -> None:
    env["value"] = item.get("value")
    env["real_value"] = env["value"]
    env["is_literal"] = _flag(item, "is_literal", False)
    env["is_multiline"] = _flag(item, "is_multiline", False)
    env["is_shown_once"] = _flag(item, "is_shown_once", False)
    for flag in ("is_runtime", "is_buildtime"):
        if item.get(flag) is not None:
            env[flag] = _flag(item, flag, True)
    if "comment" in item:
        env["comment"] = item["comment"]
    store.touch(env)


def list_envs(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"), _NOT_FOUND)
    envs = _scope(call.store, app, False) + _scope(call.store, app, True)
    return reply([views.env_var(e) for e in envs])


def create_env(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"), _NOT_FOUND)
    body = call.loose_json()
    errors = validate(body, RULES, ALLOWED)
    if errors:
        invalid(errors)
    key = normalise_key(body["key"])
    if _find(call.store, app, key, _flag(body, "is_preview", False)) is not None:
        fail(409, "Environment variable already exists. Use PATCH request to update it.")
    env = _create(call.store, app, body)
    return reply({"uuid": env["uuid"]}, 201)


def update_env(call: Call) -> Response:
    body = call.strict_json()
    app = find_application(call.store, call.param("uuid"), _NOT_FOUND)
    errors = validate(body, RULES, ALLOWED)
    if errors:
        invalid(errors)
    env = _find(call.store, app, normalise_key(body["key"]), _flag(body, "is_preview", False))
    if env is None:
        fail(404, "Environment variable not found.")
    _update(call.store, env, body)
    return reply(views.env_var(env), 201)


def bulk_envs(call: Call) -> Response:
    body = call.strict_json()
    app = find_application(call.store, call.param("uuid"), _NOT_FOUND)
    data = body.get("data")
    if not data:
        fail(400, "Bulk data is required.")
    items = list(data.values()) if isinstance(data, dict) else list(data)
    out = []
    for raw in items:
        item = {k: v for k, v in raw.items() if k in ALLOWED} if isinstance(raw, dict) else {}
        errors = validate(item, RULES)
        if errors:
            invalid(errors)
        preview = _flag(item, "is_preview", False)
        env = _find(call.store, app, normalise_key(item["key"]), preview)
        if env is None:
            env = _create(call.store, app, item)
        else:
            _update(call.store, env, item)
        out.append(views.env_var(env))
    return reply(out, 201)


def delete_env(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"))
    env = call.store.find("envs", call.param("env_uuid"))
    if env is None or env["_owner"] != app["uuid"]:
        fail(404, "Environment variable not found.")
    call.store.remove("envs", env["uuid"])
    return reply({"message": "Environment variable deleted."})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/applications/{uuid}/envs", list_envs),
    ("POST", "/applications/{uuid}/envs", create_env),
    ("PATCH", "/applications/{uuid}/envs/bulk", bulk_envs),
    ("PATCH", "/applications/{uuid}/envs", update_env),
    ("DELETE", "/applications/{uuid}/envs/{env_uuid}", delete_env),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)
