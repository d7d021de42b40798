"""Projects, environments, servers and the version: where resources are placed.

Every application and database lives in an environment of a project on a server.
Creating a project auto-creates its ``production`` environment (Coolify's
``Project::booted``); a project or environment that still holds resources cannot
be deleted. The sandbox has exactly one server, Coolify's own host.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import PlainTextResponse, Response

from vibn.sandbox.coolify import views
from vibn.sandbox.coolify.store import SERVER_UUID, TEAM_ID, CoolifyStore, Record
from vibn.sandbox.coolify.validation import Str, validate
from vibn.sandbox.coolify.web import Call, Handler, fail, invalid, reply
from vibn.sandbox.routing import Router

_PROJECT_RULES = {"name": Str(max=255), "description": Str(nullable=True)}

#: environment payload key for each database flavour (``GET /projects/{uuid}/{env}``)
_ENV_DB_KEYS = {
    "postgresql": "postgresqls",
    "redis": "redis",
    "mongodb": "mongodbs",
    "mysql": "mysqls",
    "mariadb": "mariadbs",
    "keydb": "keydbs",
    "dragonfly": "dragonflies",
    "clickhouse": "clickhouses",
}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def find_project(store: CoolifyStore, uuid: str) -> Record:
    project = store.find("projects", uuid)
    if project is None:
        fail(404, "Project not found.")
    return project


def find_environment(
    store: CoolifyStore, project: Record, name_or_uuid: str | None
) -> Record | None:
    """By name first, then by uuid, as Coolify looks it up."""
    envs = store.where("environments", _project=project["uuid"])
    for env in envs:
        if env["name"] == name_or_uuid:
            return env
    for env in envs:
        if env["uuid"] == name_or_uuid:
            return env
    return None


def placement(store: CoolifyStore, body: dict[str, Any]) -> Record:
    """The environment a new resource goes to; the errors Coolify gives on the way."""
    env_name, env_uuid = body.get("environment_name"), body.get("environment_uuid")
    if _blank(env_name) and _blank(env_uuid):
        fail(422, "You need to provide at least one of environment_name or environment_uuid.")
    project = find_project(store, str(body.get("project_uuid")))
    env = find_environment(store, project, env_name) if not _blank(env_name) else None
    if env is None and not _blank(env_uuid):
        env = next(
            (
                e
                for e in store.where("environments", _project=project["uuid"])
                if e["uuid"] == env_uuid
            ),
            None,
        )
    if env is None:
        fail(404, "Environment not found.")
    if body.get("server_uuid") != SERVER_UUID:
        fail(404, "Server not found.")
    return env


def _resources(store: CoolifyStore, env_uuid: str) -> list[Record]:
    return store.where("applications", _environment=env_uuid) + store.where(
        "databases", _environment=env_uuid
    )


def create_environment(store: CoolifyStore, project: Record, name: str) -> Record:
    return store.insert(
        "environments",
        {
            "name": name,
            "project_id": project["id"],
            "description": None,
            "_project": project["uuid"],
        },
    )


def version(call: Call) -> Response:
    return PlainTextResponse(views.VERSION)


def list_servers(call: Call) -> Response:
    return reply([views.server_summary()])


def get_server(call: Call) -> Response:
    if call.param("uuid") != SERVER_UUID:
        fail(404, "Server not found.")
    return reply(views.server())


def list_projects(call: Call) -> Response:
    return reply([views.project_summary(p) for p in call.store.rows("projects")])


def create_project(call: Call) -> Response:
    body = call.strict_json()
    rules = {**_PROJECT_RULES, "name": Str(required=True, max=255)}
    errors = validate(body, rules, _PROJECT_RULES)
    if errors:
        invalid(errors)
    project = call.store.insert(
        "projects",
        {"name": body["name"], "description": body.get("description"), "team_id": TEAM_ID},
    )
    create_environment(call.store, project, "production")
    return reply({"uuid": project["uuid"]}, 201)


def get_project(call: Call) -> Response:
    project = find_project(call.store, call.param("uuid"))
    return reply(views.project(call.store, project))


def update_project(call: Call) -> Response:
    body = call.strict_json()
    project = find_project(call.store, call.param("uuid"))
    errors = validate(body, _PROJECT_RULES, _PROJECT_RULES)
    if errors:
        invalid(errors)
    for key in ("name", "description"):
        if key in body and not (key == "name" and body[key] is None):
            project[key] = body[key]
    call.store.touch(project)
    return reply({k: project[k] for k in ("uuid", "name", "description")}, 201)


def delete_project(call: Call) -> Response:
    store = call.store
    project = find_project(store, call.param("uuid"))
    envs = store.where("environments", _project=project["uuid"])
    if any(_resources(store, e["uuid"]) for e in envs):
        fail(400, "Project has resources, so it cannot be deleted.")
    for env in envs:
        store.remove("environments", env["uuid"])
    store.remove("projects", project["uuid"])
    return reply({"message": "Project deleted."})


def list_environments(call: Call) -> Response:
    project = find_project(call.store, call.param("uuid"))
    envs = call.store.where("environments", _project=project["uuid"])
    return reply([{"id": e["id"], "name": e["name"], "uuid": e["uuid"]} for e in envs])


def create_env(call: Call) -> Response:
    body = call.strict_json()
    project = find_project(call.store, call.param("uuid"))
    errors = validate(body, {"name": Str(required=True, max=255)}, ("name",))
    if errors:
        invalid(errors)
    if find_environment(call.store, project, body["name"]) is not None:
        fail(409, "Environment with this name already exists.")
    env = create_environment(call.store, project, body["name"])
    return reply({"uuid": env["uuid"]}, 201)


def _env_or_404(call: Call) -> Record:
    project = find_project(call.store, call.param("uuid"))
    env = find_environment(call.store, project, call.param("environment_name_or_uuid"))
    if env is None:
        fail(404, "Environment not found.")
    return env


def get_environment(call: Call) -> Response:
    store = call.store
    env = _env_or_404(call)
    data = views.environment(env)
    data["applications"] = [
        views.application(store, a) for a in store.where("applications", _environment=env["uuid"])
    ]
    for flavor, key in _ENV_DB_KEYS.items():
        data[key] = [
            views.database(store, d)
            for d in store.where("databases", _environment=env["uuid"], _flavor=flavor)
        ]
    data["services"] = []
    return reply(data)


def update_environment(call: Call) -> Response:
    body = call.strict_json()
    env = _env_or_404(call)
    errors = validate(body, _PROJECT_RULES, _PROJECT_RULES)
    if errors:
        invalid(errors)
    for key in ("name", "description"):
        if key in body:
            env[key] = body[key]
    call.store.touch(env)
    return reply(views.environment(env))


def delete_environment(call: Call) -> Response:
    env = _env_or_404(call)
    if _resources(call.store, env["uuid"]):
        fail(400, "Environment has resources, so it cannot be deleted.")
    call.store.remove("environments", env["uuid"])
    return reply({"message": "Environment deleted."})


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/version", version),
    ("GET", "/servers", list_servers),
    ("GET", "/servers/{uuid}", get_server),
    ("GET", "/projects", list_projects),
    ("POST", "/projects", create_project),
    ("GET", "/projects/{uuid}", get_project),
    ("PATCH", "/projects/{uuid}", update_project),
    ("DELETE", "/projects/{uuid}", delete_project),
    ("GET", "/projects/{uuid}/environments", list_environments),
    ("POST", "/projects/{uuid}/environments", create_env),
    ("PATCH", "/projects/{uuid}/environments/{environment_name_or_uuid}", update_environment),
    ("DELETE", "/projects/{uuid}/environments/{environment_name_or_uuid}", delete_environment),
    ("GET", "/projects/{uuid}/{environment_name_or_uuid}", get_environment),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)
