"""The ``coolify.deployment`` driver: a deployment of an application, as a resource.

Coolify keeps no desired state for deployments: one is an event. vibn models it as a
resource whose ``trigger`` (computed by the planner from what the build depends on)
changes whenever a new deployment is needed, so "deploy when something changed" falls out
of the ordinary diff. Observation therefore starts from the state store's record and
only asks Coolify about deployments still in flight; a finished or failed one costs no
call. The ``Ready`` condition carries progress: Deploying, Deployed or DeployFailed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.coolify.common import Shared, naming
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError, ProviderError
from vibn.specs.values import Condition

READY = "Ready"
DEPLOYED = "Deployed"
DEPLOYING = "Deploying"
FAILED = "DeployFailed"


def ready_condition(status: str | None, uuid: str) -> Condition:
    """The ``Ready`` condition for a Coolify deployment status."""
    if status == "finished":
        return Condition(READY, "True", DEPLOYED, f"deployment {uuid} finished")
    if status in ("queued", "in_progress"):
        return Condition(READY, "False", DEPLOYING, f"deployment {uuid} is {status}")
    if status == "failed":
        return Condition(READY, "False", FAILED, f"deployment {uuid} failed; see its logs")
    if status == "cancelled-by-user":
        return Condition(READY, "False", FAILED, f"deployment {uuid} was cancelled")
    if status is None:
        return Condition(READY, "Unknown", "DeploymentNotFound", f"Coolify has no {uuid}")
    return Condition(READY, "Unknown", "UnknownStatus", f"deployment {uuid} is {status!r}")


def find_ready(conditions: Iterable[Condition]) -> Condition | None:
    return next((c for c in conditions if c.type == READY), None)


def settled(condition: Condition | None) -> bool:
    """True once nothing more will happen to the deployment (no need to ask again)."""
    return condition is not None and (condition.status == "True" or condition.reason == FAILED)


def _with_ready(conditions: tuple[Condition, ...], ready: Condition) -> tuple[Condition, ...]:
    previous = find_ready(conditions)
    if previous and (previous.status, previous.reason) == (ready.status, ready.reason):
        ready = Condition(
            READY, ready.status, ready.reason, ready.message, previous.last_transition
        )
    return (*(c for c in conditions if c.type != READY), ready)


class DeploymentDriver:
    """props ``{"application_uuid", "trigger"}``; provider id = the deployment uuid."""

    kind: ClassVar[str] = "coolify.deployment"
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ("coolify.application",)

    def __init__(self, shared: Shared) -> None:
        self._client = shared.client

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        apps = {a.provider_id: a for a in ctx.observed("coolify.application")}
        found = []
        for record in ctx.recorded(self.kind):
            app = apps.get(str(record.props.get("application_uuid")))
            if record.provider_id is None or app is None:
                continue
            if app.owner.workspace != scope.workspace or app.owner.stack not in scope.stacks:
                continue
            uuid = record.provider_id
            status: Any = record.outputs.get("status")
            conditions = tuple(record.conditions)
            if not settled(find_ready(conditions)):
                try:
                    status = self._client.get_deployment(uuid).get("status")
                except NotFoundError:
                    status = None
                conditions = _with_ready(conditions, ready_condition(status, uuid))
            found.append(
                Observed(
                    address=record.address,
                    kind=self.kind,
                    provider_id=uuid,
                    owner=Owner(app.owner.workspace, app.owner.stack, record.address),
                    props=dict(record.props),
                    outputs={"uuid": uuid, "status": status},
                    conditions=conditions,
                )
            )
        return found

    def create(self, desired: Desired) -> Observed:
        return self._deploy(desired)

    def update(self, desired: Desired, current: Observed) -> Observed:
        return self._deploy(desired)

    def delete(self, current: Observed) -> None:
        if settled(find_ready(current.conditions)):
            return
        try:
            self._client.cancel_deployment(current.provider_id)
        except (InvalidError, NotFoundError, ConflictError):
            return

    def _deploy(self, desired: Desired) -> Observed:
        with naming(desired.address):
            answer = self._client.start_application(str(desired.props["application_uuid"]))
        uuid = answer.get("deployment_uuid") if isinstance(answer, dict) else None
        if not uuid:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise ProviderError(
                "coolify",
                f"no deployment was queued: {message or 'no deployment_uuid in the answer'}",
                resource=desired.address,
            )
        return Observed(
            address=desired.address,
            kind=self.kind,
            provider_id=str(uuid),
            owner=desired.owner,
            props=dict(desired.props),
            outputs={"uuid": str(uuid), "status": "queued"},
            conditions=(ready_condition("queued", str(uuid)),),
        )
