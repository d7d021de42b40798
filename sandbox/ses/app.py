"""The SES emulator's request pipeline and its ``/_sandbox/ses`` control routes.

Every API request is authenticated first (SigV4 for service ``ses`` in the region the
endpoint serves, with the sandbox's key pair: ``ACCESS_KEY_ID`` and the sandbox token
as the secret access key), then routed, then run under the store lock; changes are on
disk before the response leaves. Injected faults answer in AWS's error shape
(``x-amzn-ErrorType`` header, ``{"message"}`` body) unless the fault names its own body.

Control routes besides the shared ones: ``/_sandbox/ses/settings`` (``region``,
``verification_delay``, ``production_access``) and ``/_sandbox/ses/clock`` (move the
emulator's time past SES's 72-hour verification window), ``GET|DELETE
/_sandbox/ses/messages`` (what SendEmail accepted) and ``POST
/_sandbox/ses/verify-address`` ``{"address"}`` (follow an address's verification link).
"""

from __future__ import annotations

from dataclasses import replace

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vibn.sandbox.control import ControlError, ControlHandler, ControlState, Fault, SandboxApp
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.gcp_rest import control_json, control_routes
from vibn.sandbox.publicdns import PublicDns
from vibn.sandbox.routing import Router
from vibn.sandbox.ses import account, configsets, identities, sigv4
from vibn.sandbox.ses.store import ACCOUNT_ID, SesSettings, SesStore
from vibn.sandbox.ses.wire import Call, Handler, SesError, fault_body

NAME = "ses"
#: the access key id of the sandbox's key pair (its secret is the sandbox token)
ACCESS_KEY_ID = "AKIAVIBNSANDBOXLOCAL"


class SesApi:
    """Everything that is not ``/_sandbox``: authentication, routing, the handlers."""

    def __init__(self, store: SesStore, dns: PublicDns, secret: str) -> None:
        self.store = store
        self.dns = dns
        self.secret = secret
        self.router: Router[Handler] = Router()
        identities.register(self.router)
        configsets.register(self.router)
        account.register(self.router)

    def template_for(self, method: str, path: str) -> str | None:
        return self.router.template_for(method, path)

    async def __call__(self, request: Request) -> Response:
        raw = await request.body()
        scope = request.scope
        signed = sigv4.Signed(
            method=request.method,
            raw_path=(scope.get("raw_path") or scope["path"].encode()).decode("latin-1"),
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=raw,
        )
        with self.store.lock:
            region = self.store.settings.region
        try:
            sigv4.verify(signed, region=region, access_key=ACCESS_KEY_ID, secret=self.secret)
            res = self.router.resolve(request.method, request.url.path)
            if res.route is None:
                raise SesError("UnknownOperationException", "", 404)
            with self.store.lock:
                call = Call(
                    params=res.params,
                    query=list(request.query_params.multi_items()),
                    raw=raw,
                    store=self.store,
                    dns=self.dns,
                    now=self.store.now(),
                    region=region,
                    account=ACCOUNT_ID,
                )
                try:
                    response: Response = res.route.handler(call)
                finally:
                    self.store.flush()
            return response
        except SesError as err:
            return err.response()


class SesFaults(ControlState):
    """Faults injected without a body answer as SES errors do."""

    def take_fault(self, method: str, path: str, body: str = "") -> Fault | None:
        fault = super().take_fault(method, path, body)
        if fault is None or fault.status is None or fault.body is not None or fault.text:
            return fault
        doc, headers = fault_body(fault.status)
        return replace(fault, body=doc, headers={**headers, **fault.headers})


def _control(store: SesStore) -> Router[ControlHandler]:
    router = control_routes(NAME, store)

    async def messages(request: Request) -> Response:
        with store.lock:
            sent = sorted(store.messages().values(), key=lambda m: (m["at"], m["MessageId"]))
            return JSONResponse({"messages": sent})

    async def clear_messages(request: Request) -> Response:
        with store.lock:
            store.messages().clear()
            store.mark_dirty()
            store.flush()
        return JSONResponse({"messages": []})

    async def verify_address(request: Request) -> Response:
        body = await control_json(request)
        address = str(body.get("address") or "")
        with store.lock:
            rec = store.identity(address)
            if rec is None or rec["type"] != "EMAIL_ADDRESS":
                raise ControlError(f"no email address identity {address!r}")
            now = store.now()
            rec["address"].update(status="SUCCESS", since=now, success=now)
            store.mark_dirty()
            store.flush()
        return JSONResponse({"address": address, "status": "SUCCESS"})

    router.add("GET", "/messages", messages)
    router.add("DELETE", "/messages", clear_messages)
    router.add("POST", "/verify-address", verify_address)
    return router


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The SES v2 emulator, persisting to ``<state dir>/ses.json``.

    Its URL (``http://127.0.0.1:PORT``) is the ``endpoint_url`` for boto3's ``sesv2``
    client (or ``AWS_ENDPOINT_URL_SESV2``), with region ``ca-central-1``, access key
    ``ACCESS_KEY_ID`` and the sandbox token as the secret access key.
    """
    store = SesStore(config.state_file(NAME), config.clock, SesSettings())
    api = SesApi(store, config.public_dns, config.token)
    app = SandboxApp(NAME, api, api.template_for, store.reset, _control(store))
    app.state = SesFaults()
    return Emulator(NAME, app, "")
