"""Fixtures for the sandbox's own tests: HTTP clients, a fake clock, a project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vibn.sandbox.server import RunningSandbox, start_in_thread

from .helpers import FakeClock, api_client, client, new_project


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """An authenticated client on the Coolify API base."""
    with api_client(sandbox) as client:
        yield client


@pytest.fixture
def control(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A client on the Coolify emulator's ``/_sandbox`` control plane."""
    with client(sandbox.providers["coolify"].control_url) as c:
        yield c


@pytest.fixture
def anonymous(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """A client on the Coolify API base that sends no token."""
    with client(sandbox.providers["coolify"].url) as c:
        yield c


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed(tmp_path: Path, clock: FakeClock) -> Iterator[httpx.Client]:
    """An API client on a sandbox whose clock is ``clock``, driven by the test."""
    with start_in_thread(tmp_path / "timed", clock=clock) as running, api_client(running) as c:
        yield c


@pytest.fixture
def project(api: httpx.Client) -> str:
    """A fresh project (with its ``production`` environment)."""
    return new_project(api)
