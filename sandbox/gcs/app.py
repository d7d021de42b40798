"""The Storage emulator's request pipeline.

Object names travel percent-encoded (``a%2Fb``) as one path segment, so routes
are matched on the *raw* path and parameters unquoted afterwards. No credential
is required: google-cloud-storage with ``AnonymousCredentials`` (or
``STORAGE_EMULATOR_HOST``) sends no ``Authorization`` header, and a bearer token
is accepted and ignored. Handlers run under the store lock and any change is
persisted before the response leaves. Injected faults answer in GCS's error
shape unless the fault names its own body.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import Response

from vibn.sandbox.control import SandboxApp
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.gcs import buckets, hmac_keys, iam, objects
from vibn.sandbox.gcs.gcp import ShapedFaults
from vibn.sandbox.gcs.store import GcsStore
from vibn.sandbox.gcs.wire import Call, GcsError, Handler, error_body_for
from vibn.sandbox.routing import Router

NAME = "storage"
_OBJECT_TEMPLATE = "/storage/v1/b/{bucket}/o/{object}"


class StorageApi:
    """Everything that is not ``/_sandbox``: routing and the handlers."""

    def __init__(self, store: GcsStore) -> None:
        self.store = store
        self.router: Router[Handler] = Router()
        for module in (buckets, iam, hmac_keys, objects):
            module.register(self.router)

    def template_for(self, method: str, path: str) -> str | None:
        """The template a request is counted under (``path`` is already unquoted)."""
        template = self.router.template_for(method, path)
        if template is None and objects.OBJECT_PATH.match(path):
            prefix = "/download" if path.startswith("/download") else ""
            return prefix + _OBJECT_TEMPLATE
        return template

    async def __call__(self, request: Request) -> Response:
        raw = request.scope.get("raw_path")
        path = raw.decode("latin-1") if raw else quote(request.url.path)
        path = path.split("?", 1)[0]
        method = request.method.upper()
        res = self.router.resolve(method, path)
        if res.route is None:
            return GcsError(404, "notFound", "Not Found").response()
        call = Call(
            method=method,
            path=path,
            params={k: unquote(v) for k, v in res.params.items()},
            query=dict(request.query_params),
            body=await request.body(),
            content_type=request.headers.get("content-type", ""),
            base_url=str(request.base_url).rstrip("/"),
            store=self.store,
        )
        with self.store.lock:
            try:
                response = res.route.handler(call)
            except GcsError as err:
                response = err.response()
            self.store.flush()
        return response


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The Storage emulator, persisting to ``<state dir>/storage.json``.

    Its URL is the ``api_endpoint`` for google-cloud-storage (and the value of
    ``STORAGE_EMULATOR_HOST``): the client appends ``/storage/v1`` itself.
    """
    store = GcsStore(config.state_file(NAME), config.clock)
    api = StorageApi(store)
    app = SandboxApp(NAME, api, api.template_for, store.reset)
    app.state = ShapedFaults(error_body_for)
    return Emulator(NAME, app, "")
