"""Shared pieces of the AWS driver contract tests: a sandbox serving ``ses`` with a
hand-driven clock and a public DNS the test publishes into, settings pointing boto3 at
it, drivers whose retries record their waits instead of sleeping, an honest
``ObserveContext`` and the emulator's control plane."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from vibn.providers.aws.common import AwsSettings, RetryPolicy, ses_client
from vibn.providers.aws.ses import ses_drivers
from vibn.providers.base import Driver
from vibn.sandbox.publicdns import PublicDns, ZoneAnswer, fqdn
from vibn.sandbox.server import RunningSandbox, start_in_thread
from vibn.sandbox.ses import ACCESS_KEY_ID, ACCOUNT_ID

from ..context import Ctx as Ctx

WS = "acme"
STACK = "shop"
BUS = f"arn:aws:events:ca-central-1:{ACCOUNT_ID}:event-bus/default"


class Clock:
    def __init__(self) -> None:
        self.now = 1_790_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Zones:
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, name: str, rtype: str, *values: str) -> None:
        self.records[(fqdn(name), rtype)] = list(values)

    def lookup(self, name: str, rtype: str) -> ZoneAnswer | None:
        values = self.records.get((fqdn(name), rtype))
        return None if values is None else ZoneAnswer("zone.", ("ns.test.",), tuple(values))


@dataclass
class Aws:
    sandbox: RunningSandbox
    settings: AwsSettings
    drivers: dict[str, Driver]
    control: httpx.Client
    zones: Zones
    clock: Clock
    waits: list[float]
    #: the drivers' own client, for arranging and inspecting what SES holds
    raw: Any

    def fault(self, **spec: Any) -> None:
        resp = self.control.post("/faults", json=spec)
        assert resp.status_code == 201, resp.text

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = self.control.get("/requests").json()["by_route"]
        return counts


def sandbox_settings(running: RunningSandbox) -> AwsSettings:
    endpoint = running.providers["ses"]
    return AwsSettings(
        endpoint_url=endpoint.url,
        access_key_id=ACCESS_KEY_ID,
        secret_access_key=endpoint.token,
        account_id=ACCOUNT_ID,
    )


@pytest.fixture
def aws(tmp_path: Path) -> Iterator[Aws]:
    zones, clock = Zones(), Clock()
    dns = PublicDns()
    dns.publish_zones(zones.lookup)
    waits: list[float] = []
    retry = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, sleep=waits.append)
    with start_in_thread(
        tmp_path / "sandbox", names=["ses"], clock=clock, public_dns=dns
    ) as running:
        settings = sandbox_settings(running)
        client = ses_client(settings, environ={})
        with httpx.Client(base_url=running.providers["ses"].control_url, timeout=10.0) as control:
            yield Aws(
                running,
                settings,
                ses_drivers(client, retry=retry),
                control,
                zones,
                clock,
                waits,
                client,
            )
        client.close()
