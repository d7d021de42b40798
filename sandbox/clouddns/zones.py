"""Managed zones (``managedZones.*``) and the project resource (``projects.get``).

A new zone gets an id, a creation time, four name servers of one Cloud DNS shard
(``ns-cloud-b1..b4.googledomains.com.``) and its apex SOA and NS record sets, written
by change ``"0"``. ``patch`` and ``update`` answer with an Operation carrying the old
and new zone; the name, DNS name and visibility cannot change. ``delete`` refuses a
zone holding anything but its apex SOA and NS (400 ``containerNotEmpty``).
"""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from vibn.sandbox.clouddns.records import dns_name, record_change
from vibn.sandbox.clouddns.store import Record, name_servers, public, rrset_key, zone_id
from vibn.sandbox.clouddns.wire import (
    Call,
    Handler,
    bad_value,
    fail,
    listing,
    not_found,
    required,
)
from vibn.sandbox.gcs.gcp import project_number, rfc3339
from vibn.sandbox.publicdns import fqdn
from vibn.sandbox.routing import Router

ENTITY = "entity.managedZone"
ZONE_FIELDS = [
    "cloudLoggingConfig",
    "creationTime",
    "description",
    "dnsName",
    "dnssecConfig",
    "forwardingConfig",
    "id",
    "kind",
    "labels",
    "name",
    "nameServerSet",
    "nameServers",
    "peeringConfig",
    "privateVisibilityConfig",
    "reverseLookupConfig",
    "serviceDirectoryConfig",
    "visibility",
]
#: fields a client sets and may change later
MUTABLE = (
    "description",
    "labels",
    "dnssecConfig",
    "cloudLoggingConfig",
    "privateVisibilityConfig",
    "forwardingConfig",
    "peeringConfig",
    "reverseLookupConfig",
    "serviceDirectoryConfig",
)
#: fields fixed at creation
FIXED = ("name", "dnsName", "visibility", "nameServerSet")
APEX_TTL = 21600
_ZONE_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
QUOTA = {
    "kind": "dns#quota",
    "managedZones": 10000,
    "rrsetsPerManagedZone": 10000,
    "resourceRecordsPerRrset": 100,
    "rrsetAdditionsPerChange": 1000,
    "rrsetDeletionsPerChange": 1000,
    "totalRrdataSizePerChange": 100000,
}


def zone_of(call: Call) -> Record:
    """The zone the path names (by name or id); 404 when the project has none such."""
    ref = call.params["managedZone"]
    zone = call.store.find_zone(call.project, ref)
    if zone is None:
        not_found("parameters.managedZone", ref)
    return zone


def _labels(value: object) -> dict[str, str]:
    where = f"{ENTITY}.labels"
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 64:
        bad_value(where, value)
    for key, val in value.items():
        if not _LABEL_KEY.match(str(key)):
            bad_value(f"{where}.key", key)
        if not isinstance(val, str) or not _LABEL_VALUE.match(val):
            bad_value(f"{where}.value", val)
    return dict(value)


def _settable(zone: Record, body: dict[str, Any], replace: bool) -> None:
    """Copy the mutable fields of ``body`` (all of them, cleared when absent, on PUT)."""
    for name in MUTABLE:
        if name not in body or body[name] is None:
            if replace:
                zone.pop(name, None)
            continue
        value = body[name]
        if name == "description" and (not isinstance(value, str) or len(value) > 1024):
            bad_value(f"{ENTITY}.description", value)
        if name == "labels":
            value = _labels(value)
        if value in ({}, None):
            zone.pop(name, None)
        else:
            zone[name] = value


def _apex(name: str, rtype: str, rrdatas: list[str]) -> Record:
    rrset: Record = {"kind": "dns#resourceRecordSet", "name": name, "type": rtype}
    return rrset | {"ttl": APEX_TTL, "rrdatas": rrdatas}


def create_zone(call: Call) -> Response:
    body = call.json(ENTITY, ZONE_FIELDS)
    name = body.get("name")
    if not name:
        required(f"{ENTITY}.name")
    if not isinstance(name, str) or not _ZONE_NAME.match(name):
        bad_value(f"{ENTITY}.name", name)
    if not body.get("dnsName"):
        required(f"{ENTITY}.dnsName")
    apex = dns_name(body["dnsName"], f"{ENTITY}.dnsName")
    if apex.startswith("*."):
        bad_value(f"{ENTITY}.dnsName", body["dnsName"])
    visibility = body.get("visibility") or "public"
    if visibility not in ("public", "private"):
        bad_value(f"{ENTITY}.visibility", visibility)
    key = f"{call.project}/{name}"
    if key in call.store.zones():
        fail(409, "alreadyExists", f"The resource '{ENTITY}' named '{name}' already exists")
    seq = call.store.next_seq()
    now = call.store.now()
    servers = name_servers(seq)
    zone: Record = {"kind": "dns#managedZone", "name": name, "dnsName": apex}
    _settable(zone, body, replace=False)
    zone |= {
        "id": zone_id(call.project, seq),
        "nameServers": servers,
        "creationTime": rfc3339(now),
        "visibility": visibility,
    }
    if body.get("nameServerSet"):
        zone["nameServerSet"] = body["nameServerSet"]
    soa = f"{servers[0]} cloud-dns-hostmaster.google.com. 1 21600 3600 259200 300"
    rrsets = [_apex(apex, "NS", servers), _apex(apex, "SOA", [soa])]
    zone |= {"_project": call.project, "_seq": seq, "_ops": 0, "_changes": []}
    zone["_rrsets"] = {rrset_key(r["name"], r["type"]): r for r in rrsets}
    record_change(zone, now, rrsets, [])
    call.store.zones()[key] = zone
    call.store.mark_dirty()
    return call.reply(public(zone))


def get_zone(call: Call) -> Response:
    return call.reply(public(zone_of(call)))


def list_zones(call: Call) -> Response:
    zones = call.store.project_zones(call.project)
    wanted = call.query.get("dnsName")
    if wanted:
        zones = [z for z in zones if z["dnsName"] == fqdn(wanted)]
    page, token = call.page(zones, lambda z: f"{z['_seq']:012d}")
    return call.reply(
        listing("dns#managedZonesListResponse", "managedZones", [public(z) for z in page], token)
    )


def _modify(call: Call, replace: bool) -> Response:
    zone = zone_of(call)
    body = call.json(ENTITY, ZONE_FIELDS)
    for name in FIXED:
        given = body.get(name)
        if given is None:
            continue
        same = fqdn(str(given)) == zone["dnsName"] if name == "dnsName" else given == zone.get(name)
        if not same:
            bad_value(f"{ENTITY}.{name}", given)
    before = public(zone)
    _settable(zone, body, replace)
    zone["_ops"] = int(zone.get("_ops", 0)) + 1
    call.store.mark_dirty()
    return call.reply(
        {
            "kind": "dns#operation",
            "id": str(zone["_ops"]),
            "startTime": rfc3339(call.store.now()),
            "status": "done",
            "type": "UPDATE",
            "zoneContext": {"oldValue": before, "newValue": public(zone)},
        }
    )


def patch_zone(call: Call) -> Response:
    return _modify(call, replace=False)


def update_zone(call: Call) -> Response:
    return _modify(call, replace=True)


def delete_zone(call: Call) -> Response:
    zone = zone_of(call)
    apex = zone["dnsName"]
    held = [
        r
        for r in zone["_rrsets"].values()
        if not (r["name"] == apex and r["type"] in ("SOA", "NS"))
    ]
    if held:
        fail(
            400,
            "containerNotEmpty",
            f"The resource named '{zone['name']}' cannot be deleted because it is not empty",
            "FAILED_PRECONDITION",
        )
    del call.store.zones()[f"{call.project}/{zone['name']}"]
    call.store.mark_dirty()
    return Response(status_code=204)


def get_project(call: Call) -> Response:
    number = project_number(call.project)
    doc = {"kind": "dns#project", "id": call.project, "number": number, "quota": QUOTA}
    return call.reply(doc)


def register(router: Router[Handler]) -> None:
    base = "/dns/v1/projects/{project}"
    zone = base + "/managedZones/{managedZone}"
    router.add("GET", base, get_project)
    router.add("POST", base + "/managedZones", create_zone)
    router.add("GET", base + "/managedZones", list_zones)
    router.add("GET", zone, get_zone)
    router.add("PATCH", zone, patch_zone)
    router.add("PUT", zone, update_zone)
    router.add("DELETE", zone, delete_zone)
