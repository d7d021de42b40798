"""Shared fixtures: a running sandbox (every provider emulator) for contract tests.

``sandbox`` serves the emulators from a background thread of the test process, on
free loopback ports, with data in the test's temporary directory: about 20 ms to
start, nothing left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from vibn.sandbox.server import RunningSandbox, start_in_thread
from vibn.wiring import sandbox_environment


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[RunningSandbox]:
    """All emulators, running for one test."""
    with start_in_thread(tmp_path / "sandbox") as running:
        yield running


@pytest.fixture
def coolify_url(sandbox: RunningSandbox) -> str:
    """The Coolify emulator's API base (``http://127.0.0.1:PORT/api/v1``)."""
    return sandbox.providers["coolify"].url


@pytest.fixture
def coolify_token(sandbox: RunningSandbox) -> str:
    """The bearer token the Coolify emulator accepts."""
    return sandbox.providers["coolify"].token


def provider_env(running: RunningSandbox) -> dict[str, str]:
    """Environment that points every provider at ``running``'s emulators (so no command
    under test starts a sandbox process of its own)."""
    return sandbox_environment(running.providers)
