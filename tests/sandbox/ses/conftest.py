"""Fixtures of the SES emulator tests: a sandbox serving only ``ses`` with a hand-driven
clock and a public DNS the test publishes records into, boto3 clients signed with the
sandbox's key pair, and the ``/_sandbox`` control plane."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from vibn.sandbox.publicdns import PublicDns, ZoneAnswer, fqdn
from vibn.sandbox.server import RunningSandbox, start_in_thread
from vibn.sandbox.ses import ACCESS_KEY_ID, ACCOUNT_ID

from ..helpers import FakeClock
from ..helpers import client as http_client

REGION = "ca-central-1"
BUS = f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/default"
#: one boto3 session for every client: its loader caches the sesv2 model
SESSION = boto3.session.Session()
NO_RETRY = Config(retries={"total_max_attempts": 1})


@dataclass
class Zones:
    """Public DNS records the test publishes: ``add(name, type, *rrdatas)``."""

    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, name: str, rtype: str, *values: str) -> None:
        self.records[(fqdn(name), rtype.upper())] = list(values)

    def remove(self, name: str, rtype: str) -> None:
        self.records.pop((fqdn(name), rtype.upper()), None)

    def lookup(self, name: str, rtype: str) -> ZoneAnswer | None:
        values = self.records.get((fqdn(name), rtype.upper()))
        if values is None:
            return None
        apex = ".".join(fqdn(name).rstrip(".").split(".")[-2:]) + "."
        return ZoneAnswer(apex, ("ns1.zones.test.",), tuple(values))


def ses_client(url: str, secret: str, region: str = REGION, key: str = ACCESS_KEY_ID) -> Any:
    return SESSION.client(
        "sesv2",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=NO_RETRY,
    )


def error(exc: ClientError) -> tuple[int, str, str]:
    """``(HTTP status, code, message)`` of a botocore error."""
    meta = exc.response["ResponseMetadata"]
    return meta["HTTPStatusCode"], exc.response["Error"]["Code"], exc.response["Error"]["Message"]


@dataclass
class Ses:
    """One running SES emulator: a signed client, its control plane, its DNS and clock."""

    sandbox: RunningSandbox
    client: Any
    control: httpx.Client
    zones: Zones
    clock: FakeClock

    @property
    def url(self) -> str:
        return self.sandbox.providers["ses"].url

    @property
    def token(self) -> str:
        return self.sandbox.providers["ses"].token

    def settings(self, **changes: Any) -> None:
        self.control.post("/ses/settings", json=changes).raise_for_status()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def publish_dkim(self, domain: str, tokens: list[str]) -> None:
        for token in tokens:
            self.zones.add(f"{token}._domainkey.{domain}", "CNAME", f"{token}.dkim.amazonses.com.")

    def new_client(self, region: str = REGION) -> BaseClient:
        client: BaseClient = ses_client(self.url, self.token, region)
        return client


def start(path: Path, clock: FakeClock, zones: Zones) -> RunningSandbox:
    dns = PublicDns()
    dns.publish_zones(zones.lookup)
    return start_in_thread(path, names=["ses"], clock=clock, public_dns=dns)


@pytest.fixture
def zones() -> Zones:
    return Zones()


@pytest.fixture
def ses(tmp_path: Path, clock: FakeClock, zones: Zones) -> Iterator[Ses]:
    with start(tmp_path / "ses", clock, zones) as running:
        endpoint = running.providers["ses"]
        with http_client(endpoint.control_url) as control:
            client = ses_client(endpoint.url, endpoint.token)
            yield Ses(running, client, control, zones, clock)
            client.close()
