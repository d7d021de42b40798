"""Application endpoints: create, list (with ``?tag=``), read, update, delete, lifecycle.

Deletion is asynchronous in Coolify (a queued ``DeleteResourceJob``): the call
answers "Application deletion request queued." and the application stays readable
for ``delete_delay_seconds``. ``start``/``restart`` queue a deployment and return
its uuid; ``stop`` only records the stop. The old GET spellings of the actions
answer 405, as Coolify has since v4.2.0.
"""

from __future__ import annotations

from functools import partial

from starlette.responses import Response

from vibn.sandbox.coolify import views
from vibn.sandbox.coolify.app_create import create_application, update_application
from vibn.sandbox.coolify.lifecycle import queue_deployment
from vibn.sandbox.coolify.store import CoolifyStore, Record
from vibn.sandbox.coolify.web import ApiError, Call, Handler, fail, reply
from vibn.sandbox.routing import Router

DELETE_FLAGS = (
    "delete_configurations",
    "delete_volumes",
    "docker_cleanup",
    "delete_connected_networks",
)


def find_application(
    store: CoolifyStore, uuid: str, message: str = "Application not found."
) -> Record:
    app = store.find("applications", uuid)
    if app is None:
        fail(404, message)
    return app


def list_applications(call: Call) -> Response:
    tag = call.query.get("tag")
    apps = call.store.rows("applications")
    if tag:
        apps = [a for a in apps if tag in a.get("_tags", [])]
    return reply([views.application(call.store, a) for a in apps])


def get_application(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"))
    return reply(views.application(call.store, app))


def patch_application(call: Call) -> Response:
    call.strict_json()
    app = find_application(call.store, call.param("uuid"))
    return update_application(call, app)


def delete_application(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"))
    for flag in DELETE_FLAGS:
        call.query_bool(flag, True)
    call.store.schedule_delete(app)
    return reply({"message": "Application deletion request queued."})


def start_application(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"))
    dep = queue_deployment(
        call.store,
        app,
        force=call.query_bool("force", False),
        instant=call.query_bool("instant_deploy", False),
    )
    return reply(
        {"message": "Deployment request queued.", "deployment_uuid": dep["deployment_uuid"]}
    )


def restart_application(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"))
    dep = queue_deployment(call.store, app, restart_only=True)
    return reply({"message": "Restart request queued.", "deployment_uuid": dep["deployment_uuid"]})


def stop_application(call: Call) -> Response:
    app = find_application(call.store, call.param("uuid"))
    call.query_bool("docker_cleanup", True)
    app["_stopped_at"] = call.now
    call.store.touch(app)
    return reply({"message": "Application stopping request queued."})


def post_required(call: Call) -> Response:
    """Coolify's ``OtherController::post_required`` for the old GET action routes."""
    raise ApiError(
        405, {"message": "This endpoint has changed to a POST request."}, {"Allow": "POST"}
    )


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/applications", list_applications),
    ("POST", "/applications/public", partial(create_application, variant="public")),
    (
        "POST",
        "/applications/private-deploy-key",
        partial(create_application, variant="private-deploy-key"),
    ),
    ("POST", "/applications/dockerfile", partial(create_application, variant="dockerfile")),
    ("POST", "/applications/dockerimage", partial(create_application, variant="dockerimage")),
    ("GET", "/applications/{uuid}", get_application),
    ("PATCH", "/applications/{uuid}", patch_application),
    ("DELETE", "/applications/{uuid}", delete_application),
    ("POST", "/applications/{uuid}/start", start_application),
    ("POST", "/applications/{uuid}/restart", restart_application),
    ("POST", "/applications/{uuid}/stop", stop_application),
    ("GET", "/applications/{uuid}/start", post_required),
    ("GET", "/applications/{uuid}/restart", post_required),
    ("GET", "/applications/{uuid}/stop", post_required),
]


def register(router: Router[Handler]) -> None:
    for method, template, handler in ROUTES:
        router.add(method, template, handler)
