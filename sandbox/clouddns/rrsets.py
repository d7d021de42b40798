"""Changes (``changes.*``) and record sets (``resourceRecordSets.*``) of a zone.

``changes.create`` is how google-cloud-dns writes records: it answers ``pending``
(Google applies changes asynchronously; a later ``get`` says ``done``), but the
record sets are in place as soon as it returns, as listing them right after shows.
The per-record-set methods (google-api-python-client only) go through the same
rules and leave a change in the history too. Lists page by ``maxResults`` and
``pageToken``; record sets come in (name, type) order.
"""

from __future__ import annotations

from starlette.responses import Response

from vibn.sandbox.clouddns.records import (
    RRSET_FIELDS,
    apply_change,
    change_body,
    parse_rrset,
    record_change,
)
from vibn.sandbox.clouddns.store import Record, rrset_key
from vibn.sandbox.clouddns.wire import Call, Handler, bad_value, listing, not_found, required
from vibn.sandbox.clouddns.zones import zone_of
from vibn.sandbox.routing import Router

RRSET = "entity.resourceRecordSet"
CHANGE_FIELDS = ("kind", "additions", "deletions", "isServing", "id", "startTime", "status")


def create_change(call: Call) -> Response:
    zone = zone_of(call)
    deletions, additions = change_body(call.json("entity.change", CHANGE_FIELDS), zone["dnsName"])
    added, removed = apply_change(zone, deletions, additions)
    change = record_change(zone, call.store.now(), added, removed)
    call.store.mark_dirty()
    return call.reply({**change, "status": "pending"})


def get_change(call: Call) -> Response:
    zone = zone_of(call)
    wanted = call.params["changeId"]
    change = next((c for c in zone["_changes"] if c["id"] == wanted), None)
    if change is None:
        not_found("parameters.changeId", wanted)
    return call.reply(change)


def list_changes(call: Call) -> Response:
    zone = zone_of(call)
    sort_by = call.query.get("sortBy") or "changeSequence"
    if sort_by != "changeSequence":
        bad_value("parameters.sortBy", sort_by)
    order = call.query.get("sortOrder") or "ascending"
    if order not in ("ascending", "descending"):
        bad_value("parameters.sortOrder", order)
    changes: list[Record] = list(zone["_changes"])
    if order == "descending":
        changes.reverse()
        page, token = call.page(changes, lambda c: f"{10**12 - int(c['id']):012d}")
    else:
        page, token = call.page(changes, lambda c: f"{int(c['id']):012d}")
    return call.reply(listing("dns#changesListResponse", "changes", page, token))


def list_rrsets(call: Call) -> Response:
    zone = zone_of(call)
    name, rtype = call.query.get("name"), call.query.get("type")
    if rtype and not name:
        required("parameters.name")
    found: list[Record] = [
        r
        for key, r in sorted(zone["_rrsets"].items())
        if (not name or r["name"] == name.lower()) and (not rtype or r["type"] == rtype)
    ]
    page, token = call.page(found, lambda r: rrset_key(r["name"], r["type"]))
    return call.reply(listing("dns#resourceRecordSetsListResponse", "rrsets", page, token))


def _current(call: Call, zone: Record) -> Record:
    name, rtype = call.params["name"].lower(), call.params["type"]
    rrset = zone["_rrsets"].get(rrset_key(name, rtype))
    if rrset is None:
        not_found("parameters.name", f"{name} ({rtype})")
    return dict(rrset)


def create_rrset(call: Call) -> Response:
    zone = zone_of(call)
    rrset = parse_rrset(call.json(RRSET, RRSET_FIELDS), RRSET, zone["dnsName"])
    added, _ = apply_change(zone, [], [(RRSET, rrset)])
    record_change(zone, call.store.now(), added, [])
    call.store.mark_dirty()
    return call.reply(rrset)


def get_rrset(call: Call) -> Response:
    return call.reply(_current(call, zone_of(call)))


def patch_rrset(call: Call) -> Response:
    zone = zone_of(call)
    current = _current(call, zone)
    body = call.json(RRSET, RRSET_FIELDS)
    for fixed in ("name", "type"):
        given = body.get(fixed)
        if given and str(given).lower() != str(current[fixed]).lower():
            bad_value(f"{RRSET}.{fixed}", given)
    merged = {**current, **{k: v for k, v in body.items() if v is not None}}
    merged["name"] = current["name"]
    rrset = parse_rrset(merged, RRSET, zone["dnsName"])
    added, removed = apply_change(zone, [(RRSET, current)], [(RRSET, rrset)])
    record_change(zone, call.store.now(), added, removed)
    call.store.mark_dirty()
    return call.reply(rrset)


def delete_rrset(call: Call) -> Response:
    zone = zone_of(call)
    current = _current(call, zone)
    _, removed = apply_change(zone, [(RRSET, current)], [])
    record_change(zone, call.store.now(), [], removed)
    call.store.mark_dirty()
    return call.reply({})


def register(router: Router[Handler]) -> None:
    zone = "/dns/v1/projects/{project}/managedZones/{managedZone}"
    rrset = zone + "/rrsets/{name}/{type}"
    router.add("POST", zone + "/changes", create_change)
    router.add("GET", zone + "/changes", list_changes)
    router.add("GET", zone + "/changes/{changeId}", get_change)
    router.add("GET", zone + "/rrsets", list_rrsets)
    router.add("POST", zone + "/rrsets", create_rrset)
    router.add("GET", rrset, get_rrset)
    router.add("PATCH", rrset, patch_rrset)
    router.add("DELETE", rrset, delete_rrset)
