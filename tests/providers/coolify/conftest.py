"""Fixtures for the Coolify driver contract tests: a provider on the sandbox emulator.

The retry and settle policies are fast and record their waits, so fault tests finish
in milliseconds and can assert what the client waited for.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from vibn.providers.base import Observed
from vibn.providers.coolify import CoolifyProvider, RetryPolicy, Settle
from vibn.sandbox.server import RunningSandbox

from .helpers import Coolify, Waits, desired, project_props


@pytest.fixture
def coolify(sandbox: RunningSandbox) -> Iterator[Coolify]:
    endpoint = sandbox.providers["coolify"]
    waits = Waits()
    calls: list[tuple[str, str, int]] = []
    retry = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, sleep=waits.seconds.append)
    settle = Settle(timeout=5.0, interval=0.05)
    provider = CoolifyProvider(
        endpoint.url,
        endpoint.token,
        retry=retry,
        settle=settle,
        on_request=lambda m, p, s: calls.append((m, p, s)),
    )
    with httpx.Client(base_url=endpoint.control_url, timeout=10.0) as control:
        yield Coolify(provider, provider.drivers(), control, waits, calls)
    provider.close()


@pytest.fixture
def project(coolify: Coolify) -> Observed:
    """This stack's project, created through the driver."""
    return coolify.drivers["coolify.project"].create(
        desired("project", "coolify.project", project_props())
    )
