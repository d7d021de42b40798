"""Cloud DNS emulator record sets: changes through google-cloud-dns, per-rrset CRUD
through the discovery client.

The rules a driver lives by (shared/reference/gcp-notes.md §1): no upsert, additions
of an existing name+type are 409, deletions must match exactly (ttl and rrdatas) or
are 412, a change applies whole or not at all, a CNAME shares its name with nothing,
names are fully qualified and inside the zone, and google-cloud-dns's string ttls are
accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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

ZONE = "shop"
CHANGES = f"/dns/v1/projects/p1/managedZones/{ZONE}/changes"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start_in_thread(tmp_path / "sb", names=["dns"]) as sandbox:
        yield sandbox


@pytest.fixture
def zone(running: RunningSandbox) -> dns.ManagedZone:
    client = dns.Client(
        project="p1",
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": running.providers["dns"].url},
    )
    made = client.zone(ZONE, "example.com.", description="d")
    made.create()
    return made


@pytest.fixture
def api(running: RunningSandbox, zone: dns.ManagedZone) -> Iterator[Any]:
    options = {"api_endpoint": running.providers["dns"].url}
    creds = AnonymousCredentials()
    with build("dns", "v1", static_discovery=True, credentials=creds, client_options=options) as s:
        yield s


@pytest.fixture
def raw(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["dns"].url) as c:
        yield c


def rr(name: str, rtype: str, rrdatas: list[str], ttl: Any = 300) -> dict[str, Any]:
    return {"name": name, "type": rtype, "ttl": ttl, "rrdatas": rrdatas}


def held(zone: dns.ManagedZone) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """Every record set but the apex SOA/NS, as (ttl, rrdatas) by (name, type)."""
    return {
        (r.name, r.record_type): (r.ttl, r.rrdatas)
        for r in zone.list_resource_record_sets()
        if r.record_type not in ("SOA", "NS")
    }


def change(
    raw: httpx.Client, add: Sequence[Any] = (), delete: Sequence[Any] = ()
) -> httpx.Response:
    return raw.post(CHANGES, json={"additions": list(add), "deletions": list(delete)})


def error(resp: httpx.Response) -> tuple[int, str, str]:
    body = resp.json()["error"]
    assert body["code"] == resp.status_code and body["errors"][0]["message"] == body["message"]
    return resp.status_code, body["errors"][0]["reason"], body["message"]


def test_changes_through_google_cloud_dns(zone: dns.ManagedZone) -> None:
    first = zone.changes()
    first.add_record_set(zone.resource_record_set("www.example.com.", "A", 300, ["192.0.2.1"]))
    first.add_record_set(
        zone.resource_record_set("example.com.", "TXT", 60, ['"v=spf1 -all"', '"hello"'])
    )
    first.create()  # google-cloud-dns sends the ttls as strings
    assert first.status == "pending" and first.name == "1"
    assert held(zone) == {
        ("www.example.com.", "A"): (300, ["192.0.2.1"]),
        ("example.com.", "TXT"): (60, ['"v=spf1 -all"', '"hello"']),
    }
    first.reload()
    assert first.status == "done"

    swap = zone.changes()  # no upsert: delete exactly what is there, add the new
    swap.delete_record_set(zone.resource_record_set("www.example.com.", "A", 300, ["192.0.2.1"]))
    swap.add_record_set(zone.resource_record_set("www.example.com.", "A", 600, ["192.0.2.9"]))
    swap.create()
    assert held(zone)["www.example.com.", "A"] == (600, ["192.0.2.9"])
    assert [c.name for c in zone.list_changes()] == ["0", "1", "2"]


def test_an_existing_addition_is_409_and_nothing_changes(
    zone: dns.ManagedZone, raw: httpx.Client
) -> None:
    assert change(raw, [rr("www.example.com.", "A", ["192.0.2.1"])]).status_code == 200
    again = change(
        raw,
        [rr("new.example.com.", "A", ["192.0.2.2"]), rr("WWW.example.com.", "A", ["192.0.2.3"])],
    )
    assert error(again) == (
        409,
        "alreadyExists",
        "The resource 'entity.change.additions[1]' named 'www.example.com. (A)' already exists",
    )
    assert set(held(zone)) == {("www.example.com.", "A")}  # atomic: new.example.com. is not there
    conflict = zone.changes()
    conflict.add_record_set(zone.resource_record_set("www.example.com.", "A", 300, ["192.0.2.1"]))
    with pytest.raises(exceptions.Conflict):
        conflict.create()


@pytest.mark.parametrize(
    "deletion",
    [
        rr("www.example.com.", "A", ["192.0.2.1", "192.0.2.2"], ttl=301),
        rr("www.example.com.", "A", ["192.0.2.1"]),
        rr("www.example.com.", "A", ["192.0.2.1", "192.0.2.2", "192.0.2.3"]),
    ],
)
def test_an_inexact_deletion_is_412(
    zone: dns.ManagedZone, raw: httpx.Client, deletion: dict[str, Any]
) -> None:
    change(raw, [rr("www.example.com.", "A", ["192.0.2.1", "192.0.2.2"])])
    replacement = rr("www.example.com.", "A", ["192.0.2.7"])
    assert error(change(raw, [replacement], [deletion])) == (
        412,
        "conditionNotMet",
        "Precondition not met for 'entity.change.deletions[0]'",
    )
    assert held(zone)["www.example.com.", "A"] == (300, ["192.0.2.1", "192.0.2.2"])
    exact = rr("www.example.com.", "A", ["192.0.2.2", "192.0.2.1"], ttl="300")  # any order
    assert change(raw, [replacement], [exact]).status_code == 200


def test_deleting_a_missing_record_set_is_404(zone: dns.ManagedZone, raw: httpx.Client) -> None:
    gone = zone.changes()
    gone.delete_record_set(zone.resource_record_set("ghost.example.com.", "A", 300, ["192.0.2.1"]))
    with pytest.raises(exceptions.NotFound):
        gone.create()
    assert error(change(raw, [], []))[:2] == (400, "required")


def test_cname_stands_alone(zone: dns.ManagedZone, raw: httpx.Client) -> None:
    change(
        raw,
        [
            rr("www.example.com.", "A", ["192.0.2.1"]),
            rr("app.example.com.", "CNAME", ["x.example.net."]),
        ],
    )
    for addition in (
        rr("www.example.com.", "CNAME", ["example.com."]),
        rr("app.example.com.", "TXT", ['"x"']),
        rr("example.com.", "CNAME", ["elsewhere.net."]),
    ):
        code, reason, _ = error(change(raw, [addition]))
        assert (code, reason) == (400, "cnameResourceRecordSetConflict"), addition
    swap = change(
        raw,
        [rr("www.example.com.", "CNAME", ["example.com."])],
        [rr("www.example.com.", "A", ["192.0.2.1"])],
    )
    assert swap.status_code == 200  # replacing the A by a CNAME in one change is fine
    assert held(zone)["www.example.com.", "CNAME"] == (300, ["example.com."])


@pytest.mark.parametrize(
    "addition",
    [
        rr("www.other.com.", "A", ["192.0.2.1"]),
        rr("www.example.com", "A", ["192.0.2.1"]),
        rr("bad name.example.com.", "A", ["192.0.2.1"]),
        rr("www.example.com.", "BOGUS", ["x"]),
        rr("www.example.com.", "a", ["192.0.2.1"]),
        rr("www.example.com.", "A", ["192.0.2"]),
        rr("www.example.com.", "A", ["2001:db8::1"]),
        rr("www.example.com.", "AAAA", ["192.0.2.1"]),
        rr("www.example.com.", "A", []),
        rr("www.example.com.", "A", ["192.0.2.1", "192.0.2.1"]),
        rr("www.example.com.", "A", ["192.0.2.1"], ttl="soon"),
        rr("www.example.com.", "A", ["192.0.2.1"], ttl=-1),
        rr("www.example.com.", "CNAME", ["a.example.net.", "b.example.net."]),
        rr("www.example.com.", "CNAME", ["no-trailing-dot.example.net"]),
        rr("example.com.", "MX", ["mail.example.com."]),
        rr("example.com.", "TXT", ["x" * 256]),
        rr("deep.example.com.", "SOA", ["a. b. 1 2 3 4 5"]),
        {"name": "www.example.com.", "type": "A", "rrdatas": ["192.0.2.1"], "weight": 1},
    ],
)
def test_invalid_record_sets_are_400(
    zone: dns.ManagedZone, raw: httpx.Client, addition: dict[str, Any]
) -> None:
    resp = change(raw, [addition])
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert held(zone) == {}


def test_accepted_record_data(zone: dns.ManagedZone, raw: httpx.Client) -> None:
    records = [
        rr("*.example.com.", "A", ["192.0.2.1"]),
        rr("example.com.", "MX", ["10 feedback-smtp.ca-central-1.amazonses.com."]),
        rr("example.com.", "TXT", ['"' + "x" * 255 + '" "more"']),
        rr("_dmarc.example.com.", "TXT", ['"v=DMARC1; p=none"']),
        rr("_sip._tcp.example.com.", "SRV", ["10 5 5060 sip.example.com."]),
        rr("example.com.", "CAA", ['0 issue "letsencrypt.org"']),
        rr("v6.example.com.", "AAAA", ["2001:db8::1"]),
        {"name": "no-ttl.example.com.", "type": "A", "rrdatas": ["192.0.2.1"]},
    ]
    assert change(raw, records).status_code == 200
    assert held(zone)["no-ttl.example.com.", "A"] == (0, ["192.0.2.1"])


def test_the_apex_keeps_its_soa_and_ns(zone: dns.ManagedZone, raw: httpx.Client) -> None:
    listed = raw.get(f"/dns/v1/projects/p1/managedZones/{ZONE}/rrsets").json()["rrsets"]
    soa = next(r for r in listed if r["type"] == "SOA")
    ns = next(r for r in listed if r["type"] == "NS")
    for lone in (soa, ns):
        code, reason, _ = error(change(raw, [], [lone]))
        assert (code, reason) == (400, "invalid")
    serial = soa["rrdatas"][0].replace(" 1 21600", " 2 21600")
    bumped = {**soa, "rrdatas": [serial]}
    assert change(raw, [bumped], [soa]).status_code == 200  # replacing the SOA is allowed
    assert error(change(raw, [{**ns, "ttl": 60}]))[0] == 409


def test_per_rrset_crud_through_discovery(api: Any) -> None:
    rrsets = api.resourceRecordSets()
    where = {"project": "p1", "managedZone": ZONE}
    body = rr("mail.example.com.", "MX", ["10 feedback-smtp.ca-central-1.amazonses.com."])
    made = rrsets.create(**where, body=body).execute()
    assert made == {"kind": "dns#resourceRecordSet", **body}
    with pytest.raises(HttpError) as dup:
        rrsets.create(**where, body=body).execute()
    assert dup.value.resp.status == 409
    named = {**where, "name": "mail.example.com.", "type": "MX"}
    assert rrsets.get(**named).execute() == made
    patched = rrsets.patch(**named, body={"ttl": 60}).execute()
    assert (patched["ttl"], patched["rrdatas"]) == (60, body["rrdatas"])
    with pytest.raises(HttpError) as renamed:
        rrsets.patch(**named, body={"type": "TXT"}).execute()
    assert renamed.value.resp.status == 400
    by_name = rrsets.list(**where, name="mail.example.com.").execute()
    assert by_name["kind"] == "dns#resourceRecordSetsListResponse"
    assert [r["ttl"] for r in by_name["rrsets"]] == [60]
    assert rrsets.list(**where, name="mail.example.com.", type="A").execute()["rrsets"] == []
    with pytest.raises(HttpError) as typed:
        rrsets.list(**where, type="MX").execute()
    assert typed.value.resp.status == 400  # a type filter needs the name
    assert rrsets.delete(**named).execute() == {}
    with pytest.raises(HttpError) as gone:
        rrsets.get(**named).execute()
    assert gone.value.resp.status == 404
    with pytest.raises(HttpError) as apex:
        rrsets.delete(**where, name="example.com.", type="SOA").execute()
    assert apex.value.resp.status == 400
    history = api.changes().list(**where, sortOrder="descending").execute()["changes"]
    assert [c["id"] for c in history] == ["3", "2", "1", "0"]  # create, patch, delete


def test_rrsets_and_changes_page(api: Any, raw: httpx.Client) -> None:
    where = {"project": "p1", "managedZone": ZONE}
    for i in range(7):
        change(raw, [rr(f"h{i}.example.com.", "A", [f"192.0.2.{i + 1}"])])
    names, request = [], api.resourceRecordSets().list(**where, maxResults=3)
    while request is not None:
        page = request.execute()
        names += [(r["name"], r["type"]) for r in page["rrsets"]]
        request = api.resourceRecordSets().list_next(request, page)
    assert names == sorted(names) and len(names) == 9  # 7 + apex NS and SOA, (name, type) order
    ids, request = [], api.changes().list(**where, maxResults=4, sortOrder="descending")
    while request is not None:
        page = request.execute()
        ids += [c["id"] for c in page["changes"]]
        request = api.changes().list_next(request, page)
    assert ids == [str(i) for i in range(7, -1, -1)]
    assert raw.get(CHANGES, params={"sortBy": "time"}).status_code == 400
    assert api.changes().get(**where, changeId="3").execute()["additions"][0]["name"] == (
        "h2.example.com."
    )
    with pytest.raises(HttpError) as missing:
        api.changes().get(**where, changeId="99").execute()
    assert json.loads(missing.value.content)["error"]["status"] == "NOT_FOUND"
