"""The Cloud DNS emulator inside the sandbox: its endpoint, the ``/_sandbox`` control
plane (faults in Cloud DNS's error shape, request counts, reset), persistence across
a restart, and the publication of its zones to the sandbox's public DNS, which is what
SES verification and the domain-status probe resolve against.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import dns

from vibn.sandbox.info import SandboxInfo
from vibn.sandbox.publicdns import PublicDns
from vibn.sandbox.registry import EMULATORS
from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import client as http_client


def cloud(running: RunningSandbox, project: str = "p1") -> dns.Client:
    return dns.Client(
        project=project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": running.providers["dns"].url},
    )


def add(zone: dns.ManagedZone, name: str, rtype: str, rrdatas: list[str]) -> None:
    change = zone.changes()
    change.add_record_set(zone.resource_record_set(name, rtype, 300, rrdatas))
    change.create()


def control(running: RunningSandbox, verb: str, route: str, **body: Any) -> Any:
    with http_client(running.providers["dns"].control_url) as c:
        resp = c.request(verb, route, json=body or None)
        assert resp.status_code < 300, resp.text
        return resp.json()


@pytest.fixture
def published(tmp_path: Path) -> Iterator[tuple[RunningSandbox, PublicDns]]:
    public = PublicDns()
    with start_in_thread(tmp_path / "sb", names=["dns"], public_dns=public) as running:
        yield running, public


def test_the_sandbox_serves_dns_like_the_other_apis(tmp_path: Path) -> None:
    assert "dns" in EMULATORS
    with start_in_thread(tmp_path / "sb", names=["dns", "logging"]) as running:
        endpoint = running.providers["dns"]
        assert endpoint.url.startswith("http://127.0.0.1:")  # the client adds /dns/v1
        assert endpoint.control_url == endpoint.url + "/_sandbox"
        written = running.info().to_json()  # what sandbox.json holds for clients
        assert SandboxInfo.from_json(written).providers["dns"] == endpoint
        assert control(running, "GET", "/health")["emulator"] == "dns"


def test_faults_answer_in_cloud_dns_shape_and_are_counted(tmp_path: Path) -> None:
    with start_in_thread(tmp_path / "sb", names=["dns"]) as running:
        zone = cloud(running).zone("shop", "example.com.")
        zone.create()
        control(running, "POST", "/faults", method="POST", path="/changes$", status=503)
        with pytest.raises(exceptions.ServiceUnavailable) as caught:
            add(zone, "www.example.com.", "A", ["192.0.2.1"])
        assert "The service is currently unavailable." in caught.value.message
        assert caught.value.errors[0]["reason"] == "backendError"
        add(zone, "www.example.com.", "A", ["192.0.2.1"])  # the fault was used up
        counts = control(running, "GET", "/requests")["by_route"]
        assert counts["POST /dns/v1/projects/{project}/managedZones/{managedZone}/changes"] == 2
        assert counts["POST /dns/v1/projects/{project}/managedZones"] == 1

        control(running, "POST", "/reset")
        assert list(cloud(running).list_zones()) == []


def test_zones_and_records_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    with start_in_thread(state, names=["dns"]) as first:
        zone = cloud(first).zone("shop", "example.com.")
        zone.create()
        add(zone, "www.example.com.", "A", ["192.0.2.1"])
        before = (zone.zone_id, zone.name_servers)
    with start_in_thread(state, names=["dns"]) as second:
        again = cloud(second).zone("shop")
        again.reload()
        assert (again.zone_id, again.name_servers) == before
        names = {(r.name, r.record_type) for r in again.list_resource_record_sets()}
        assert ("www.example.com.", "A") in names
        add(again, "api.example.com.", "A", ["192.0.2.2"])
        assert [c.name for c in again.list_changes()] == ["0", "1", "2"]
        other = cloud(second).zone("other", "example.org.")
        other.create()
        assert other.zone_id != again.zone_id


def test_zones_resolve_through_the_public_dns(
    published: tuple[RunningSandbox, PublicDns],
) -> None:
    running, public = published
    client = cloud(running)
    apex = client.zone("shop", "example.com.")
    apex.create()
    add(apex, "example.com.", "A", ["192.0.2.1"])
    add(apex, "www.example.com.", "CNAME", ["example.com."])
    add(apex, "x1._domainkey.example.com.", "CNAME", ["x1.dkim.amazonses.com."])
    sub = client.zone("eu", "eu.example.com.")
    sub.create()
    add(sub, "api.eu.example.com.", "A", ["192.0.2.7"])

    assert public.resolve("EXAMPLE.com", "a") == ["192.0.2.1"]
    assert public.resolve("x1._domainkey.example.com.", "CNAME") == ["x1.dkim.amazonses.com."]
    assert public.resolve("www.example.com", "A") == []  # no CNAME chasing: the exact type
    assert public.resolve("api.eu.example.com", "A") == ["192.0.2.7"]  # the closest zone
    assert public.resolve("example.com", "NS") == [ns.lower() for ns in apex.name_servers]
    assert public.resolve("nowhere.test", "A") == []

    gone = apex.changes()
    gone.delete_record_set(apex.resource_record_set("example.com.", "A", 300, ["192.0.2.1"]))
    gone.create()
    assert public.resolve("example.com", "A") == []


def test_only_delegated_public_zones_answer(
    published: tuple[RunningSandbox, PublicDns],
) -> None:
    running, public = published
    client = cloud(running)
    zone = client.zone("shop", "example.com.")
    zone.create()
    add(zone, "example.com.", "A", ["192.0.2.1"])
    servers = list(zone.name_servers)
    registrar: dict[str, list[str]] = {"example.com": ["ns1.elsewhere.net."]}
    public.publish_delegations(registrar.get)
    assert public.resolve("example.com", "A") == []  # the registrar points elsewhere
    registrar["example.com"] = [s.rstrip(".").upper() for s in reversed(servers)]
    assert public.resolve("example.com", "A") == ["192.0.2.1"]


def test_private_zones_are_not_published(tmp_path: Path) -> None:
    public = PublicDns()
    with start_in_thread(tmp_path / "sb", names=["dns"], public_dns=public) as running:
        with http_client(running.providers["dns"].url) as raw:
            body = {"name": "inside", "dnsName": "corp.test.", "visibility": "private"}
            assert raw.post("/dns/v1/projects/p1/managedZones", json=body).status_code == 200
            changes = "/dns/v1/projects/p1/managedZones/inside/changes"
            record = {"name": "db.corp.test.", "type": "A", "ttl": 60, "rrdatas": ["10.0.0.5"]}
            assert raw.post(changes, json={"additions": [record]}).status_code == 200
        assert public.resolve("db.corp.test", "A") == []
