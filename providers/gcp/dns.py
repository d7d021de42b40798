"""The Cloud DNS drivers: ``gcp.dns_zone`` (a managed zone) and ``gcp.dns_records``
(the record sets one vibn resource manages inside a zone).

Both speak REST through google-api-python-client's discovery client
(``build("dns", "v1")``): google-cloud-dns can neither label a zone nor address one
record set. A zone carries vibn's owner labels, so zones are observed with one paged
list per sweep. Record sets carry no labels: a ``gcp.dns_records`` resource owns the
(name, type) pairs its last apply recorded, and observe reports what the zone holds
for exactly those pairs, so a DKIM record deleted behind vibn's back shows as drift.

Cloud DNS has no upsert: a change deletes record sets exactly as they stand (ttl and
every rrdata) and adds new ones, atomically. Create and update both converge the zone
on the desired set with one such change built from a fresh read, so a create that
finds a record already there with other data (a resumed apply) adopts it. A change
refused because the zone moved between the read and the write (409/412, or 404 for a
record set deleted meanwhile) is rebuilt from a new read once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from vibn.providers.base import SHARED, Desired, Driver, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import ConflictError, NotFoundError
from vibn.providers.gcp.common import (
    PROVIDER,
    DiscoveryDriver,
    GcpClients,
    GcpEndpoints,
    RetryPolicy,
    owner_from_labels,
    owner_labels,
)
from vibn.providers.reads import by_workspace, label_workspace, read_each

__all__ = ["DnsRecordsDriver", "DnsZoneDriver", "dns_drivers", "normalise"]

ZONE_KIND = "gcp.dns_zone"
RECORDS_KIND = "gcp.dns_records"
#: the address compile gives a domain's zone (labels spell its ``.`` as ``_``)
ZONE_ADDRESSES = ("domain.zone",)
Key = tuple[str, str]
#: current record sets -> (additions, deletions) of the change that converges them
Plan = Callable[[dict[Key, dict[str, Any]]], tuple[list[dict[str, Any]], list[dict[str, Any]]]]


def normalise(rrset: Mapping[str, Any]) -> dict[str, Any]:
    """A record set in the shape of the props: name, type, integer ttl, sorted rrdatas."""
    return {
        "name": str(rrset["name"]).lower(),
        "type": str(rrset["type"]).upper(),
        "ttl": int(rrset.get("ttl") or 0),
        "rrdatas": sorted(str(r) for r in rrset.get("rrdatas") or []),
    }


def _key(rrset: Mapping[str, Any]) -> Key:
    return str(rrset["name"]).lower(), str(rrset["type"]).upper()


def _keys(records: object) -> set[Key]:
    if not isinstance(records, Sequence) or isinstance(records, str):
        return set()
    return {_key(r) for r in records if isinstance(r, Mapping)}


def _label(address: str) -> str:
    return Owner("", "", address).labels()["vibn-address"]


def _claims(labels: object, owner: Owner) -> bool:
    """Whether a zone's labels name ``owner``'s workspace and stack."""
    wanted = owner_labels(owner)
    found = labels if isinstance(labels, Mapping) else {}
    return all(found.get(k) == wanted[k] for k in ("vibn-workspace", "vibn-stack"))


class DnsZoneDriver(DiscoveryDriver):
    """props ``{"name", "dns_name", "description"}``; outputs ``{"name", "dns_name",
    "name_servers"}`` (the zone's name servers, in order, without trailing dots)."""

    kind: ClassVar[str] = ZONE_KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name", "dns_name"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        resource = f"{self.kind} list (projects/{self._project})"

        def fetch() -> dict[str, list[Any]]:
            with self._clients.dns() as api:
                zones = self._list(
                    api.managedZones(), "managedZones", resource, project=self._project
                )
            return by_workspace(zones, lambda z: label_workspace(z.get("labels")))

        zones = ctx.shared((self.kind, self._project), fetch).get(scope.workspace, [])
        addresses = (*ZONE_ADDRESSES, *(r.address for r in ctx.recorded(self.kind)))
        restore = {_label(a): a for a in addresses}
        found: list[Observed] = []
        for zone in zones:
            owner = owner_from_labels(zone.get("labels"), scope.workspace)
            if owner is not None and (owner.stack in scope.stacks or owner.stack == SHARED):
                address = restore.get(owner.address, owner.address)
                found.append(self._observed(zone, replace(owner, address=address)))
        return found

    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        resource = f"{desired.address} {name}"
        body = {
            "name": name,
            "dnsName": str(desired.props["dns_name"]),
            "description": str(desired.props.get("description") or ""),
            "labels": owner_labels(desired.owner),
            "visibility": "public",
        }
        with self._clients.dns() as api:
            zones = api.managedZones()
            try:
                zone = self._run(zones.create(project=self._project, body=body), resource)
            except ConflictError as err:
                if err.status != 409:
                    raise
                zone = self._reclaim(zones, desired, resource, err)
        return self._observed(zone, desired.owner)

    def update(self, desired: Desired, current: Observed) -> Observed:
        name = str(desired.props["name"])
        with self._clients.dns() as api:
            zone = self._patch(api.managedZones(), desired, f"{desired.address} {name}")
        return self._observed(zone, desired.owner)

    def delete(self, current: Observed) -> None:
        name = str(current.props["name"])
        with self._clients.dns() as api:
            request = api.managedZones().delete(project=self._project, managedZone=name)
            try:
                self._run(request, f"{current.address} {name}")
            except NotFoundError:
                return

    def _patch(self, zones: Any, desired: Desired, resource: str) -> dict[str, Any]:
        """Set description and labels; the Operation carries the zone as it now is."""
        name = str(desired.props["name"])
        body = {
            "description": str(desired.props.get("description") or ""),
            "labels": owner_labels(desired.owner),
        }
        operation = self._run(
            zones.patch(project=self._project, managedZone=name, body=body), resource
        )
        zone = (operation.get("zoneContext") or {}).get("newValue")
        if isinstance(zone, dict) and zone.get("name") == name:
            return zone
        return self._run(zones.get(project=self._project, managedZone=name), resource)

    def _reclaim(
        self, zones: Any, desired: Desired, resource: str, refused: ConflictError
    ) -> dict[str, Any]:
        """The name is taken: this stack's zone (an interrupted apply) is taken back,
        anyone else's is refused and left alone."""
        name = str(desired.props["name"])
        try:
            existing = self._run(zones.get(project=self._project, managedZone=name), resource)
        except NotFoundError:
            raise refused from None
        labels = existing.get("labels")
        ours = _claims(labels, desired.owner)
        if not ours or existing.get("dnsName") != desired.props["dns_name"]:
            owner = owner_from_labels(labels, desired.owner.workspace)
            who = f"stack {owner.stack}" if owner else "no vibn labels of this workspace"
            raise ConflictError(
                PROVIDER,
                f"DNS zone {name} ({existing.get('dnsName')}) exists and is not this stack's "
                f"(owner: {who}); vibn leaves it alone",
                status=409,
                resource=resource,
            ) from refused
        return self._patch(zones, desired, resource)

    def _observed(self, zone: Mapping[str, Any], owner: Owner) -> Observed:
        name, dns_name = str(zone.get("name")), str(zone.get("dnsName"))
        servers = [str(ns).rstrip(".") for ns in zone.get("nameServers") or []]
        return Observed(
            address=owner.address,
            kind=self.kind,
            provider_id=name,
            owner=owner,
            props={"name": name, "dns_name": dns_name, "description": zone.get("description", "")},
            outputs={"name": name, "dns_name": dns_name, "name_servers": servers},
        )


class DnsRecordsDriver(DiscoveryDriver):
    """props ``{"zone", "records": [{"name", "type", "ttl", "rrdatas"}]}`` (sorted by
    name and type, rrdatas sorted); outputs ``{"zone"}``."""

    kind: ClassVar[str] = RECORDS_KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset({"zone"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = (ZONE_KIND,)

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        recorded = [r for r in ctx.recorded(self.kind) if r.stack in scope.stacks]

        def read(zone: str) -> tuple[str, dict[Key, dict[str, Any]] | None]:
            with self._clients.dns() as api:  # one pooled client per reading thread
                try:
                    return zone, self._current(api, zone, f"{self.kind} list ({zone})")
                except NotFoundError:
                    return zone, None

        zones = sorted({str(r.props.get("zone")) for r in recorded})
        held = {zone: sets for zone, sets in read_each(read, zones) if sets is not None}
        found: list[Observed] = []
        for rec in recorded:
            zone = str(rec.props.get("zone"))
            if zone not in held:
                continue
            keys = _keys(rec.props.get("records"))
            owner = Owner(scope.workspace, rec.stack, rec.address)
            found.append(
                self._observed(zone, owner, [held[zone][k] for k in keys if k in held[zone]])
            )
        return found

    def create(self, desired: Desired) -> Observed:
        return self._converge(desired, set())

    def update(self, desired: Desired, current: Observed) -> Observed:
        return self._converge(desired, _keys(current.props.get("records")))

    def delete(self, current: Observed) -> None:
        zone = str(current.props["zone"])
        keys = _keys(current.props.get("records"))

        def plan(held: dict[Key, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
            return [], [held[k] for k in sorted(keys) if k in held]

        try:
            self._apply(zone, plan, f"{current.address} {zone}")
        except NotFoundError:
            return

    def _converge(self, desired: Desired, previous: Iterable[Key]) -> Observed:
        """One change that leaves the desired record sets, and only those of ``previous``
        still desired, in the zone."""
        zone = str(desired.props["zone"])
        want = {_key(r): normalise(r) for r in desired.props.get("records") or []}
        keys = sorted(set(want) | set(previous))

        def plan(held: dict[Key, dict[str, Any]]) -> tuple[list[Any], list[Any]]:
            stale = [k for k in keys if k in held and normalise(held[k]) != want.get(k)]
            missing = [k for k in keys if k in want and (k not in held or k in stale)]
            return [want[k] for k in missing], [held[k] for k in stale]

        self._apply(zone, plan, f"{desired.address} {zone}")
        return self._observed(zone, desired.owner, list(want.values()))

    def _apply(self, zone: str, plan: Plan, resource: str) -> None:
        """Read the zone, send the change ``plan`` derives (if any); once more on a race."""
        with self._clients.dns() as api:
            for attempt in (1, 2):
                additions, deletions = plan(self._current(api, zone, resource))
                if not additions and not deletions:
                    return
                body = {"additions": additions, "deletions": deletions}
                request = api.changes().create(project=self._project, managedZone=zone, body=body)
                try:
                    self._run(request, resource)
                    return
                except (ConflictError, NotFoundError):
                    if attempt == 2:
                        raise

    def _current(self, api: Any, zone: str, resource: str) -> dict[Key, dict[str, Any]]:
        """The zone's record sets by (name, type), as the API returns them."""
        rrsets = self._list(
            api.resourceRecordSets(), "rrsets", resource, project=self._project, managedZone=zone
        )
        return {_key(r): r for r in rrsets}

    def _observed(self, zone: str, owner: Owner, rrsets: Iterable[Mapping[str, Any]]) -> Observed:
        records = sorted((normalise(r) for r in rrsets), key=_key)
        return Observed(
            address=owner.address,
            kind=self.kind,
            provider_id=f"{zone}/{owner.address}",
            owner=owner,
            props={"zone": zone, "records": records},
            outputs={"zone": zone},
        )


def dns_drivers(
    endpoints: GcpEndpoints,
    *,
    clients: GcpClients | None = None,
    retry: RetryPolicy | None = None,
) -> dict[str, Driver]:
    """The Cloud DNS drivers by kind: zones and the record sets vibn manages in them.

    Pass the provider's ``clients`` (closed with the provider); without it the drivers
    get a pool of their own."""
    clients = clients or GcpClients(endpoints)
    drivers: list[Driver] = [
        DnsZoneDriver(clients, endpoints, retry),
        DnsRecordsDriver(clients, endpoints, retry),
    ]
    return {d.kind: d for d in drivers}
