"""The request pipeline, state and control routes of a Google REST emulator.

``GcpApi`` resolves the route, binds query parameters (refusing unknown ones as
Google does), runs the handler under the store lock, answers errors in Google's
shape and persists changes before the response leaves; work a handler defers
(HTTP dispatch) runs afterwards on the server loop. ``GcpStore`` holds the JSON
tables and the run-time settings, including a clock offset tests move through
``/_sandbox/<name>/clock``. ``sandbox_app`` wraps it all in the shared
``/_sandbox`` control plane, with injected faults answering in Google's shape.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vibn.sandbox.control import ControlError, ControlHandler, ControlState, Fault, SandboxApp
from vibn.sandbox.gcp_rest.errors import GcpError, error_body_for, invalid
from vibn.sandbox.gcp_rest.schema import camel, snake
from vibn.sandbox.gcp_rest.timefmt import format_timestamp, parse_timestamp
from vibn.sandbox.persist import read_json, write_json_atomic
from vibn.sandbox.routing import Router

T = TypeVar("T")
Clock = Callable[[], float]


# -- requests ------------------------------------------------------------------

#: system parameters every Google API accepts (and ignores here)
SYSTEM_PARAMS = frozenset(
    {"$alt", "alt", "prettyPrint", "$prettyPrint", "fields", "$fields", "key", "quotaUser"}
    | {"$callback", "callback", "$.xgafv", "access_token", "uploadType", "upload_protocol"}
)


@dataclass
class Call:
    """One API request as a handler sees it."""

    params: dict[str, str]
    query: dict[str, str]
    raw: bytes
    int_enums: bool
    now: float
    background: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    def json(self) -> dict[str, Any]:
        if not self.raw.strip():
            return {}
        try:
            value = json.loads(self.raw)
        except ValueError as exc:
            invalid(f"Invalid JSON payload received. {exc}")
        if not isinstance(value, dict):
            invalid("Invalid JSON payload received. Expected an object.")
        return value

    def query_int(self, name: str, default: int) -> int:
        raw = self.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            invalid(f"Invalid value at '{snake(name)}' (TYPE_INT32), \"{raw}\"")


@dataclass(frozen=True)
class Endpoint:
    """A route's handler and the query parameters (camelCase) its request message binds."""

    handler: Callable[[Call], Any]
    query: frozenset[str] = frozenset()


def _query(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    out = {}
    for key, value in request.query_params.multi_items():
        if key in SYSTEM_PARAMS:
            continue
        name = camel(key)
        if name not in allowed:
            invalid(
                f'Invalid JSON payload received. Unknown name "{key}": Cannot bind query '
                f"parameter. Field '{key}' could not be found in request message."
            )
        out[name] = value
    return out


# -- pagination ----------------------------------------------------------------


def paginate(
    items: Sequence[T], key: Callable[[T], str], call: Call, max_size: int
) -> tuple[list[T], str]:
    """One page of ``items`` (sorted by ``key``) and the ``nextPageToken`` ("" at the end)."""
    size = call.query_int("pageSize", 0)
    if size < 0:
        invalid("page_size must not be negative.")
    size = min(size or max_size, max_size)
    ordered = sorted(items, key=key)
    token = call.query.get("pageToken", "")
    if token:
        try:
            after = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))["after"]
        except (ValueError, KeyError, TypeError, binascii.Error):
            invalid("The page token is invalid.")
        ordered = [i for i in ordered if key(i) > str(after)]
    page = ordered[:size]
    if len(ordered) <= size:
        return page, ""
    raw = json.dumps({"after": key(page[-1])}).encode()
    return page, base64.urlsafe_b64encode(raw).decode("ascii")


# -- state ---------------------------------------------------------------------


@dataclass
class GcpSettings:
    """Knobs changed at run time through ``/_sandbox/<name>/settings``.

    ``clock_offset`` moves the emulator's clock (``/_sandbox/<name>/clock``) so
    tests can jump past tombstone windows and schedules. Subclasses add fields;
    every field keeps the type of its default.
    """

    clock_offset: float = 0.0

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply ``changes``; ValueError naming a bad key or value, nothing applied then."""
        known = {f.name: getattr(self, f.name) for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise ValueError(f"unknown setting {key!r}")
            want = type(known[key])
            if want is bool and not isinstance(value, bool):
                raise ValueError(f"{key} must be true or false")
            if want is not bool and (isinstance(value, bool) or not isinstance(value, int | float)):
                raise ValueError(f"{key} must be a number")
            if want is not bool and key != "clock_offset" and value < 0:
                raise ValueError(f"{key} must not be negative")
        for key, value in changes.items():
            setattr(self, key, type(known[key])(value))

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class GcpStore:
    """Tables of JSON records behind one lock, persisted after each changing request."""

    FORMAT_VERSION = 1

    def __init__(
        self, path: Path | None, clock: Clock, tables: Sequence[str], settings: GcpSettings
    ) -> None:
        self.path = path
        self.clock = clock
        self.tables = tuple(tables)
        self.settings = settings
        self.lock = threading.RLock()
        self._dirty = False
        self.data: dict[str, Any] = self._empty()
        loaded = read_json(path) if path is not None else None
        if isinstance(loaded, dict) and loaded.get("version") == self.FORMAT_VERSION:
            self.data.update({t: loaded.get(t, {}) for t in self.tables})
            saved = loaded.get("settings") or {}
            known = {f.name for f in fields(self.settings)}
            self.settings.update({k: v for k, v in saved.items() if k in known})

    def _empty(self) -> dict[str, Any]:
        return {"version": self.FORMAT_VERSION, **{t: {} for t in self.tables}}

    def now(self) -> float:
        return self.clock() + self.settings.clock_offset

    def table(self, name: str) -> dict[str, dict[str, Any]]:
        rows: dict[str, dict[str, Any]] = self.data[name]
        return rows

    def mark_dirty(self) -> None:
        self._dirty = True

    def flush(self) -> None:
        if self._dirty and self.path is not None:
            write_json_atomic(self.path, {**self.data, "settings": self.settings.to_json()})
        self._dirty = False

    def reset(self) -> None:
        """Wipe every record (settings, and with them the clock offset, stay)."""
        with self.lock:
            self.data = self._empty()
            self._dirty = True
            self.flush()


class GcpApi:
    """The API side of an emulator: routing, query binding, the lock, errors, persistence."""

    def __init__(self, store: GcpStore, router: Router[Endpoint]) -> None:
        self.store = store
        self.router = router
        self._tasks: set[asyncio.Task[None]] = set()

    def template_for(self, method: str, path: str) -> str | None:
        return self.router.template_for(method, path)

    async def __call__(self, request: Request) -> Response:
        res = self.router.resolve(request.method, request.url.path)
        if res.route is None:
            return GcpError("NOT_FOUND", "Method not found.").response()
        endpoint = res.route.handler
        raw = await request.body()
        alt = request.query_params.get("$alt", "")
        with self.store.lock:
            try:
                call = Call(
                    params=res.params,
                    query=_query(request, endpoint.query),
                    raw=raw,
                    int_enums="enum-encoding=int" in alt,
                    now=self.store.now(),
                )
                response: Response = JSONResponse(endpoint.handler(call))
            except GcpError as err:
                return err.response()
            finally:
                self.store.flush()
        for job in call.background:
            self.spawn(job())
        return response

    def spawn(self, coro: Awaitable[None]) -> None:
        """Run ``coro`` on the server's loop, keeping a reference until it ends."""

        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _GcpFaults(ControlState):
    """Faults injected without a body answer in Google's error shape, not Coolify's."""

    def take_fault(self, method: str, path: str, body: str = "") -> Fault | None:
        fault = super().take_fault(method, path, body)
        if fault is None or fault.status is None or fault.body is not None or fault.text:
            return fault
        return replace(fault, body=error_body_for(fault.status))


def sandbox_app(
    name: str, api: GcpApi, on_reset: Callable[[], None], control: Router[ControlHandler]
) -> SandboxApp:
    """The emulator's ASGI app: ``api`` under the shared ``/_sandbox`` control plane."""
    app = SandboxApp(name, api, api.template_for, on_reset, control)
    app.state = _GcpFaults()
    return app


# -- control routes ------------------------------------------------------------


async def control_json(request: Request) -> dict[str, Any]:
    """The JSON object a control request carries (ControlError otherwise)."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError as exc:
        raise ControlError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ControlError("the body must be a JSON object")
    return body


def _clock_json(store: GcpStore) -> dict[str, Any]:
    return {"now": format_timestamp(store.now()), "offset_seconds": store.settings.clock_offset}


def control_routes(
    name: str, store: GcpStore, on_change: Callable[[], None] | None = None
) -> Router[ControlHandler]:
    """``/_sandbox/<name>/settings`` and ``/_sandbox/<name>/clock`` (GET reads, POST changes).

    The clock takes ``{"advance": seconds}``, ``{"now": "<RFC 3339>"}`` or
    ``{"offset": seconds}``; it moves the emulator's time, not the machine's.
    """
    router: Router[ControlHandler] = Router(f"/_sandbox/{name}")

    def changed() -> None:
        with store.lock:
            store.mark_dirty()
            store.flush()
        if on_change is not None:
            on_change()

    async def get_settings(request: Request) -> Response:
        with store.lock:
            return JSONResponse(store.settings.to_json())

    async def set_settings(request: Request) -> Response:
        changes = await control_json(request)
        with store.lock:
            try:
                store.settings.update(changes)
            except ValueError as exc:
                raise ControlError(str(exc)) from exc
        changed()
        return JSONResponse(store.settings.to_json())

    async def get_clock(request: Request) -> Response:
        with store.lock:
            return JSONResponse(_clock_json(store))

    async def set_clock(request: Request) -> Response:
        body = await control_json(request)
        if len(body) != 1 or next(iter(body)) not in ("advance", "now", "offset"):
            raise ControlError('the clock takes one of "advance", "now" or "offset"')
        key, value = next(iter(body.items()))
        with store.lock:
            offset = store.settings.clock_offset
            try:
                if key == "now":
                    offset = parse_timestamp(str(value)) - store.clock()
                elif isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{key} must be a number of seconds")
                else:
                    offset = offset + value if key == "advance" else float(value)
            except ValueError as exc:
                raise ControlError(str(exc)) from exc
            store.settings.clock_offset = offset
        changed()
        with store.lock:
            return JSONResponse(_clock_json(store))

    router.add("GET", "/settings", get_settings)
    router.add("POST", "/settings", set_settings)
    router.add("GET", "/clock", get_clock)
    router.add("POST", "/clock", set_clock)
    return router
