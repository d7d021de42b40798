"""``vibn sandbox``: the local emulators every unconfigured provider falls back to."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vibn.cli.base import (
    JsonOpt,
    T,
    err,
    errors_reported,
    out,
    print_json,
    sandbox_app,
    settings,
)
from vibn.sandbox import manager as sandbox


def _sandbox_call(fn: Callable[[Path], T]) -> T:
    with errors_reported():
        return fn(settings().sandbox_dir)
    raise AssertionError("unreachable")


@sandbox_app.command("up")
def sandbox_up(as_json: JsonOpt = False) -> None:
    """Start the local emulators (kept running, data under .vibn/sandbox)."""
    info = _sandbox_call(sandbox.up)
    if as_json:
        print_json(info.to_json())
    else:
        for name, ep in info.providers.items():
            err.print(f"{name}: {ep.url}")


@sandbox_app.command("down")
def sandbox_down() -> None:
    """Stop the emulators (their data is kept)."""
    _sandbox_call(sandbox.down)
    err.print("Sandbox stopped.")


@sandbox_app.command("reset")
def sandbox_reset() -> None:
    """Wipe the emulators' data."""
    _sandbox_call(sandbox.reset)
    err.print("Sandbox data wiped.")


@sandbox_app.command("status")
def sandbox_status(as_json: JsonOpt = False) -> None:
    """Per provider: the emulator's base URL and the credentials it accepts."""
    info = _sandbox_call(sandbox.status)
    if as_json:
        print_json(info.to_json() if info else {"running": False, "providers": {}})
        return
    if info is None:
        err.print("Sandbox is not running (vibn sandbox up starts it).")
        return
    for name, ep in info.providers.items():
        out.print(f"{name}: {ep.url}  token={ep.token}")
