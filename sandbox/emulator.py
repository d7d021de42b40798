"""The contract between the sandbox process and one provider emulator.

An emulator is an ASGI app (its provider's API plus the shared ``/_sandbox``
control plane) built from a small config: where to persist its data, the bearer
token clients must present, and the clock. The sandbox serves each emulator on
its own port, so an emulator never needs to know about the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vibn.sandbox.control import SandboxApp
from vibn.sandbox.publicdns import PublicDns

Clock = Callable[[], float]


@dataclass(frozen=True)
class EmulatorConfig:
    """What every emulator factory receives."""

    state_dir: Path
    token: str
    clock: Clock = field(default=time.time)
    #: shared by every emulator of one sandbox: zones and delegations publish here,
    #: SES verification resolves here
    public_dns: PublicDns = field(default_factory=PublicDns)

    def state_file(self, name: str) -> Path:
        """Where emulator ``name`` persists its data (``DIR/<name>.json``)."""
        return state_file(self.state_dir, name)


@dataclass(frozen=True)
class Emulator:
    """A built emulator: its ASGI app and the API path clients are given."""

    name: str
    app: SandboxApp
    api_path: str


EmulatorFactory = Callable[[EmulatorConfig], Emulator]


def state_file(state_dir: Path, name: str) -> Path:
    """The data file of emulator ``name`` under ``state_dir``."""
    return state_dir / f"{name}.json"
