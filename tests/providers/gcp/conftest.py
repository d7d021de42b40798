"""Shared pieces of the Google Cloud driver contract tests.

``Ctx`` is the smallest honest ``ObserveContext``; ``Waits`` with ``fast_retry``
records every backoff the retry policy asked for instead of sleeping, so fault tests
run in milliseconds and can assert how long the client would have waited;
``Control`` drives an emulator's ``/_sandbox`` plane (faults, request counts,
settings, clock).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from vibn.providers.gcp.common import RetryPolicy

from ..context import Ctx as Ctx

PROJECT = "vibn-test"
WS = "acme"
STACK = "shop"


@dataclass
class Waits:
    """Every sleep the retry policy asked for."""

    seconds: list[float] = field(default_factory=list)


@dataclass
class Control:
    """One emulator's ``/_sandbox`` control plane."""

    http: httpx.Client
    name: str

    def fault(self, **spec: Any) -> None:
        resp = self.http.post("/faults", json=spec)
        assert resp.status_code == 201, resp.text

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.http.get("/requests").json()["by_route"]
        return counts

    def clear_requests(self) -> None:
        self.http.delete("/requests").raise_for_status()

    def settings(self, **changes: Any) -> None:
        self.http.post(f"/{self.name}/settings", json=changes).raise_for_status()

    def advance_clock(self, seconds: float) -> None:
        self.http.post(f"/{self.name}/clock", json={"advance": seconds}).raise_for_status()


@pytest.fixture
def waits() -> Waits:
    return Waits()


@pytest.fixture
def fast_retry(waits: Waits) -> RetryPolicy:
    """Four attempts, no real sleeping: the waits are recorded in ``waits``."""
    return RetryPolicy(attempts=4, initial=0.01, maximum=0.05, sleep=waits.seconds.append)
