"""The ``/_sandbox`` control plane every emulator shares.

Tests and benchmarks need to bend an emulator in ways the real provider only does
by accident: fail the next N matching requests (5xx, 4xx, or a long delay that a
client sees as a timeout), add a fixed latency to every call, count the calls a
run made (per method and path template, to prove "one list call per kind"), and
wipe the data. ``SandboxApp`` wraps an emulator's API handler with all of that,
so each emulator only implements its provider's own behaviour. Control routes are
never counted, delayed or faulted.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from vibn.sandbox.routing import Router

ApiHandler = Callable[[Request], Awaitable[Response]]
ControlHandler = Callable[[Request], Awaitable[Response]]
TemplateFn = Callable[[str, str], "str | None"]

CONTROL_PREFIX = "/_sandbox"


class ControlError(ValueError):
    """A malformed control request; answered 400 with the message."""


@dataclass
class Fault:
    """Fail the next ``times`` requests matching ``method``/``path`` after ``skip``."""

    id: int
    method: str | None
    path: re.Pattern[str]
    status: int | None
    body: Any
    text: str | None
    headers: dict[str, str]
    times: int | None
    skip: int
    delay: float
    #: only requests whose body matches (e.g. one XML action on a single-URL API)
    body_match: re.Pattern[str] | None = None
    #: let the emulator act first, then delay/replace the reply: the provider did the
    #: work but the client never hears of it (a connection lost after the commit)
    after: bool = False

    def matches(self, method: str, path: str, body: str = "") -> bool:
        return (
            (self.method is None or self.method == method)
            and bool(self.path.search(path))
            and (self.body_match is None or bool(self.body_match.search(body)))
        )

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path": self.path.pattern,
            "status": self.status,
            "body": self.body,
            "text": self.text,
            "headers": self.headers,
            "times": self.times,
            "skip": self.skip,
            "delay": self.delay,
            "body_match": self.body_match.pattern if self.body_match else None,
            "after": self.after,
        }

    def response(self) -> Response:
        assert self.status is not None
        headers = dict(self.headers)
        if self.text is not None:
            return PlainTextResponse(self.text, self.status, headers=headers)
        body = self.body if self.body is not None else {"message": _phrase(self.status)}
        return JSONResponse(body, self.status, headers=headers)


def _phrase(status: int) -> str:
    if status == 500:
        return "Server Error"
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _number(spec: Mapping[str, Any], key: str, default: float | None) -> float | None:
    value = spec.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ControlError(f"{key} must be a non-negative number")
    return float(value)


_FAULT_FIELDS = {
    "method",
    "path",
    "status",
    "body",
    "text",
    "headers",
    "times",
    "skip",
    "delay",
    "body_match",
    "after",
}


def _regex(spec: Mapping[str, Any], key: str, default: str | None) -> re.Pattern[str] | None:
    value = spec.get(key, default)
    if value is None:
        return None
    try:
        return re.compile(str(value))
    except re.error as exc:
        raise ControlError(f"{key} is not a valid regex: {exc}") from exc


def parse_fault(fault_id: int, spec: Any) -> Fault:
    """Build a fault from the body of ``POST /_sandbox/faults``."""
    if not isinstance(spec, dict):
        raise ControlError("a fault is a JSON object")
    unknown = set(spec) - _FAULT_FIELDS
    if unknown:
        raise ControlError(f"unknown fault fields: {', '.join(sorted(unknown))}")
    method = spec.get("method")
    if method is not None and not isinstance(method, str):
        raise ControlError("method must be a string")
    pattern = _regex(spec, "path", ".*")
    assert pattern is not None
    after = spec.get("after", False)
    if not isinstance(after, bool):
        raise ControlError("after must be a boolean")
    status = spec.get("status")
    if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
        raise ControlError("status must be an HTTP status code")
    headers = spec.get("headers") or {}
    if not isinstance(headers, dict):
        raise ControlError("headers must be an object")
    text = spec.get("text")
    if text is not None and not isinstance(text, str):
        raise ControlError("text must be a string")
    delay = _number(spec, "delay", 0.0) or 0.0
    if status is None and delay == 0:
        raise ControlError("a fault needs a status, a delay, or both")
    times = _number(spec, "times", 1)
    skip = _number(spec, "skip", 0) or 0
    if status == 429 and not any(k.lower() == "retry-after" for k in headers):
        headers = {**headers, "Retry-After": "1"}
    return Fault(
        id=fault_id,
        method=method.upper() if method else None,
        path=pattern,
        status=status,
        body=spec.get("body"),
        text=text,
        headers={str(k): str(v) for k, v in headers.items()},
        times=None if times is None else int(times),
        skip=int(skip),
        delay=delay,
        body_match=_regex(spec, "body_match", None),
        after=after,
    )


class ControlState:
    """Faults, latency and request counts of one emulator (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next_id = 1
        self.latency = 0.0
        self._counts: Counter[str] = Counter()

    def add_fault(self, spec: Any) -> Fault:
        with self._lock:
            fault = parse_fault(self._next_id, spec)
            self._next_id += 1
            self._faults.append(fault)
            return fault

    @property
    def has_faults(self) -> bool:
        return bool(self._faults)

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def take_fault(self, method: str, path: str, body: str = "") -> Fault | None:
        """The fault this request triggers, consuming one of its uses."""
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path, body):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                return fault
            return None

    def count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def counts(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": sum(self._counts.values()),
                "by_route": dict(sorted(self._counts.items())),
            }

    def clear_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def reset(self) -> None:
        self.clear_faults()
        self.clear_counts()
        self.latency = 0.0


async def _pause(request: Request, seconds: float) -> bool:
    """Sleep, but stop early when the client hangs up; True if it is still there.

    The body is read first (and cached by the request), so the next ``receive``
    only returns on disconnect.
    """
    await request.body()
    try:
        message = await asyncio.wait_for(request.receive(), seconds)
    except TimeoutError:
        return True
    return bool(message.get("type") != "http.disconnect")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"body is not JSON: {exc}") from exc


class SandboxApp:
    """ASGI app: ``/_sandbox/...`` control routes, everything else to the emulator API."""

    def __init__(
        self,
        name: str,
        api: ApiHandler,
        template_for: TemplateFn,
        on_reset: Callable[[], None],
        extra_control: Router[ControlHandler] | None = None,
    ) -> None:
        self.name = name
        self.api = api
        self.template_for = template_for
        self.on_reset = on_reset
        self.state = ControlState()
        self.control: Router[ControlHandler] = Router(CONTROL_PREFIX)
        self.control.add("GET", "/health", self._health)
        self.control.add("GET", "/faults", self._faults_list)
        self.control.add("POST", "/faults", self._faults_add)
        self.control.add("DELETE", "/faults", self._faults_clear)
        self.control.add("GET", "/latency", self._latency_get)
        self.control.add("POST", "/latency", self._latency_set)
        self.control.add("GET", "/requests", self._requests_get)
        self.control.add("DELETE", "/requests", self._requests_clear)
        self.control.add("POST", "/reset", self._reset)
        self.extra_control = extra_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        path = request.url.path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            await (await self._control(request))(scope, receive, send)
            return
        response = await self._api(request)
        if response is not None:
            await response(scope, receive, send)

    async def _api(self, request: Request) -> Response | None:
        """The emulator's answer, after latency and faults (None: the client hung up)."""
        method, path = request.method.upper(), request.url.path
        if self.state.latency > 0:
            await asyncio.sleep(self.state.latency)
        template = self.template_for(method, path) or path
        self.state.count(f"{method} {template}")
        body = (await request.body()).decode("utf-8", "replace") if self.state.has_faults else ""
        fault = self.state.take_fault(method, path, body)
        if fault is None:
            return await self.api(request)
        done = await self.api(request) if fault.after else None
        if fault.delay > 0 and not await _pause(request, fault.delay):
            return None
        if fault.status is not None:
            return fault.response()
        return done if done is not None else await self.api(request)

    async def _control(self, request: Request) -> Response:
        method, path = request.method.upper(), request.url.path
        for router in (self.control, self.extra_control):
            if router is None:
                continue
            res = router.resolve(method, path)
            if res.route is not None:
                request.scope["path_params"] = res.params
                try:
                    return await res.route.handler(request)
                except ControlError as exc:
                    return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"error": f"no control route {method} {path}"}, 404)

    async def _health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "emulator": self.name, "pid": os.getpid()})

    async def _faults_list(self, request: Request) -> Response:
        return JSONResponse({"faults": self.state.faults()})

    async def _faults_add(self, request: Request) -> Response:
        body = await _json_body(request)
        specs = body if isinstance(body, list) else [body]
        added = [self.state.add_fault(spec).describe() for spec in specs]
        return JSONResponse(added if isinstance(body, list) else added[0], 201)

    async def _faults_clear(self, request: Request) -> Response:
        self.state.clear_faults()
        return JSONResponse({"faults": []})

    async def _latency_get(self, request: Request) -> Response:
        return JSONResponse({"seconds": self.state.latency})

    async def _latency_set(self, request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise ControlError("latency is a JSON object")
        self.state.latency = _number(body, "seconds", 0.0) or 0.0
        return JSONResponse({"seconds": self.state.latency})

    async def _requests_get(self, request: Request) -> Response:
        return JSONResponse(self.state.counts())

    async def _requests_clear(self, request: Request) -> Response:
        self.state.clear_counts()
        return JSONResponse(self.state.counts())

    async def _reset(self, request: Request) -> Response:
        self.on_reset()
        self.state.reset()
        return JSONResponse({"reset": True, "emulator": self.name})
