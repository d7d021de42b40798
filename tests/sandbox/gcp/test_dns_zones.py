"""Cloud DNS emulator managed zones, through both Python clients and raw HTTP.

google-cloud-dns (``dns.Client``) creates, lists and deletes zones without labels;
google-api-python-client's discovery client adds labels, visibility, patch/update and
paging. Both must see what Cloud DNS answers (shared/reference/gcp-notes.md §1): four
name servers, numeric ids, the apex SOA and NS written by change ``"0"``, 409 for a
taken name, 400 ``containerNotEmpty`` for a zone still holding records, and errors in
Google's shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import dns
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import client as http_client

NS = re.compile(r"^ns-cloud-([a-e])([1-4])\.googledomains\.com\.$")
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start_in_thread(tmp_path / "sb", names=["dns"]) as sandbox:
        yield sandbox


@pytest.fixture
def url(running: RunningSandbox) -> str:
    return running.providers["dns"].url


@pytest.fixture
def cloud(url: str) -> dns.Client:
    return dns.Client(
        project="p1", credentials=AnonymousCredentials(), client_options={"api_endpoint": url}
    )


@pytest.fixture
def api(url: str) -> Iterator[Any]:
    options = {"api_endpoint": url}
    creds = AnonymousCredentials()
    with build("dns", "v1", static_discovery=True, credentials=creds, client_options=options) as s:
        yield s


@pytest.fixture
def raw(url: str) -> Iterator[httpx.Client]:
    with http_client(url) as c:
        yield c


def refused(request: Any) -> dict[str, Any]:
    """The error body of a discovery request that must fail, checked for Google's shape."""
    with pytest.raises(HttpError) as caught:
        request.execute()
    error: dict[str, Any] = json.loads(caught.value.content)["error"]
    assert error["code"] == caught.value.resp.status
    assert set(error) == {"code", "message", "status", "errors"}
    (detail,) = error["errors"]
    assert detail["domain"] == "global" and detail["message"] == error["message"]
    return error


def zone_body(name: str = "shop", dns_name: str = "example.com.", **extra: Any) -> dict[str, Any]:
    return {"name": name, "dnsName": dns_name, "description": "d", **extra}


def test_zone_lifecycle_through_google_cloud_dns(cloud: dns.Client) -> None:
    zone = cloud.zone("shop", "example.com.", description="the shop")
    zone.create()
    assert zone.zone_id.isdigit() and len(zone.name_servers) == 4
    matches = [NS.fullmatch(ns) for ns in zone.name_servers]
    assert all(matches)
    assert len({m.group(1) for m in matches if m}) == 1
    assert [m.group(2) for m in matches if m] == ["1", "2", "3", "4"]
    assert zone.created is not None

    again = cloud.zone("shop")
    again.reload()
    assert (again.dns_name, again.description, again.zone_id) == (
        "example.com.",
        "the shop",
        zone.zone_id,
    )
    assert [z.name for z in cloud.list_zones()] == ["shop"]

    apex = {(r.name, r.record_type): r for r in zone.list_resource_record_sets()}
    assert set(apex) == {("example.com.", "NS"), ("example.com.", "SOA")}
    assert apex["example.com.", "NS"].rrdatas == zone.name_servers
    assert apex["example.com.", "NS"].ttl == 21600
    soa = apex["example.com.", "SOA"].rrdatas[0].split()
    assert soa[0] == zone.name_servers[0] and soa[1] == "cloud-dns-hostmaster.google.com."
    (first,) = zone.list_changes()
    assert first.name == "0" and first.status == "done"
    assert {(r.name, r.record_type) for r in first.additions} == set(apex)

    zone.delete()
    assert not zone.exists()
    assert list(cloud.list_zones()) == []


def test_zone_fields_on_the_wire(api: Any, raw: httpx.Client) -> None:
    made = api.managedZones().create(project="p1", body=zone_body(labels={"a": "b"})).execute()
    assert made["kind"] == "dns#managedZone" and made["visibility"] == "public"
    assert made["labels"] == {"a": "b"} and made["description"] == "d"
    assert STAMP.match(made["creationTime"]) and made["id"].isdigit()
    by_id = api.managedZones().get(project="p1", managedZone=made["id"]).execute()
    assert by_id == made
    assert raw.get("/dns/v1/projects/p1/managedZones/shop", params={"fields": "name"}).json() == {
        "name": "shop"
    }
    assert api.projects().get(project="p1").execute()["quota"]["managedZones"] > 0


def test_patch_and_update_answer_an_operation(api: Any) -> None:
    zones = api.managedZones()
    zones.create(project="p1", body=zone_body(labels={"team": "web"})).execute()
    op = zones.patch(project="p1", managedZone="shop", body={"description": "new"}).execute()
    assert op["kind"] == "dns#operation" and op["type"] == "UPDATE" and op["status"] == "done"
    assert op["zoneContext"]["oldValue"]["description"] == "d"
    assert op["zoneContext"]["newValue"]["description"] == "new"
    assert op["zoneContext"]["newValue"]["labels"] == {"team": "web"}  # patch keeps the rest

    replaced = zones.update(project="p1", managedZone="shop", body=zone_body()).execute()
    assert "labels" not in replaced["zoneContext"]["newValue"]  # update replaces the zone
    assert zones.get(project="p1", managedZone="shop").execute()["description"] == "d"

    moved = zones.patch(project="p1", managedZone="shop", body={"dnsName": "other.com."})
    assert refused(moved)["errors"][0]["reason"] == "invalid"
    assert refused(zones.patch(project="p1", managedZone="nope", body={}))["code"] == 404


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"dnsName": "example.com."}, "required"),
        (zone_body(dns_name=""), "required"),
        (zone_body("Shop"), "invalid"),
        (zone_body("1shop"), "invalid"),
        (zone_body("shop-"), "invalid"),
        (zone_body("shop_x"), "invalid"),
        (zone_body("s" * 64), "invalid"),
        (zone_body(dns_name="example.com"), "invalid"),
        (zone_body(dns_name="exa mple.com."), "invalid"),
        (zone_body(visibility="secret"), "invalid"),
        (zone_body(labels={"Bad": "x"}), "invalid"),
        (zone_body(labels={"ok": "Not OK"}), "invalid"),
        (zone_body(description="x" * 1025), "invalid"),
        (zone_body(colour="blue"), "invalid"),
    ],
)
def test_zone_validation(api: Any, body: dict[str, Any], reason: str) -> None:
    error = refused(api.managedZones().create(project="p1", body=body))
    assert (error["code"], error["status"], error["errors"][0]["reason"]) == (
        400,
        "INVALID_ARGUMENT",
        reason,
    )


def test_longest_valid_name_is_accepted(api: Any) -> None:
    name = "a" + "-" * 61 + "z"
    made = api.managedZones().create(project="p1", body=zone_body(name)).execute()
    assert made["name"] == name


def test_a_taken_name_is_409(cloud: dns.Client, api: Any) -> None:
    cloud.zone("shop", "example.com.").create()
    with pytest.raises(exceptions.Conflict) as caught:
        cloud.zone("shop", "other.com.").create()
    assert caught.value.message.endswith(
        ": The resource 'entity.managedZone' named 'shop' already exists"
    )
    error = refused(api.managedZones().create(project="p1", body=zone_body()))
    assert (error["status"], error["errors"][0]["reason"]) == ("ALREADY_EXISTS", "alreadyExists")
    # names are per project, and one domain may have several zones
    api.managedZones().create(project="p2", body=zone_body()).execute()
    api.managedZones().create(project="p1", body=zone_body("shop-two")).execute()


def test_a_zone_with_records_cannot_be_deleted(cloud: dns.Client, api: Any) -> None:
    zone = cloud.zone("shop", "example.com.")
    zone.create()
    change = zone.changes()
    change.add_record_set(zone.resource_record_set("www.example.com.", "A", 300, ["192.0.2.1"]))
    change.create()
    with pytest.raises(exceptions.BadRequest) as caught:
        zone.delete()
    assert "not empty" in caught.value.message
    error = refused(api.managedZones().delete(project="p1", managedZone="shop"))
    assert error["errors"][0]["reason"] == "containerNotEmpty"
    rrsets = api.resourceRecordSets()
    rrsets.delete(project="p1", managedZone="shop", name="www.example.com.", type="A").execute()
    api.managedZones().delete(project="p1", managedZone="shop").execute()
    assert refused(api.managedZones().get(project="p1", managedZone="shop"))["code"] == 404


def test_list_pages_and_filters(api: Any, raw: httpx.Client) -> None:
    zones = api.managedZones()
    for i in range(5):
        zones.create(project="p1", body=zone_body(f"z{i}", f"d{i % 2}.example.")).execute()
    zones.create(project="p2", body=zone_body("elsewhere")).execute()
    names, pages = [], 0
    request = zones.list(project="p1", maxResults=2)
    while request is not None:
        page = request.execute()
        assert page["kind"] == "dns#managedZonesListResponse"
        names += [z["name"] for z in page["managedZones"]]
        pages += 1
        request = zones.list_next(request, page)
    assert (names, pages) == (["z0", "z1", "z2", "z3", "z4"], 3)
    d1 = zones.list(project="p1", dnsName="d1.example.").execute()["managedZones"]
    assert [z["name"] for z in d1] == ["z1", "z3"]
    assert [z["name"] for z in zones.list(project="p2").execute()["managedZones"]] == ["elsewhere"]
    bad = raw.get("/dns/v1/projects/p1/managedZones", params={"pageToken": "%%%"})
    assert bad.status_code == 400
    assert (
        raw.get("/dns/v1/projects/p1/managedZones", params={"maxResults": "x"}).status_code == 400
    )


def test_name_servers_vary_between_zones(api: Any) -> None:
    shards = set()
    for i in range(3):
        made = api.managedZones().create(project="p1", body=zone_body(f"z{i}")).execute()
        match = NS.match(made["nameServers"][0])
        assert match is not None
        shards.add(match.group(1))
    assert len(shards) == 3


def test_unknown_paths_and_zones_are_404(api: Any, raw: httpx.Client) -> None:
    error = refused(api.managedZones().get(project="p1", managedZone="ghost"))
    assert error["message"] == "The 'parameters.managedZone' resource named 'ghost' does not exist."
    assert refused(api.changes().list(project="p1", managedZone="ghost"))["code"] == 404
    assert raw.get("/dns/v1/nowhere").status_code == 404
