"""Resource record sets: their validation, and changes applied as Cloud DNS applies them.

Cloud DNS has no upsert. A change lists deletions, each of which must match the
current record set exactly (ttl and every rrdata, else 412 ``conditionNotMet``; a
missing one is 404), and additions, each of which must be new (else 409
``alreadyExists``). The whole change applies or none of it does. Afterwards the zone
must still be a zone: one SOA and the NS set at the apex, and no CNAME sharing a name
with another type. Names are fully qualified with the trailing dot and must lie inside
the zone; ``ttl`` arrives as a number or, from google-cloud-dns, as a string.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from vibn.sandbox.clouddns.store import Record, rrset_key
from vibn.sandbox.clouddns.wire import (
    DnsError,
    bad_value,
    check_fields,
    fail,
    invalid,
    required,
)
from vibn.sandbox.gcs.gcp import rfc3339

RRSET_FIELDS = ("kind", "name", "type", "ttl", "rrdatas", "signatureRrdatas", "routingPolicy")
TYPES = frozenset(
    [
        "A",
        "AAAA",
        "ALIAS",
        "CAA",
        "CNAME",
        "DNSKEY",
        "DS",
        "HTTPS",
        "IPSECKEY",
        "MX",
        "NAPTR",
        "NS",
        "PTR",
        "SOA",
        "SPF",
        "SRV",
        "SSHFP",
        "SVCB",
        "TLSA",
        "TXT",
    ]
)
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_HOST_TYPES = frozenset({"CNAME", "NS", "PTR"})


def dns_name(value: object, where: str) -> str:
    """A fully qualified name (``www.example.com.``), lowercased; 400 otherwise."""
    text = str(value).lower() if isinstance(value, str) else ""
    labels = text[:-1].split(".") if text.endswith(".") and text != "." else []
    if labels and labels[0] == "*":
        labels = labels[1:] or ["x"]
    if not labels or len(text) > 254 or not all(_LABEL.match(label) for label in labels):
        bad_value(where, value)
    return text


def _host(text: str) -> bool:
    try:
        dns_name(text, "")
    except DnsError:
        return False
    return True


def _u16(text: str) -> bool:
    return text.isdigit() and int(text) <= 65535


def _text_ok(text: str) -> bool:
    """TXT data: one unquoted string of at most 255 characters, or quoted strings of
    at most 255 each (a longer value is split by the client)."""
    if '"' not in text:
        return len(text) <= 255
    rest = _QUOTED.sub("", text).strip()
    return not rest and all(len(m.group(1)) <= 255 for m in _QUOTED.finditer(text))


def _rdata_ok(rtype: str, data: str) -> bool:
    parts = data.split()
    if rtype in ("A", "AAAA"):
        try:
            address = ipaddress.ip_address(data)
        except ValueError:
            return False
        return address.version == (4 if rtype == "A" else 6)
    if rtype in _HOST_TYPES:
        return _host(data)
    if rtype == "MX":
        return len(parts) == 2 and _u16(parts[0]) and (parts[1] == "." or _host(parts[1]))
    if rtype == "SRV":
        return len(parts) == 4 and all(_u16(p) for p in parts[:3]) and _host(parts[3])
    if rtype == "SOA":
        return (
            len(parts) == 7
            and _host(parts[0])
            and _host(parts[1])
            and all(p.isdigit() for p in parts[2:])
        )
    if rtype in ("TXT", "SPF"):
        return _text_ok(data)
    if rtype == "CAA":
        return len(parts) >= 3 and parts[0].isdigit() and int(parts[0]) <= 255
    return bool(data.strip())


def parse_ttl(value: object, where: str) -> int:
    """``300`` or ``"300"`` (google-cloud-dns sends strings); an absent ttl is 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | str):
        bad_value(where, value)
    try:
        ttl = int(value)
    except ValueError:
        bad_value(where, value)
    if not 0 <= ttl <= 2**31 - 1:
        bad_value(where, value)
    return ttl


def parse_rrset(doc: object, where: str, apex: str) -> Record:
    """A validated record set (canonical form) from a request body, inside zone ``apex``."""
    if not isinstance(doc, dict):
        bad_value(where, doc)
    check_fields(doc, where, RRSET_FIELDS)
    if not doc.get("name"):
        required(f"{where}.name")
    name = dns_name(doc["name"], f"{where}.name")
    rtype = doc.get("type")
    if not rtype:
        required(f"{where}.type")
    if rtype not in TYPES:
        bad_value(f"{where}.type", rtype)
    if name != apex and not name.endswith("." + apex):
        invalid(
            f"The resource record set '{where}' named '{name} ({rtype})' is invalid because "
            f"its DNS name is not within the zone's DNS name '{apex}'."
        )
    rrdatas = doc.get("rrdatas") or []
    routing = doc.get("routingPolicy")
    if not isinstance(rrdatas, list) or not all(isinstance(r, str) for r in rrdatas):
        bad_value(f"{where}.rrdatas", rrdatas)
    if not rrdatas and routing is None:
        required(f"{where}.rrdatas")
    for i, data in enumerate(rrdatas):
        if not _rdata_ok(str(rtype), data):
            bad_value(f"{where}.rrdata[{i}]", data)
    if len(set(rrdatas)) != len(rrdatas):
        invalid(f"The resource record set '{where}' holds the same rrdata twice.")
    if rtype in ("CNAME", "SOA") and len(rrdatas) > 1:
        invalid(f"The resource record set '{where}' of type {rtype} may hold only one rrdata.")
    out: Record = {"kind": "dns#resourceRecordSet", "name": name, "type": rtype}
    out |= {"ttl": parse_ttl(doc.get("ttl"), f"{where}.ttl"), "rrdatas": list(rrdatas)}
    for extra in ("signatureRrdatas", "routingPolicy"):
        if doc.get(extra):
            out[extra] = doc[extra]
    return out


def _same(current: Record, asked: Record) -> bool:
    """Whether a deletion names the record set exactly as it stands."""
    return (
        current["ttl"] == asked["ttl"]
        and sorted(current["rrdatas"]) == sorted(asked["rrdatas"])
        and current.get("routingPolicy") == asked.get("routingPolicy")
    )


def _named(rrset: Record) -> str:
    return f"{rrset['name']} ({rrset['type']})"


def _check_zone(
    zone: Record,
    rrsets: dict[str, Record],
    deletions: list[tuple[str, Record]],
    additions: list[tuple[str, Record]],
) -> None:
    """The zone after a change: SOA and NS at the apex, SOA nowhere else, CNAME alone."""
    apex = zone["dnsName"]
    for where, rrset in deletions:
        apex_type = rrset["name"] == apex and rrset["type"] in ("SOA", "NS")
        if apex_type and rrset_key(apex, rrset["type"]) not in rrsets:
            invalid(
                f"The change '{where}' would leave the zone without its apex "
                f"{rrset['type']} record set."
            )
    for where, rrset in additions:
        name, rtype = rrset["name"], rrset["type"]
        if rtype == "SOA" and name != apex:
            invalid(f"The resource record set '{where}' is invalid: SOA belongs at the apex.")
        types = {r["type"] for r in rrsets.values() if r["name"] == name}
        if "CNAME" in types and len(types) > 1:
            other = sorted(types - {rtype})[0]
            fail(
                400,
                "cnameResourceRecordSetConflict",
                f"The resource '{where}' named '{_named(rrset)}' cannot be created because a "
                f"record set of type {other} exists at that name; a CNAME cannot share its "
                "name with another type.",
            )


def apply_change(
    zone: Record, deletions: list[tuple[str, Record]], additions: list[tuple[str, Record]]
) -> tuple[list[Record], list[Record]]:
    """Apply a change to ``zone`` atomically; the (additions, deletions) as recorded."""
    work = dict(zone["_rrsets"])
    removed: list[Record] = []
    for where, asked in deletions:
        current = work.get(rrset_key(asked["name"], asked["type"]))
        if current is None:
            fail(404, "notFound", f"The '{where}' resource named '{_named(asked)}' does not exist.")
        if not _same(current, asked):
            fail(412, "conditionNotMet", f"Precondition not met for '{where}'")
        removed.append(current)
        del work[rrset_key(asked["name"], asked["type"])]
    for where, rrset in additions:
        key = rrset_key(rrset["name"], rrset["type"])
        if key in work:
            message = f"The resource '{where}' named '{_named(rrset)}' already exists"
            fail(409, "alreadyExists", message)
        work[key] = rrset
    _check_zone(zone, work, deletions, additions)
    zone["_rrsets"] = dict(sorted(work.items()))
    return [rrset for _, rrset in additions], removed


def record_change(
    zone: Record, now: float, additions: list[Record], deletions: list[Record]
) -> Record:
    """Append a change (ids ``"0"``, ``"1"``...) to the zone's history; done at once."""
    changes: list[Record] = zone["_changes"]
    change: Record = {
        "kind": "dns#change",
        "id": str(len(changes)),
        "startTime": rfc3339(now),
        "status": "done",
        "additions": additions,
    }
    if deletions:
        change["deletions"] = deletions
    changes.append(change)
    return change


def change_body(doc: dict[str, Any], apex: str) -> tuple[list[tuple[str, Record]], ...]:
    """The deletions and additions of a ``changes.create`` body, validated."""
    check_fields(doc, "entity.change", ("kind", "additions", "deletions", "isServing", "id"))
    found: list[list[tuple[str, Record]]] = []
    for part in ("deletions", "additions"):
        items = doc.get(part) or []
        if not isinstance(items, list):
            bad_value(f"entity.change.{part}", items)
        wheres = [f"entity.change.{part}[{i}]" for i in range(len(items))]
        found.append([(w, parse_rrset(r, w, apex)) for w, r in zip(wheres, items, strict=True)])
    if not found[0] and not found[1]:
        required("entity.change.additions")
    return found[0], found[1]
