"""Shared pieces of the OpenSRS client and driver tests: the emulator, a client whose
retries record their waits instead of sleeping, the control plane, a contact."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from vibn.providers.opensrs import Contact, OpenSrsClient, RetryPolicy
from vibn.sandbox.opensrs import RESELLER
from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..context import Ctx as Ctx

WS = "acme"
STACK = "shop"
CONTACT = Contact(
    first_name="Ada",
    last_name="Lovelace",
    org_name="Lovelace & Babbage <Engines>",
    address1="1 Main St",
    city="Toronto",
    state="ON",
    country="CA",
    postal_code="M5V 3M2",
    phone="+1.4165550123",
    email="ada@example.com",
)
NS = ["ns-cloud-a1.googledomains.com", "ns-cloud-a2.googledomains.com"]


@dataclass
class Control:
    """The emulator's ``/_sandbox`` plane."""

    http: httpx.Client

    def fault(self, **spec: Any) -> None:
        resp = self.http.post("/faults", json=spec)
        assert resp.status_code == 201, resp.text

    def settings(self, **changes: Any) -> None:
        self.http.post("/opensrs/settings", json=changes).raise_for_status()

    def calls(self) -> dict[str, int]:
        counted: dict[str, int] = self.http.get("/opensrs/calls").json()["by_action"]
        return counted

    def clear_calls(self) -> None:
        self.http.delete("/opensrs/calls").raise_for_status()

    def posts(self) -> int:
        """Requests that reached the emulator, faulted ones included."""
        return int(self.http.get("/requests").json()["by_route"].get("POST /", 0))


@pytest.fixture
def osrs(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start_in_thread(tmp_path / "sandbox", names=["opensrs"]) as running:
        yield running


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def fast_retry(waits: list[float]) -> RetryPolicy:
    """Four attempts, no real sleeping: the waits land in ``waits``."""
    return RetryPolicy(attempts=4, initial=0.01, maximum=0.05, sleep=waits.append)


@pytest.fixture
def client(osrs: RunningSandbox, fast_retry: RetryPolicy) -> Iterator[OpenSrsClient]:
    ep = osrs.providers["opensrs"]
    with OpenSrsClient(ep.url, RESELLER, ep.token, retry=fast_retry) as c:
        yield c


@pytest.fixture
def control(osrs: RunningSandbox) -> Iterator[Control]:
    with httpx.Client(base_url=osrs.providers["opensrs"].control_url, trust_env=False) as http:
        yield Control(http)
