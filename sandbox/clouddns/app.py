"""The Cloud DNS emulator's request pipeline and its factory.

Both Python clients reach it with ``api_endpoint`` set to the emulator's URL and
``AnonymousCredentials`` (no ``Authorization`` header): google-cloud-dns appends
``/dns/v1`` itself, google-api-python-client's discovery document carries the
``dns/v1/`` prefix in every path. Handlers run under the store lock and changes are
persisted before the response leaves. Injected faults answer in Cloud DNS's error
shape unless the fault names its own body. The zones are published to the sandbox's
public DNS, so SES verification (and tests) resolve what they hold.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vibn.sandbox.clouddns import rrsets, zones
from vibn.sandbox.clouddns.store import DnsStore
from vibn.sandbox.clouddns.wire import Call, DnsError, Handler, error_body_for
from vibn.sandbox.control import SandboxApp
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.gcs.gcp import ShapedFaults
from vibn.sandbox.routing import Router

NAME = "dns"


class DnsApi:
    """Everything that is not ``/_sandbox``: routing and the handlers."""

    def __init__(self, store: DnsStore) -> None:
        self.store = store
        self.router: Router[Handler] = Router()
        zones.register(self.router)
        rrsets.register(self.router)

    def template_for(self, method: str, path: str) -> str | None:
        return self.router.template_for(method, path)

    async def __call__(self, request: Request) -> Response:
        method, path = request.method.upper(), request.url.path
        res = self.router.resolve(method, path)
        if res.route is None:
            return DnsError(404, "notFound", f"The requested URL {path} was not found.").response()
        call = Call(
            params=res.params,
            query=dict(request.query_params),
            body=await request.body(),
            store=self.store,
        )
        with self.store.lock:
            try:
                response = res.route.handler(call)
            except DnsError as err:
                response = err.response()
            self.store.flush()
        return response


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The Cloud DNS emulator, persisting to ``<state dir>/dns.json``.

    Its URL (``http://127.0.0.1:PORT``) is the ``api_endpoint`` for both
    ``google.cloud.dns.Client`` and ``googleapiclient.discovery.build("dns", "v1")``.
    """
    store = DnsStore(config.state_file(NAME), config.clock)
    api = DnsApi(store)
    app = SandboxApp(NAME, api, api.template_for, store.reset)
    app.state = ShapedFaults(error_body_for)
    config.public_dns.publish_zones(store.lookup)
    return Emulator(NAME, app, "")
