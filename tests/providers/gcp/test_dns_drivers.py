"""Contract tests of the ``gcp.dns_zone`` and ``gcp.dns_records`` drivers, through
google-api-python-client's discovery client against the sandbox's Cloud DNS emulator.

Zones are owned by their labels (another workspace's zone is invisible); record sets
are owned by what the last apply recorded, so a record deleted behind vibn's back
shows as drift and the next update restores it. Create and update converge a zone in
one change, adopting what a resumed apply finds; transient faults are retried.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from vibn.providers.base import SHARED, Desired, Driver, Observed, Owner, Recorded, Scope
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError
from vibn.providers.gcp.common import GcpClients, GcpEndpoints, RetryPolicy
from vibn.providers.gcp.dns import dns_drivers
from vibn.providers.gcp.dns_names import zone_name
from vibn.reconciler.diff import diff
from vibn.sandbox.server import start_in_thread

from .conftest import PROJECT, STACK, WS, Control, Ctx, Waits

ZONE, RECORDS = "gcp.dns_zone", "gcp.dns_records"
NAME = "vibn-ws-acme-mysaas-com"
ZONES = f"/dns/v1/projects/{PROJECT}/managedZones"
CHANGES_ROUTE = "POST /dns/v1/projects/{project}/managedZones/{managedZone}/changes"
SCOPE = Scope(WS, frozenset({STACK}))


def rr(name: str, rtype: str, rrdatas: list[str], ttl: int = 300) -> dict[str, Any]:
    return {"name": name, "type": rtype, "ttl": ttl, "rrdatas": sorted(rrdatas)}


MAIL = [
    rr("_dmarc.mysaas.com.", "TXT", ['"v=DMARC1; p=none"']),
    rr("k1._domainkey.mysaas.com.", "CNAME", ["k1.dkim.amazonses.com."]),
    rr("k2._domainkey.mysaas.com.", "CNAME", ["k2.dkim.amazonses.com."]),
    rr("mail.mysaas.com.", "MX", ["10 feedback-smtp.ca-central-1.amazonses.com."]),
    rr("mail.mysaas.com.", "TXT", ['"v=spf1 include:amazonses.com ~all"']),
]


@dataclass
class Dns:
    drivers: dict[str, Driver]
    control: Control
    http: httpx.Client

    def zone(self, name: str = NAME) -> Any:
        return self.http.get(f"{ZONES}/{name}").json()

    def raw_zone(self, name: str, dns_name: str, labels: dict[str, str] | None = None) -> None:
        body = {"name": name, "dnsName": dns_name, "description": "x", "labels": labels or {}}
        self.http.post(ZONES, json=body).raise_for_status()

    def rrsets(self, zone: str = NAME) -> dict[tuple[str, str], Any]:
        listed = self.http.get(f"{ZONES}/{zone}/rrsets").json()["rrsets"]
        return {(r["name"], r["type"]): r for r in listed if r["type"] not in ("SOA", "NS")}

    def change(self, zone: str = NAME, **body: list[Any]) -> None:
        self.http.post(f"{ZONES}/{zone}/changes", json=body).raise_for_status()

    def changes_sent(self) -> int:
        return self.control.requests().get(CHANGES_ROUTE, 0)


@pytest.fixture
def dns(tmp_path: Path, fast_retry: RetryPolicy) -> Iterator[Dns]:
    with start_in_thread(tmp_path / "sb", names=["dns"]) as running:
        endpoint = running.providers["dns"]
        endpoints = GcpEndpoints(PROJECT, dns=endpoint.url, anonymous=True)
        with (
            closing(GcpClients(endpoints)) as clients,
            httpx.Client(base_url=endpoint.control_url, timeout=10.0) as control,
            httpx.Client(base_url=endpoint.url, timeout=10.0) as api,
        ):
            drivers = dns_drivers(endpoints, clients=clients, retry=fast_retry)
            yield Dns(drivers, Control(control, "dns"), api)


def zone(stack: str = STACK, description: str = "DNS of mysaas.com", ws: str = WS) -> Desired:
    props = {"name": NAME, "dns_name": "mysaas.com.", "description": description}
    return Desired("domain.zone", ZONE, Owner(ws, stack, "domain.zone"), props)


def records(recs: list[dict[str, Any]], address: str = "email.dns") -> Desired:
    props = {"zone": NAME, "records": sorted(recs, key=lambda r: (r["name"], r["type"]))}
    return Desired(address, RECORDS, Owner(WS, STACK, address), props)


def recorded(desired: Desired, stack: str = STACK) -> Recorded:
    provider_id = f"{desired.props['zone']}/{desired.address}"
    return Recorded(desired.address, RECORDS, provider_id, desired.props, {}, stack=stack)


def observe(dns: Dns, kind: str, ctx: Ctx | None = None) -> dict[str, Observed]:
    return {o.address: o for o in dns.drivers[kind].observe(SCOPE, ctx or Ctx())}


def test_zone_create_observe_update_delete(dns: Dns) -> None:
    driver, want = dns.drivers[ZONE], zone()
    created = driver.create(want)
    assert diff(want.props, created.props) == []
    servers = created.outputs["name_servers"]
    assert len(servers) == 4 and all(
        re.fullmatch(r"ns-cloud-[a-e][1-4]\.googledomains\.com", s) for s in servers
    )
    assert created.outputs == {"name": NAME, "dns_name": "mysaas.com.", "name_servers": servers}
    raw = dns.zone()
    assert raw["visibility"] == "public"
    assert raw["labels"] == {
        "vibn-workspace": WS,
        "vibn-stack": STACK,
        "vibn-address": "domain_zone",
    }
    assert [s.rstrip(".") for s in raw["nameServers"]] == servers

    seen = observe(dns, ZONE)["domain.zone"]  # the address comes back with its dot
    assert seen.owner == want.owner and seen.provider_id == NAME
    assert diff(want.props, seen.props) == [] and seen.outputs == created.outputs

    edited = zone(description="moved to a new team")
    assert diff(edited.props, driver.update(edited, seen).props) == []
    assert observe(dns, ZONE)["domain.zone"].props["description"] == "moved to a new team"

    driver.delete(seen)
    assert observe(dns, ZONE) == {}
    driver.delete(seen)  # already gone: nothing to do


def test_only_the_scopes_zones_are_observed_with_one_list(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    dns.raw_zone(
        "theirs",
        "other.com.",
        {"vibn-workspace": "other", "vibn-stack": STACK, "vibn-address": "domain_zone"},
    )
    dns.raw_zone("unlabelled", "plain.com.")
    dns.raw_zone(
        "sibling",
        "blog.com.",
        {"vibn-workspace": WS, "vibn-stack": "blog", "vibn-address": "domain_zone"},
    )
    dns.raw_zone(
        "shared",
        "ws.com.",
        {"vibn-workspace": WS, "vibn-stack": "shared", "vibn-address": "ws_zone"},
    )
    dns.control.clear_requests()
    found = dns.drivers[ZONE].observe(SCOPE, Ctx())
    assert sorted(o.provider_id for o in found) == sorted([NAME, "shared"])
    assert next(o for o in found if o.provider_id == "shared").owner.stack == SHARED
    assert dns.control.requests() == {"GET /dns/v1/projects/{project}/managedZones": 1}


def test_observe_reads_every_page(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    many = [rr(f"h{i:03}.mysaas.com.", "A", ["192.0.2.1"]) for i in range(120)]
    dns.change(additions=many)  # with the apex NS and SOA: two pages of 100
    want = records(many[-2:])
    dns.control.clear_requests()
    seen = observe(dns, RECORDS, Ctx(records={RECORDS: [recorded(want)]}))["email.dns"]
    assert diff(want.props, seen.props) == []
    route = "GET /dns/v1/projects/{project}/managedZones/{managedZone}/rrsets"
    assert dns.control.requests() == {route: 2}


def test_zone_create_adopts_its_own_and_refuses_anothers(dns: Dns) -> None:
    labels = {"vibn-workspace": WS, "vibn-stack": STACK, "vibn-address": "domain_zone"}
    dns.raw_zone(NAME, "mysaas.com.", labels)  # created, then the apply died
    adopted = dns.drivers[ZONE].create(zone(description="resumed"))
    assert adopted.props["description"] == "resumed" and len(adopted.outputs["name_servers"]) == 4
    with pytest.raises(ConflictError, match="stack shop"):
        dns.drivers[ZONE].create(zone(stack="blog"))


def test_deleting_a_zone_with_foreign_records_fails_with_the_providers_message(dns: Dns) -> None:
    seen = dns.drivers[ZONE].create(zone())
    dns.change(additions=[rr("hand.mysaas.com.", "A", ["192.0.2.9"])])
    with pytest.raises(InvalidError, match="not empty"):
        dns.drivers[ZONE].delete(seen)


def test_records_create_and_observe(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    want = records(MAIL)
    created = dns.drivers[RECORDS].create(want)
    assert diff(want.props, created.props) == []
    assert created.outputs == {"zone": NAME} and created.provider_id == f"{NAME}/email.dns"
    assert set(dns.rrsets()) == {(r["name"], r["type"]) for r in MAIL}
    assert dns.changes_sent() == 1

    seen = observe(
        dns,
        RECORDS,
        Ctx(records={RECORDS: [recorded(want), recorded(records(MAIL[:1], "x"), "blog")]}),
    )
    assert list(seen) == ["email.dns"]  # another stack's record is out of scope
    assert seen["email.dns"].owner == want.owner
    assert diff(want.props, seen["email.dns"].props) == []


def test_a_deleted_dkim_record_is_drift_and_update_restores_it(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    want = records(MAIL)
    dns.drivers[RECORDS].create(want)
    dkim = dns.rrsets()["k1._domainkey.mysaas.com.", "CNAME"]
    dns.http.delete(f"{ZONES}/{NAME}/rrsets/k1._domainkey.mysaas.com./CNAME").raise_for_status()
    dns.change(additions=[rr("hand.mysaas.com.", "A", ["192.0.2.9"])])  # not ours: ignored

    ctx = Ctx(records={RECORDS: [recorded(want)]})
    drifted = observe(dns, RECORDS, ctx)["email.dns"]
    missing = [r for r in want.props["records"] if r not in drifted.props["records"]]
    assert missing == [rr("k1._domainkey.mysaas.com.", "CNAME", ["k1.dkim.amazonses.com."])]
    assert diff(want.props, drifted.props) != []

    dns.control.clear_requests()
    restored = dns.drivers[RECORDS].update(want, drifted)
    assert diff(want.props, restored.props) == [] and dns.changes_sent() == 1
    assert dns.rrsets()["k1._domainkey.mysaas.com.", "CNAME"] == dkim
    assert diff(want.props, observe(dns, RECORDS, ctx)["email.dns"].props) == []
    assert ("hand.mysaas.com.", "A") in dns.rrsets()


def test_create_adopts_records_a_resumed_apply_finds(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    dns.change(
        additions=[
            rr("k1._domainkey.mysaas.com.", "CNAME", ["stale.dkim.amazonses.com."], ttl=60),
            MAIL[0],  # already exactly right
        ]
    )
    dns.control.clear_requests()
    dns.drivers[RECORDS].create(records(MAIL))
    assert dns.changes_sent() == 1
    held = dns.rrsets()
    assert held["k1._domainkey.mysaas.com.", "CNAME"]["rrdatas"] == ["k1.dkim.amazonses.com."]
    assert held["k1._domainkey.mysaas.com.", "CNAME"]["ttl"] == 300
    change = dns.http.get(f"{ZONES}/{NAME}/changes/2").json()
    assert [d["rrdatas"] for d in change["deletions"]] == [["stale.dkim.amazonses.com."]]
    assert len(change["additions"]) == len(MAIL) - 1  # the exact one was left alone


def test_reapplying_is_idempotent(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    want = records(MAIL)
    first = dns.drivers[RECORDS].create(want)
    dns.control.clear_requests()
    dns.drivers[RECORDS].create(want)
    dns.drivers[RECORDS].update(want, first)
    assert dns.changes_sent() == 0


def test_update_removes_what_is_no_longer_desired(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    before = dns.drivers[RECORDS].create(records(MAIL))
    dns.change(additions=[rr("hand.mysaas.com.", "A", ["192.0.2.9"])])
    trimmed = [MAIL[0], {**MAIL[1], "ttl": 3600}]
    after = dns.drivers[RECORDS].update(records(trimmed), before)
    assert diff(records(trimmed).props, after.props) == []
    assert set(dns.rrsets()) == {(r["name"], r["type"]) for r in trimmed} | {
        ("hand.mysaas.com.", "A")
    }
    assert dns.rrsets()["k1._domainkey.mysaas.com.", "CNAME"]["ttl"] == 3600


def test_records_delete(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    seen = dns.drivers[RECORDS].create(records(MAIL))
    dns.http.delete(f"{ZONES}/{NAME}/rrsets/mail.mysaas.com./MX").raise_for_status()
    dns.change(additions=[rr("hand.mysaas.com.", "A", ["192.0.2.9"])])
    dns.drivers[RECORDS].delete(seen)  # the MX already gone is no error
    assert set(dns.rrsets()) == {("hand.mysaas.com.", "A")}
    dns.drivers[RECORDS].delete(seen)  # nothing left to delete: no change sent


def test_a_missing_zone(dns: Dns) -> None:
    want = records(MAIL)
    ctx = Ctx(records={RECORDS: [recorded(want)]})
    assert observe(dns, RECORDS, ctx) == {}
    fake = Observed("email.dns", RECORDS, f"{NAME}/email.dns", want.owner, want.props)
    dns.drivers[RECORDS].delete(fake)  # the zone went first: done
    with pytest.raises(NotFoundError, match=NAME):
        dns.drivers[RECORDS].create(want)


def test_transient_faults_are_retried(dns: Dns, waits: Waits) -> None:
    dns.drivers[ZONE].create(zone())
    dns.control.fault(method="GET", path="/rrsets$", status=503, times=1)
    dns.control.fault(method="POST", path="/changes$", status=503, times=2)
    dns.drivers[RECORDS].create(records(MAIL))
    assert len(waits.seconds) == 3
    assert set(dns.rrsets()) == {(r["name"], r["type"]) for r in MAIL}


def test_a_change_lost_to_a_race_is_rebuilt_once(dns: Dns) -> None:
    dns.drivers[ZONE].create(zone())
    dns.control.fault(method="POST", path="/changes$", status=412, times=1)
    dns.drivers[RECORDS].create(records(MAIL))
    assert set(dns.rrsets()) == {(r["name"], r["type"]) for r in MAIL}
    dns.control.fault(method="POST", path="/changes$", status=412, times=2)
    with pytest.raises(ConflictError):
        dns.drivers[RECORDS].update(
            records(MAIL[:2]),
            observe(dns, RECORDS, Ctx(records={RECORDS: [recorded(records(MAIL))]}))["email.dns"],
        )


@pytest.mark.parametrize(
    ("workspace", "domain", "expected"),
    [
        ("acme", "mysaas.com", "vibn-ws-acme-mysaas-com"),
        ("acme", "MySaaS.com.", "vibn-ws-acme-mysaas-com"),
        ("Big_Co", "a.b.example.co.uk", "vibn-ws-big-co-a-b-example-co-uk"),
    ],
)
def test_zone_name(workspace: str, domain: str, expected: str) -> None:
    assert zone_name(workspace, domain) == expected


def test_long_zone_names_are_cut_valid_and_distinct() -> None:
    long = "a-very-long-subdomain-name-that-goes-on-and-on.example-company.com"
    first, second = zone_name("acme", long), zone_name("acme", "x" + long)
    for name in (first, second, zone_name("w" * 80, "d.com")):
        assert re.fullmatch(r"[a-z]([a-z0-9-]{0,61}[a-z0-9])?", name), name
    assert first != second and len(first) == 63
