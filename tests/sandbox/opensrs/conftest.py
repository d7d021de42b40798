"""Fixtures for the OpenSRS emulator's own tests: a signed raw XCP caller and the control plane.

``Xcp`` builds envelopes with vibn's client codec and signs them by hand, so each test
sees the emulator exactly as a client on the wire would: the reply document (action,
object, is_success, response_code, response_text, attributes) and the HTTP response.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from vibn.providers.opensrs import xcp
from vibn.sandbox.opensrs import RESELLER
from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import FakeClock
from ..helpers import client as http_client

OWNER = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "org_name": "Example Inc.",
    "address1": "1 Main St",
    "address2": "",
    "address3": "",
    "city": "Toronto",
    "state": "ON",
    "country": "CA",
    "postal_code": "M5V 3M2",
    "phone": "+1.4165550123",
    "fax": "",
    "email": "ada@example.com",
}
NAMESERVERS = ["ns-cloud-a1.googledomains.com", "ns-cloud-a2.googledomains.com"]


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def sign(body: bytes, key: str) -> str:
    return md5_hex(md5_hex(body + key.encode()).encode() + key.encode())


def registration(name: str, **changes: Any) -> dict[str, Any]:
    """SW_REGISTER attributes for a new domain with custom name servers, processed now."""
    attributes: dict[str, Any] = {
        "domain": name,
        "reg_type": "new",
        "period": "1",
        "handle": "process",
        "reg_username": "stackowner",
        "reg_password": "s3cretPass99",
        "auto_renew": "1",
        "f_lock_domain": "1",
        "custom_tech_contact": "0",
        "custom_nameservers": "1",
        "nameserver_list": [
            {"name": ns, "sortorder": str(i)} for i, ns in enumerate(NAMESERVERS, start=1)
        ],
        "contact_set": {"owner": OWNER, "admin": OWNER, "billing": OWNER},
    }
    attributes.update(changes)
    return {k: v for k, v in attributes.items() if v is not None}


@dataclass
class Xcp:
    """Signed XCP calls to one emulator."""

    http: httpx.Client
    key: str

    def post(self, body: bytes, *, user: str = RESELLER, key: str | None = None) -> httpx.Response:
        headers = {
            "Content-Type": "text/xml",
            "X-Username": user,
            "X-Signature": sign(body, key if key is not None else self.key),
        }
        return self.http.post("/", content=body, headers=headers)

    def call(self, action: str, obj: str = "DOMAIN", attributes: Any = None, **top: Any) -> Any:
        body = xcp.request(action, obj, attributes or {}, **top)
        resp = self.post(body)
        assert resp.status_code == 200, resp.text
        return xcp.decode(resp.content)

    def ok(self, action: str, obj: str = "DOMAIN", attributes: Any = None, **top: Any) -> Any:
        reply = self.call(action, obj, attributes, **top)
        assert reply["is_success"] == "1", reply
        return reply

    def register(self, domain: str, **changes: Any) -> Any:
        return self.ok("SW_REGISTER", attributes=registration(domain, **changes))


@dataclass
class Control:
    http: httpx.Client

    def settings(self, **changes: Any) -> dict[str, Any]:
        resp = self.http.post("/opensrs/settings", json=changes)
        assert resp.status_code == 200, resp.text
        body: dict[str, Any] = resp.json()
        return body

    def fault(self, **spec: Any) -> None:
        resp = self.http.post("/faults", json=spec)
        assert resp.status_code == 201, resp.text


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_790_000_000.0)  # 2026-09-21


@pytest.fixture
def osrs(tmp_path: Path, clock: FakeClock) -> Iterator[RunningSandbox]:
    with start_in_thread(tmp_path / "sandbox", names=["opensrs"], clock=clock) as running:
        yield running


@pytest.fixture
def api(osrs: RunningSandbox) -> Iterator[Xcp]:
    ep = osrs.providers["opensrs"]
    with http_client(ep.url) as http:
        yield Xcp(http, ep.token)


@pytest.fixture
def control(osrs: RunningSandbox) -> Iterator[Control]:
    with http_client(osrs.providers["opensrs"].control_url) as http:
        yield Control(http)
