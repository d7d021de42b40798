"""What a running sandbox tells its users: one endpoint per emulated provider.

Shared by the sandbox process (which writes ``DIR/sandbox.json``), the manager
(which reads it to find a running sandbox) and the CLI (which turns an endpoint
into provider configuration when none is given). Kept free of server imports so
reading it is cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class SandboxError(RuntimeError):
    """The sandbox could not be started, reached or stopped; the message says why."""


@dataclass(frozen=True)
class ProviderEndpoint:
    """Where one emulator listens.

    ``url`` is what a provider client is configured with (for Coolify the
    ``/api/v1`` base), ``token`` its credential, ``control_url`` the ``/_sandbox``
    control plane (faults, latency, request counts, reset).
    """

    url: str
    token: str
    control_url: str

    def to_json(self) -> dict[str, str]:
        return {"url": self.url, "token": self.token, "control_url": self.control_url}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProviderEndpoint:
        return cls(str(data["url"]), str(data["token"]), str(data["control_url"]))


@dataclass(frozen=True)
class SandboxInfo:
    """A sandbox process: its pid, start time and provider endpoints."""

    pid: int
    started_at: str
    providers: dict[str, ProviderEndpoint] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready document written to ``DIR/sandbox.json``."""
        return {
            "pid": self.pid,
            "started_at": self.started_at,
            "providers": {name: ep.to_json() for name, ep in sorted(self.providers.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SandboxInfo:
        providers = data.get("providers") or {}
        return cls(
            pid=int(data["pid"]),
            started_at=str(data.get("started_at", "")),
            providers={str(k): ProviderEndpoint.from_json(v) for k, v in providers.items()},
        )
