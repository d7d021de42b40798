"""The Logging emulator's request pipeline.

Only the REST surface: google-cloud-logging's bucket client is gRPC-only, so
vibn's driver talks REST through google-api-python-client
(``build("logging", "v2", client_options={"api_endpoint": url})``), and the
handwritten ``google.cloud.logging.Client`` reaches sinks over HTTP with
``_use_grpc=False``. No credential is required (``AnonymousCredentials`` sends
none). Handlers run under the store lock; changes are persisted before the
response leaves. Injected faults answer in Google's error shape unless the
fault names its own body.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vibn.sandbox.control import SandboxApp
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.gcplogging import buckets, sinks
from vibn.sandbox.gcplogging.store import LoggingStore
from vibn.sandbox.gcplogging.wire import Call, GcpError, Handler, error_body_for
from vibn.sandbox.gcs.gcp import ShapedFaults
from vibn.sandbox.routing import Router

NAME = "logging"


class LoggingApi:
    """Everything that is not ``/_sandbox``: routing and the handlers."""

    def __init__(self, store: LoggingStore) -> None:
        self.store = store
        self.router: Router[Handler] = Router()
        buckets.register(self.router)
        sinks.register(self.router)

    def template_for(self, method: str, path: str) -> str | None:
        return self.router.template_for(method, path)

    async def __call__(self, request: Request) -> Response:
        method, path = request.method.upper(), request.url.path
        res = self.router.resolve(method, path)
        if res.route is None:
            return GcpError("NOT_FOUND", f"The requested URL {path} was not found.").response()
        call = Call(
            method=method,
            params=res.params,
            query=dict(request.query_params),
            body=await request.body(),
            store=self.store,
        )
        with self.store.lock:
            try:
                response = res.route.handler(call)
            except GcpError as err:
                response = err.response()
            self.store.flush()
        return response


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The Logging emulator, persisting to ``<state dir>/logging.json``.

    Its URL (``http://127.0.0.1:PORT``) is the ``api_endpoint`` for
    google-api-python-client and for ``google.cloud.logging.Client``.
    """
    store = LoggingStore(config.state_file(NAME), config.clock)
    api = LoggingApi(store)
    app = SandboxApp(NAME, api, api.template_for, store.reset)
    app.state = ShapedFaults(error_body_for)
    return Emulator(NAME, app, "")
