"""The outermost layer of every request: count it, time it, and never let it crash.

Counting happens here rather than in routes so that refusals raised by dependencies
(401, 403, 422) are counted too, under the route's template (``/v1/stacks/{name}``), not
the raw path with its unbounded names. An exception no handler knew becomes a 500
problem that says nothing of the internals, and the traceback goes to the log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .metrics import ApiMetrics
from .problems import internal_problem

log = logging.getLogger("vibn.api")


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "sent": False}

        async def observe(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["sent"] = message["status"], True
                route = _route(scope, message["status"])
                self.metrics.request_seconds.labels(scope["method"], route).observe(
                    time.perf_counter() - started
                )
            await send(message)

        try:
            await self.app(scope, receive, observe)
        except Exception:
            log.exception("unhandled error answering %s %s", scope["method"], scope["path"])
            if not state["sent"]:
                response = internal_problem().response(scope["path"])
                await response(scope, receive, observe)
        finally:
            status = state["status"]
            self.metrics.requests.labels(scope["method"], _route(scope, status), str(status)).inc()


def _route(scope: Scope, status: int = 200) -> str:
    """The route's template; the path itself for a fixed route outside the routers
    (``/openapi.json``); a constant for what matched nothing, whose paths are unbounded."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    return str(scope["path"]) if status < 400 else "(unmatched)"
