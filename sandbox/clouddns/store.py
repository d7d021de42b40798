"""The Cloud DNS emulator's records: managed zones with their record sets and changes.

A zone is keyed ``<project>/<zone name>`` (names are unique per project, not
globally) and carries its wire fields plus internal ones prefixed ``_``: the project,
a creation sequence number (list order, name-server letter), its record sets keyed
``"<name> <type>"`` and its change history. Everything lives in
``<state dir>/dns.json``. The store also answers the sandbox's public DNS
(``lookup``): the most specific public zone covering a name says what resolvers on
the internet would be told.
"""

from __future__ import annotations

import hashlib
from typing import Any

from vibn.sandbox.gcs.gcp import JsonStore
from vibn.sandbox.publicdns import ZoneAnswer, fqdn

Record = dict[str, Any]
NS_LETTERS = "abcde"


def rrset_key(name: str, rtype: str) -> str:
    """``"www.example.com. A"``: sorts like ``(name, type)`` (a space precedes every
    character a DNS name may hold)."""
    return f"{name} {rtype}"


def public(doc: Record) -> Record:
    """A stored record without its internal ``_`` fields."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def zone_id(project: str, seq: int) -> str:
    """A numeric id (uint64 as a string), stable for a project and sequence number."""
    digest = hashlib.sha256(f"{project}/{seq}".encode()).digest()
    return str(10**18 + int.from_bytes(digest[:8], "big") % (8 * 10**18))


def name_servers(seq: int) -> list[str]:
    """Cloud DNS's four name servers of one shard (``ns-cloud-c1..c4``), varied per zone."""
    letter = NS_LETTERS[seq % len(NS_LETTERS)]
    return [f"ns-cloud-{letter}{i}.googledomains.com." for i in range(1, 5)]


class DnsStore(JsonStore):
    """Managed zones (with their rrsets and changes) behind one lock."""

    #: records per list page when the client does not say (``maxResults``)
    page_size = 100

    def empty(self) -> dict[str, Any]:
        return {"version": self.version, "zones": {}, "seq": 0}

    def zones(self) -> dict[str, Record]:
        return self.table("zones")

    def next_seq(self) -> int:
        self.data["seq"] = int(self.data.get("seq", 0)) + 1
        return int(self.data["seq"])

    def project_zones(self, project: str) -> list[Record]:
        """The project's zones in creation order."""
        found = [z for z in self.zones().values() if z["_project"] == project]
        return sorted(found, key=lambda z: int(z["_seq"]))

    def find_zone(self, project: str, ref: str) -> Record | None:
        """A zone by name or by numeric id (the API takes either)."""
        zone = self.zones().get(f"{project}/{ref}")
        if zone is not None or not ref.isdigit():
            return zone
        return next((z for z in self.project_zones(project) if z["id"] == ref), None)

    def lookup(self, name: str, rtype: str) -> ZoneAnswer | None:
        """What the most specific public zone covering ``name`` holds for ``rtype``.

        Several projects may host the same domain; the oldest zone answers. Following a
        CNAME is left to the asker: the exact type's rrdatas (or none) come back."""
        wanted = fqdn(name)
        with self.lock:
            best: Record | None = None
            for zone in self.zones().values():
                apex = str(zone["dnsName"])
                if zone.get("visibility", "public") != "public":
                    continue
                if wanted != apex and not wanted.endswith("." + apex):
                    continue
                if best is None or (len(apex), -zone["_seq"]) > (
                    len(best["dnsName"]),
                    -best["_seq"],
                ):
                    best = zone
            if best is None:
                return None
            rrset = best["_rrsets"].get(rrset_key(wanted, rtype.upper()))
            rrdatas = tuple(rrset["rrdatas"]) if rrset else ()
            return ZoneAnswer(best["dnsName"], tuple(best["nameServers"]), rrdatas)
