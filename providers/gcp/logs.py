"""The Cloud Logging drivers: ``gcp.log_bucket`` (retention) and ``gcp.log_sink`` (routing).

google-cloud-logging reaches log buckets over gRPC only, so both drivers speak REST
through google-api-python-client's discovery client (``build("logging", "v2")``).
Neither a log bucket nor a sink has labels: ownership is the ``vibn:`` marker in the
``description``. Each kind is observed with one paged list per sweep.

A deleted log bucket is not gone: it lingers ``DELETE_REQUESTED`` for seven days, and
its id cannot be created again meanwhile. Observe reads it as absent; create, finding
the id pending deletion with this stack's marker (a destroy followed by a re-apply),
undeletes it and sets the retention asked for. A bucket or sink carrying anyone else's
marker (or none) is refused, by name, and never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vibn.providers.base import SHARED, Desired, Driver, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError, ProviderError
from vibn.providers.gcp.common import (
    PROVIDER,
    DiscoveryDriver,
    GcpClients,
    GcpEndpoints,
    RetryPolicy,
)
from vibn.providers.reads import listed_by_marker

__all__ = ["LogBucketDriver", "LogSinkDriver", "logging_drivers"]

DELETE_REQUESTED = "DELETE_REQUESTED"


def _where(address: str, name: str) -> str:
    return f"{address} {name}"


def owned(description: object, scope: Scope) -> Owner | None:
    """The owner a description's marker names, when it is one of the scope's stacks."""
    owner = Owner.from_marker(description if isinstance(description, str) else None)
    if owner is None or owner.workspace != scope.workspace:
        return None
    return owner if owner.stack in scope.stacks or owner.stack == SHARED else None


def _claimed(description: object, owner: Owner) -> bool:
    """Whether a description's marker names ``owner``'s workspace and stack."""
    found = Owner.from_marker(description if isinstance(description, str) else None)
    return found is not None and (found.workspace, found.stack) == (owner.workspace, owner.stack)


def _who(description: object) -> str:
    found = Owner.from_marker(description if isinstance(description, str) else None)
    if found is None:
        return "no vibn marker"
    return f"workspace {found.workspace}, stack {found.stack}"


class LogBucketDriver(DiscoveryDriver):
    """props ``{"name": "projects/P/locations/L/buckets/ID", "retention_days"}``;
    outputs ``{"name"}``."""

    kind: ClassVar[str] = "gcp.log_bucket"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    data_bearing: ClassVar[bool] = True
    observe_after: ClassVar[tuple[str, ...]] = ()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        parent = f"projects/{self._project}/locations/-"

        def fetch() -> list[Any]:
            with self._clients.logging() as api:
                buckets = api.projects().locations().buckets()
                return self._list(buckets, "buckets", f"{self.kind} list ({parent})", parent=parent)

        found: list[Observed] = []
        for bucket in listed_by_marker(ctx, (self.kind, parent), fetch).get(scope.workspace, ()):
            owner = owned(bucket.get("description"), scope)
            if owner is not None and bucket.get("lifecycleState") != DELETE_REQUESTED:
                found.append(self._observed(bucket, owner.address, owner))
        return found

    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        parent, _, bucket_id = name.rpartition("/buckets/")
        resource = _where(desired.address, name)
        body = {
            "retentionDays": int(desired.props["retention_days"]),
            "description": desired.owner.marker(),
        }
        with self._clients.logging() as api:
            buckets = api.projects().locations().buckets()
            try:
                created = self._run(
                    buckets.create(parent=parent, bucketId=bucket_id, body=body), resource
                )
            except (ConflictError, InvalidError) as err:
                created = self._reclaim(buckets, desired, resource, err)
        return self._observed(created, desired.address, desired.owner)

    def update(self, desired: Desired, current: Observed) -> Observed:
        with self._clients.logging() as api:
            buckets = api.projects().locations().buckets()
            updated = self._retain(buckets, desired)
        return self._observed(updated, desired.address, desired.owner)

    def delete(self, current: Observed) -> None:
        name = current.provider_id
        with self._clients.logging() as api:
            buckets = api.projects().locations().buckets()
            self._run(buckets.delete(name=name), _where(current.address, name))

    def _retain(self, buckets: Any, desired: Desired) -> dict[str, Any]:
        name = str(desired.props["name"])
        body = {"retentionDays": int(desired.props["retention_days"])}
        request = buckets.patch(name=name, updateMask="retentionDays", body=body)
        return self._run(request, _where(desired.address, name))

    def _reclaim(
        self, buckets: Any, desired: Desired, resource: str, refused: ProviderError
    ) -> dict[str, Any]:
        """The id is taken (live, or pending deletion): ours is taken back, others refused."""
        name = str(desired.props["name"])
        try:
            existing = self._run(buckets.get(name=name), resource)
        except NotFoundError:
            raise refused from None
        description = existing.get("description")
        deleted = existing.get("lifecycleState") == DELETE_REQUESTED
        if not _claimed(description, desired.owner):
            pending = " (pending deletion)" if deleted else ""
            raise ConflictError(
                PROVIDER,
                f"log bucket {name} exists{pending} and is not owned by this stack "
                f"(owner: {_who(description)}); vibn leaves it alone",
                status=409,
                resource=resource,
            ) from refused
        if deleted:
            self._run(buckets.undelete(name=name, body={}), resource)
        return self._retain(buckets, desired)

    def _observed(self, bucket: Mapping[str, Any], address: str, owner: Owner) -> Observed:
        name = str(bucket.get("name"))
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=name,
            owner=owner,
            props={"name": name, "retention_days": bucket.get("retentionDays")},
            outputs={"name": name},
        )


class LogSinkDriver(DiscoveryDriver):
    """props ``{"name": "projects/P/sinks/ID", "destination", "filter"}``;
    outputs ``{"writer_identity"}``."""

    kind: ClassVar[str] = "gcp.log_sink"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        parent = f"projects/{self._project}"

        def fetch() -> list[Any]:
            with self._clients.logging() as api:
                sinks = api.projects().sinks()
                return self._list(sinks, "sinks", f"{self.kind} list ({parent})", parent=parent)

        found: list[Observed] = []
        for sink in listed_by_marker(ctx, (self.kind, parent), fetch).get(scope.workspace, ()):
            owner = owned(sink.get("description"), scope)
            if owner is not None:
                found.append(self._observed(parent, sink, owner.address, owner))
        return found

    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        parent, _, sink_id = name.rpartition("/sinks/")
        resource = _where(desired.address, name)
        body = {"name": sink_id, **self._body(desired)}
        with self._clients.logging() as api:
            sinks = api.projects().sinks()
            try:
                created = self._run(
                    sinks.create(parent=parent, uniqueWriterIdentity=True, body=body), resource
                )
            except ConflictError as err:
                if err.status != 409:
                    raise
                created = self._reclaim(sinks, desired, resource, err)
        return self._observed(parent, created, desired.address, desired.owner)

    def update(self, desired: Desired, current: Observed) -> Observed:
        name = str(desired.props["name"])
        with self._clients.logging() as api:
            patched = self._patch(api.projects().sinks(), desired, _where(desired.address, name))
        return self._observed(
            name.rpartition("/sinks/")[0], patched, desired.address, desired.owner
        )

    def delete(self, current: Observed) -> None:
        name = current.provider_id
        with self._clients.logging() as api:
            self._run(api.projects().sinks().delete(sinkName=name), _where(current.address, name))

    def _body(self, desired: Desired) -> dict[str, Any]:
        return {
            "destination": str(desired.props["destination"]),
            "filter": str(desired.props["filter"]),
            "description": desired.owner.marker(),
        }

    def _patch(self, sinks: Any, desired: Desired, resource: str) -> dict[str, Any]:
        request = sinks.patch(
            sinkName=str(desired.props["name"]),
            updateMask="destination,filter,description",
            uniqueWriterIdentity=True,
            body=self._body(desired),
        )
        return self._run(request, resource)

    def _reclaim(
        self, sinks: Any, desired: Desired, resource: str, refused: ProviderError
    ) -> dict[str, Any]:
        """The sink id is taken: ours (an interrupted apply) is updated, others refused."""
        try:
            existing = self._run(sinks.get(sinkName=str(desired.props["name"])), resource)
        except NotFoundError:
            raise refused from None
        description = existing.get("description")
        if not _claimed(description, desired.owner):
            raise ConflictError(
                PROVIDER,
                f"log sink {desired.props['name']} exists and is not owned by this stack "
                f"(owner: {_who(description)}); vibn leaves it alone",
                status=409,
                resource=resource,
            ) from refused
        return self._patch(sinks, desired, resource)

    def _observed(
        self, parent: str, sink: Mapping[str, Any], address: str, owner: Owner
    ) -> Observed:
        name = f"{parent}/sinks/{sink.get('name')}"
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=name,
            owner=owner,
            props={
                "name": name,
                "destination": sink.get("destination"),
                "filter": sink.get("filter", ""),
            },
            outputs={"writer_identity": sink.get("writerIdentity")},
        )


def logging_drivers(
    endpoints: GcpEndpoints,
    *,
    clients: GcpClients | None = None,
    retry: RetryPolicy | None = None,
) -> dict[str, Driver]:
    """The Cloud Logging drivers by kind: log buckets and the sinks routing into them.

    Pass the provider's ``clients`` (closed with the provider); without it the drivers
    get a pool of their own."""
    clients = clients or GcpClients(endpoints)
    drivers: list[Driver] = [
        LogBucketDriver(clients, endpoints, retry),
        LogSinkDriver(clients, endpoints, retry),
    ]
    return {d.kind: d for d in drivers}
