"""The ``ses.configuration_set`` driver: where SES reports a stack's bounces and complaints.

One configuration set per stack (``vibn-{workspace}-{stack}``) with one event destination,
``vibn-events``, sending the chosen event types to the account's default EventBridge bus.
A set's name only narrows the list to the workspace's candidates (a ``-`` inside a
workspace or stack name makes it ambiguous); the owner is read from its tags. Observe is
one paged list, then one read of the tags and one of the destinations per candidate.
A set that exists with this stack's tags (an apply interrupted after the create) is
adopted; one with anyone else's tags, or none, is refused by name and never touched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from vibn.providers.aws.common import PROVIDER
from vibn.providers.aws.ses_common import SesDriver, owner_from_tags, owner_tags, where, who
from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import ConflictError, NotFoundError

EVENT_DESTINATION = "vibn-events"


class ConfigurationSetDriver(SesDriver):
    """props ``{"name", "event_types", "event_bus_arn"}``; one EventBridge destination
    named ``vibn-events``; outputs ``{"name"}``. Observed ``event_types`` are sorted, and
    empty when the destination is missing or disabled."""

    kind: ClassVar[str] = "ses.configuration_set"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        prefix = f"vibn-{scope.workspace}-"
        found: list[Observed] = []
        every = ctx.shared((self.kind,), self._names)  # the account's, every workspace's
        for name in (n for n in every if n.startswith(prefix)):
            resource = where(self.kind, name)
            try:
                got = self._run(
                    self._client.get_configuration_set, resource, ConfigurationSetName=name
                )
                owner = owner_from_tags(got.get("Tags"))
                if owner is None or owner.workspace != scope.workspace:
                    continue
                if owner.stack in scope.stacks:
                    destinations = self._destinations(name, resource)
                    found.append(self._observed(name, owner, destinations))
            except NotFoundError:
                continue
        return found

    def create(self, desired: Desired) -> Observed:
        name = str(desired.props["name"])
        resource = where(desired.address, name)
        try:
            self._run(
                self._client.create_configuration_set,
                resource,
                ConfigurationSetName=name,
                Tags=owner_tags(desired.owner),
            )
        except ConflictError as err:
            got = self._run(self._client.get_configuration_set, resource, ConfigurationSetName=name)
            owner = owner_from_tags(got.get("Tags"))
            if owner != desired.owner:
                raise ConflictError(
                    PROVIDER,
                    f"SES configuration set {name} exists and is not owned by this stack "
                    f"(owner: {who(owner)}); vibn leaves it alone",
                    status=err.status,
                    resource=resource,
                ) from err
        self._put_destination(desired, resource, exists=None)
        return self._observed(name, desired.owner, self._destinations(name, resource))

    def update(self, desired: Desired, current: Observed) -> Observed:
        name = str(desired.props["name"])
        resource = where(desired.address, name)
        exists = current.props.get("event_bus_arn") is not None or bool(
            current.props.get("event_types")
        )
        self._put_destination(desired, resource, exists=exists)
        return self._observed(name, desired.owner, self._destinations(name, resource))

    def delete(self, current: Observed) -> None:
        resource = where(current.address, current.provider_id)
        try:
            self._run(
                self._client.delete_configuration_set,
                resource,
                ConfigurationSetName=current.provider_id,
            )
        except NotFoundError:
            return

    def _names(self) -> list[str]:
        names: list[str] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"PageSize": 1000}
            if token:
                kwargs["NextToken"] = token
            page = self._run(self._client.list_configuration_sets, f"{self.kind} list", **kwargs)
            names.extend(page.get("ConfigurationSets") or [])
            token = page.get("NextToken")
            if not token:
                return names

    def _destinations(self, name: str, resource: str) -> list[dict[str, Any]]:
        got = self._run(
            self._client.get_configuration_set_event_destinations,
            resource,
            ConfigurationSetName=name,
        )
        return list(got.get("EventDestinations") or [])

    def _put_destination(self, desired: Desired, resource: str, exists: bool | None) -> None:
        """Create the destination, or update it when it is there (``exists`` None: try)."""
        name = str(desired.props["name"])
        spec: dict[str, Any] = {
            "Enabled": True,
            "MatchingEventTypes": list(desired.props["event_types"]),
            "EventBridgeDestination": {"EventBusArn": str(desired.props["event_bus_arn"])},
        }
        args = {"ConfigurationSetName": name, "EventDestinationName": EVENT_DESTINATION}
        if exists:
            try:
                self._run(
                    self._client.update_configuration_set_event_destination,
                    resource,
                    EventDestination=spec,
                    **args,
                )
                return
            except NotFoundError:
                pass
        try:
            self._run(
                self._client.create_configuration_set_event_destination,
                resource,
                EventDestination=spec,
                **args,
            )
        except ConflictError:
            self._run(
                self._client.update_configuration_set_event_destination,
                resource,
                EventDestination=spec,
                **args,
            )

    def _observed(
        self, name: str, owner: Owner, destinations: Sequence[Mapping[str, Any]]
    ) -> Observed:
        ours = next((d for d in destinations if d.get("Name") == EVENT_DESTINATION), None)
        types: list[str] = []
        bus: str | None = None
        if ours is not None:
            bus = (ours.get("EventBridgeDestination") or {}).get("EventBusArn")
            if ours.get("Enabled"):
                types = sorted(str(t) for t in ours.get("MatchingEventTypes") or [])
        return Observed(
            address=owner.address,
            kind=self.kind,
            provider_id=name,
            owner=owner,
            props={"name": name, "event_types": types, "event_bus_arn": bus},
            outputs={"name": name},
        )
