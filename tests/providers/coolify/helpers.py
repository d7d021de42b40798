"""Helpers for the Coolify driver contract tests.

``Ctx`` is the smallest honest ``ObserveContext`` (what earlier kinds returned and what
the last apply recorded); ``Coolify`` bundles the provider under test with the
emulator's control plane (faults, request counts).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from vibn.providers.base import Desired, Driver, Observed, Owner, Recorded, Scope
from vibn.providers.coolify import CoolifyProvider

from ..context import Ctx as Ctx

WS = "default"
STACK = "mysaas"
SCOPE = Scope(WS, frozenset({STACK}))

# kinds in observation order (parents first)
KINDS = (
    "coolify.project",
    "coolify.application",
    "coolify.database",
    "coolify.envs",
    "coolify.backup",
    "coolify.deployment",
)


@dataclass
class Waits:
    """Every sleep the client's retry policy asked for."""

    seconds: list[float] = field(default_factory=list)


@dataclass
class Coolify:
    """The provider under test, its drivers, and the emulator's control plane."""

    provider: CoolifyProvider
    drivers: dict[str, Driver]
    control: httpx.Client
    waits: Waits
    calls: list[tuple[str, str, int]]

    def observe(
        self,
        scope: Scope = SCOPE,
        records: Mapping[str, list[Recorded]] | None = None,
        upto: str = KINDS[-1],
    ) -> Ctx:
        """Observe every kind up to ``upto`` (parents first), as the reconciler does."""
        ctx = Ctx(records=dict(records or {}))
        for kind in KINDS:
            ctx.seen[kind] = self.drivers[kind].observe(scope, ctx)
            if kind == upto:
                break
        return ctx

    def fault(self, **spec: Any) -> None:
        resp = self.control.post("/faults", json=spec)
        assert resp.status_code == 201, resp.text

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.control.get("/requests").json()["by_route"]
        return counts

    def clear_requests(self) -> None:
        self.control.delete("/requests")


def desired(
    address: str, kind: str, props: Mapping[str, Any], *, stack: str = STACK, ws: str = WS
) -> Desired:
    return Desired(address, kind, Owner(ws, stack, address), dict(props))


def project_props(stack: str = STACK, ws: str = WS) -> dict[str, Any]:
    return {"name": f"vibn-{ws}-{stack}", "environment": "production"}


def web_props(project_uuid: str, **over: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "project_uuid": project_uuid,
        "environment_name": "production",
        "name": f"{STACK}-web-1",
        "git_repository": "https://github.com/acme/shop",
        "git_branch": "main",
        "build_pack": "nixpacks",
        "ports_exposes": "3000",
        "start_command": None,
        "base_directory": "/",
        "install_command": None,
        "build_command": None,
        "docker_image": None,
        "health_check": {"enabled": False},
        "domains": None,
        "redirect": None,
    }
    return props | over


def of(observed: Sequence[Observed], address: str) -> list[Observed]:
    return [o for o in observed if o.address == address]
