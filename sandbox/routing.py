"""A tiny path-template router shared by every sandbox emulator.

Emulators answer many methods on few path shapes (``/applications/{uuid}``) and
must behave as the real provider does on a wrong method or an unknown path. The
control plane also counts requests by *template*, not by concrete path, so the
router has to say which template a path fell into. Starlette's router does
neither cheaply, hence this ~80-line one: routes are tried in registration order,
``{name}`` matches one path segment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Generic, TypeVar

H = TypeVar("H")

_PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")


@dataclass(frozen=True)
class Route(Generic[H]):
    """One method on one path template."""

    method: str
    template: str
    pattern: re.Pattern[str]
    handler: H


@dataclass(frozen=True)
class Resolution(Generic[H]):
    """What a path resolved to: a route with its parameters, or only the methods
    that other routes on the same path accept (empty when the path is unknown)."""

    route: Route[H] | None = None
    params: dict[str, str] = field(default_factory=dict)
    allowed: tuple[str, ...] = ()


def compile_template(template: str) -> re.Pattern[str]:
    """``/a/{uuid}/b`` -> a regex with one named group per parameter."""
    out = []
    last = 0
    for m in _PARAM.finditer(template):
        out.append(re.escape(template[last : m.start()]))
        out.append(f"(?P<{m.group(1)}>[^/]+)")
        last = m.end()
    out.append(re.escape(template[last:]))
    return re.compile("^" + "".join(out) + "$")


class Router(Generic[H]):
    """Routes in registration order; the first matching template wins."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self._routes: list[Route[H]] = []

    def add(self, method: str, template: str, handler: H) -> None:
        full = self.prefix + template
        self._routes.append(Route(method.upper(), full, compile_template(full), handler))

    def resolve(self, method: str, path: str) -> Resolution[H]:
        want = "GET" if method.upper() == "HEAD" else method.upper()
        allowed: list[str] = []
        for route in self._routes:
            m = route.pattern.match(path)
            if m is None:
                continue
            if route.method == want:
                return Resolution(route, m.groupdict(), tuple(allowed))
            if route.method not in allowed:
                allowed.append(route.method)
        return Resolution(None, {}, tuple(allowed))

    def template_for(self, method: str, path: str) -> str | None:
        """The template a request is counted under (None for unknown paths)."""
        res = self.resolve(method, path)
        if res.route is not None:
            return res.route.template
        for route in self._routes:
            if route.pattern.match(path):
                return route.template
        return None
