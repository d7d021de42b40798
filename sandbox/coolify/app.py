"""The Coolify emulator's request pipeline and its ``/_sandbox/coolify`` controls.

Order of checks, as in Coolify's Laravel stack: the ``api`` throttle (only when a
rate limit is configured: 429 with ``Retry-After``), the unauthenticated health
routes, route matching (unknown routes hit the fallback 404 before any auth),
then Sanctum's bearer check (401 ``Unauthenticated.``), then the controller.
Handlers run under the store lock; expired deletions are finished first and any
change is persisted before the response leaves.
"""

from __future__ import annotations

import json
import math
import threading
from collections import deque

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from vibn.sandbox.control import ControlError, ControlHandler, SandboxApp
from vibn.sandbox.coolify import (
    routes_applications,
    routes_backups,
    routes_databases,
    routes_deployments,
    routes_envs,
    routes_keys,
    routes_projects,
    routes_s3,
)
from vibn.sandbox.coolify.store import CoolifyStore, FailRule
from vibn.sandbox.coolify.web import ApiError, Call, Handler
from vibn.sandbox.emulator import Emulator, EmulatorConfig
from vibn.sandbox.routing import Router

API_PREFIX = "/api/v1"
HEALTH_PATHS = ("/api/health", "/api/v1/health")
_ROUTE_MODULES = (
    routes_projects,
    routes_applications,
    routes_envs,
    routes_deployments,
    routes_databases,
    routes_backups,
    routes_keys,
    routes_s3,
)


class RateLimiter:
    """Laravel's per-user sliding minute window (``throttle:api``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str, limit: int, now: float) -> tuple[int, float]:
        """Record a request; returns (remaining, seconds until a slot frees)."""
        with self._lock:
            window = self._hits.setdefault(key, deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= limit:
                return -1, window[0] + 60.0 - now
            window.append(now)
            return limit - len(window), 0.0

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


class CoolifyApi:
    """Everything under ``/api``: throttle, auth, routing, handlers."""

    def __init__(self, store: CoolifyStore, token: str) -> None:
        self.store = store
        self.token = token
        self.limiter = RateLimiter()
        self.router: Router[Handler] = Router(API_PREFIX)
        for module in _ROUTE_MODULES:
            module.register(self.router)

    def template_for(self, method: str, path: str) -> str | None:
        if path in HEALTH_PATHS:
            return path
        return self.router.template_for(method, path)

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        return scheme.lower() == "bearer" and credential.strip() == self.token

    def _throttle(self, request: Request) -> dict[str, str] | Response:
        limit = self.store.settings.rate_limit_per_minute
        if limit is None:
            return {}
        key = request.headers.get("authorization") or (
            request.client.host if request.client else ""
        )
        remaining, wait = self.limiter.hit(key, limit, self.store.now())
        if remaining < 0:
            retry = str(max(1, math.ceil(wait)))
            headers = {
                "Retry-After": retry,
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
            }
            return JSONResponse({"message": "Too Many Attempts."}, 429, headers=headers)
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining)}

    async def __call__(self, request: Request) -> Response:
        throttled = self._throttle(request)
        if isinstance(throttled, Response):
            return throttled
        response = await self._answer(request)
        response.headers.update(throttled)
        return response

    async def _answer(self, request: Request) -> Response:
        method, path = request.method.upper(), request.url.path
        if path in HEALTH_PATHS and method in ("GET", "HEAD"):
            return PlainTextResponse("OK")
        res = self.router.resolve(method, path)
        if res.route is None:
            return JSONResponse({"message": "Not found.", "docs": "https://coolify.io/docs"}, 404)
        if not self._authorized(request):
            return JSONResponse({"message": "Unauthenticated."}, 401)
        call = Call(
            method=method,
            path=path,
            params=res.params,
            query=dict(request.query_params),
            body=await request.body(),
            content_type=request.headers.get("content-type", ""),
            store=self.store,
        )
        with self.store.lock:
            self.store.purge()
            try:
                response = res.route.handler(call)
            except ApiError as err:
                response = err.response()
            self.store.flush()
        return response


def _control_routes(api: CoolifyApi) -> Router[ControlHandler]:
    store = api.store
    router: Router[ControlHandler] = Router("/_sandbox/coolify")

    async def fail_deployments(request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as exc:
            raise ControlError(f"body is not JSON: {exc}") from exc
        times = body.get("times", 1) if isinstance(body, dict) else None
        app_uuid = body.get("application_uuid") if isinstance(body, dict) else None
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise ControlError("times must be a positive integer")
        with store.lock:
            store.fail_rules.append(FailRule(times, app_uuid))
            pending = sum(r.remaining for r in store.fail_rules)
        return JSONResponse({"pending_failures": pending}, 201)

    async def clear_failures(request: Request) -> Response:
        with store.lock:
            store.fail_rules.clear()
        return JSONResponse({"pending_failures": 0})

    async def get_settings(request: Request) -> Response:
        return JSONResponse(store.settings.to_json())

    async def set_settings(request: Request) -> Response:
        try:
            changes = json.loads(await request.body() or b"{}")
            if not isinstance(changes, dict):
                raise ValueError("settings are a JSON object")
            with store.lock:
                store.settings.update(changes)
        except ValueError as exc:
            raise ControlError(str(exc)) from exc
        api.limiter.clear()
        return JSONResponse(store.settings.to_json())

    router.add("POST", "/deployments/fail", fail_deployments)
    router.add("DELETE", "/deployments/fail", clear_failures)
    router.add("GET", "/settings", get_settings)
    router.add("POST", "/settings", set_settings)
    return router


def create_emulator(config: EmulatorConfig) -> Emulator:
    """The Coolify emulator, persisting to ``<state dir>/coolify.json``."""
    store = CoolifyStore(config.state_file("coolify"), config.clock)
    api = CoolifyApi(store, config.token)

    def reset() -> None:
        store.reset()
        api.limiter.clear()

    app = SandboxApp("coolify", api, api.template_for, reset, _control_routes(api))
    return Emulator("coolify", app, API_PREFIX)
