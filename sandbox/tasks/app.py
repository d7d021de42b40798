"""The Cloud Tasks v2 emulator's assembly and its ``/_sandbox/tasks`` controls.

Besides the shared ``/settings`` and ``/clock`` (see ``gcp_rest``), the
controls list the delivery attempts (``GET /_sandbox/tasks/attempts``, with the
exact request each target was sent) and clear them (``DELETE``). Changing a
setting or the clock wakes the dispatcher, so a test that jumps the clock past
a backoff sees the retry without waiting for it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vibn.sandbox.control import ControlHandler
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.gcp_rest import GcpApi, GcpStore, control_routes, sandbox_app
from vibn.sandbox.routing import Router
from vibn.sandbox.tasks.dispatcher import Dispatcher
from vibn.sandbox.tasks.service import TasksService
from vibn.sandbox.tasks.settings import TasksSettings

#: the API is served at the root: ``url`` is what ``client_options.api_endpoint`` takes
API_PREFIX = ""
TABLES = ("queues", "tasks", "queue_tombstones", "task_tombstones")


def _control(service: TasksService, dispatcher: Dispatcher) -> Router[ControlHandler]:
    router = control_routes("tasks", service.store, dispatcher.kick_soon)

    async def attempts(request: Request) -> Response:
        with service.store.lock:
            return JSONResponse({"attempts": list(service.attempts)})

    async def clear_attempts(request: Request) -> Response:
        with service.store.lock:
            service.attempts.clear()
        return JSONResponse({"attempts": []})

    router.add("GET", "/attempts", attempts)
    router.add("DELETE", "/attempts", clear_attempts)
    return router


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The Cloud Tasks emulator, persisting to ``<state dir>/tasks.json``."""
    settings = TasksSettings()
    store = GcpStore(config.state_file("tasks"), config.clock, TABLES, settings)
    dispatcher: Dispatcher | None = None

    async def kick() -> None:
        if dispatcher is not None:
            await dispatcher.kick()

    service = TasksService(store, settings, kick)
    dispatcher = Dispatcher(service)
    api = GcpApi(store, service.router())

    def reset() -> None:
        store.reset()
        with store.lock:
            service.attempts.clear()

    app = sandbox_app("tasks", api, reset, _control(service, dispatcher))
    return Emulator("tasks", app, API_PREFIX)
