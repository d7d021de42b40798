"""The OpenSRS emulator's request pipeline and its ``/_sandbox/opensrs`` control routes.

Only ``POST /`` exists. The signature is checked first, over the exact body bytes
(``X-Username`` must be ``RESELLER``; the private key is the sandbox token): a wrong one
gets OpenSRS's XCP reply with code 401, which is what clients look for. The envelope is
then parsed, ``protocol`` must be XCP, and ``action``/``object`` (case-insensitive) pick
the handler; it runs under the store lock and changes are on disk before the reply
leaves. Every reply is HTTP 200 ``text/xml`` with a ``Content-Length``.

Control routes besides the shared ones: ``/_sandbox/opensrs/settings`` (``balance``,
``prices``, ``taken``; see ``store``), ``/_sandbox/opensrs/clock`` and
``GET|DELETE /_sandbox/opensrs/calls`` (calls by action and object: every call shares
the one path, so the shared request counts cannot tell them apart). A fault whose
``body`` is ``{"response_code": 705, ...}`` answers as an XCP reply with that code.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from vibn.sandbox.control import ControlHandler, ControlState, Fault, SandboxApp
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.gcp_rest import control_routes
from vibn.sandbox.opensrs import manage, ops, queries, register
from vibn.sandbox.opensrs.store import RESELLER, OpenSrsSettings, OpenSrsStore
from vibn.sandbox.opensrs.wire import Call, Reply, XcpFault, document, respond
from vibn.sandbox.routing import Router

NAME = "opensrs"
Handler = Callable[[Call], Reply]
HANDLERS: dict[tuple[str, str], Handler] = {
    ("LOOKUP", "DOMAIN"): queries.lookup,
    ("NAME_SUGGEST", "DOMAIN"): queries.name_suggest,
    ("GET_PRICE", "DOMAIN"): queries.get_price,
    ("GET_BALANCE", "DOMAIN"): queries.get_balance,
    ("GET_BALANCE", "BALANCE"): queries.get_balance,
    ("SW_REGISTER", "DOMAIN"): register.sw_register,
    ("RENEW", "DOMAIN"): manage.renew,
    ("GET", "DOMAIN"): manage.get,
    ("ADVANCED_UPDATE_NAMESERVERS", "DOMAIN"): manage.update_nameservers,
    ("MODIFY", "DOMAIN"): manage.modify,
    ("SET", "COOKIE"): manage.set_cookie,
    ("GET_DOMAINS_BY_EXPIREDATE", "DOMAIN"): manage.expiring,
}


class OpenSrsApi:
    """Everything that is not ``/_sandbox``: signature, envelope, dispatch."""

    def __init__(self, store: OpenSrsStore, key: str) -> None:
        self.store = store
        self.key = key
        self._lock = threading.Lock()
        self.calls: Counter[str] = Counter()

    def template_for(self, method: str, path: str) -> str | None:
        return "/" if path == "/" else None

    def counted(self) -> dict[str, int]:
        """Calls so far by ``ACTION OBJECT``."""
        with self._lock:
            return dict(sorted(self.calls.items()))

    def clear_counted(self) -> None:
        with self._lock:
            self.calls.clear()

    async def __call__(self, request: Request) -> Response:
        if request.url.path != "/":
            return PlainTextResponse("Not Found", 404)
        if request.method.upper() != "POST":
            return PlainTextResponse("Method Not Allowed", 405, headers={"Allow": "POST"})
        raw = await request.body()
        user = request.headers.get("x-username")
        signed = ops.signature_ok(raw, self.key, request.headers.get("x-signature"))
        if user != RESELLER or not signed:
            return respond(_object_of(raw), XcpFault(401, "Authentication Error.").reply())
        try:
            message = ops.parse(raw)
        except ops.OpsError as exc:
            return respond("DOMAIN", XcpFault(400, f"Unable to parse the request: {exc}").reply())
        return respond(*self._dispatch(message))

    def _dispatch(self, message: Any) -> tuple[str, Reply]:
        if not isinstance(message, Mapping):
            refusal = XcpFault(430, "Invalid command: the data block is not a dt_assoc")
            return "DOMAIN", refusal.reply()
        action = str(message.get("action") or "").strip().upper()
        object_ = str(message.get("object") or "").strip().upper()
        with self._lock:
            self.calls[f"{action} {object_}"] += 1
        if str(message.get("protocol") or "").strip().upper() != "XCP":
            return object_ or "DOMAIN", XcpFault(430, "Invalid protocol: expected XCP").reply()
        handler = HANDLERS.get((action, object_))
        if handler is None:
            refusal = XcpFault(430, f"Invalid command: {action} {object_}")
            return object_ or "DOMAIN", refusal.reply()
        attrs = message.get("attributes") or {}
        if not isinstance(attrs, Mapping):
            return object_, XcpFault(465, "Invalid attributes: expected a dt_assoc").reply()
        with self.store.lock:
            call = Call(action, object_, message, self.store, self.store.now(), attrs)
            try:
                reply = handler(call)
            except XcpFault as fault:
                reply = fault.reply()
            finally:
                self.store.flush()
        return object_, reply


def _object_of(raw: bytes) -> str:
    """The request's object for a refusal that comes before parsing proper."""
    try:
        message = ops.parse(raw)
    except ops.OpsError:
        return "DOMAIN"
    value = message.get("object") if isinstance(message, Mapping) else None
    return str(value).upper() if value else "DOMAIN"


class OpenSrsFaults(ControlState):
    """A fault whose body names a ``response_code`` answers as an XCP reply."""

    def take_fault(self, method: str, path: str, body: str = "") -> Fault | None:
        fault = super().take_fault(method, path, body)
        if fault is None or not isinstance(fault.body, Mapping) or fault.text is not None:
            return fault
        spec = fault.body
        if "response_code" not in spec:
            return fault
        try:
            code = int(spec["response_code"])
        except (TypeError, ValueError):
            return fault
        reply = Reply(
            code,
            str(spec.get("response_text") or "Fault injected by the sandbox"),
            spec.get("attributes"),
            success=bool(spec.get("is_success", False)),
        )
        xml = ops.render(document(str(spec.get("object") or "DOMAIN"), reply)).decode("utf-8")
        return replace(fault, text=xml, headers={"Content-Type": "text/xml", **fault.headers})


def _control(store: OpenSrsStore, api: OpenSrsApi) -> Router[ControlHandler]:
    router = control_routes(NAME, store)

    async def calls(request: Request) -> Response:
        counted = api.counted()
        return JSONResponse({"total": sum(counted.values()), "by_action": counted})

    async def clear_calls(request: Request) -> Response:
        api.clear_counted()
        return JSONResponse({"total": 0, "by_action": {}})

    router.add("GET", "/calls", calls)
    router.add("DELETE", "/calls", clear_calls)
    return router


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The OpenSRS emulator, persisting to ``<state dir>/opensrs.json``.

    A client posts to its URL (``http://127.0.0.1:PORT``, path ``/``) as reseller
    ``RESELLER`` with the sandbox token as the private key. It publishes the name
    servers of the domains it holds to the sandbox's public DNS.
    """
    store = OpenSrsStore(config.state_file(NAME), config.clock, OpenSrsSettings())
    api = OpenSrsApi(store, config.token)
    app = SandboxApp(NAME, api, api.template_for, store.reset, _control(store, api))
    app.state = OpenSrsFaults()
    config.public_dns.publish_delegations(store.nameservers_of)
    return Emulator(NAME, app, "")
