"""The ``coolify.project`` driver: one Coolify project per stack.

Every application and database of a stack lives in its project's ``production``
environment. Observing projects also reads their environment lists, which is what lets the
application and database drivers name their project without any call of their own.
Deleting waits out Coolify's asynchronous resource deletion ("Project has resources").
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.coolify.common import ENVIRONMENT, Shared, naming, owned
from vibn.providers.errors import ConflictError, NotFoundError
from vibn.providers.reads import listed_by_marker, read_each


class ProjectDriver:
    """props ``{"name": "vibn-{workspace}-{stack}", "environment": "production"}``."""

    kind: ClassVar[str] = "coolify.project"
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._client = shared.client

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        """One project list, then each owned project's environments (several at once)."""
        listed = listed_by_marker(ctx, (self.kind,), self._client.list_projects)
        mine = [
            (project, owner)
            for project in listed.get(scope.workspace, ())
            if (owner := owned(project.get("description"), scope)) is not None
        ]
        return [obs for obs in read_each(self._read, mine) if obs is not None]

    def _read(self, item: tuple[Mapping[str, Any], Owner]) -> Observed | None:
        project, owner = item
        try:
            envs = self._shared.environments.environments(str(project["uuid"]))
        except NotFoundError:
            return None
        return self._observed(project, owner.address, owner, envs)

    def create(self, desired: Desired) -> Observed:
        with naming(desired.address):
            uuid = str(
                self._client.create_project(desired.props["name"], desired.owner.marker())["uuid"]
            )
            envs = self._ensure_environment(uuid, desired.props)
        project = {"uuid": uuid, "name": desired.props["name"]}
        return self._observed(project, desired.address, desired.owner, envs)

    def update(self, desired: Desired, current: Observed) -> Observed:
        uuid = current.provider_id
        name = current.props.get("name")
        with naming(desired.address):
            if desired.props.get("name") != name:
                name = desired.props["name"]
                self._client.update_project(uuid, {"name": name})
            envs = self._ensure_environment(uuid, desired.props)
        return self._observed({"uuid": uuid, "name": name}, desired.address, desired.owner, envs)

    def delete(self, current: Observed) -> None:
        settle = self._shared.settle
        deadline = settle.clock() + settle.timeout
        with naming(current.address):
            while True:
                try:
                    self._client.delete_project(current.provider_id)
                    return
                except NotFoundError:
                    return
                except ConflictError as err:
                    if settle.clock() >= deadline:
                        raise ConflictError(
                            err.provider,
                            f"{err.message} (still refused after {settle.timeout:g} s; "
                            "its applications and databases are being deleted, or are "
                            "not vibn's)",
                            status=err.status,
                            resource=current.address,
                        ) from err
                settle.sleep(settle.interval)

    def _ensure_environment(self, uuid: str, props: Mapping[str, Any]) -> list[Any]:
        envs = self._shared.environments.environments(uuid)
        wanted = props.get("environment") or ENVIRONMENT
        if all(e.get("name") != wanted for e in envs):
            with suppress(ConflictError):  # created meanwhile: fine
                self._client.create_environment(uuid, wanted)
            envs = self._shared.environments.environments(uuid)
        return envs

    def _observed(
        self, project: Mapping[str, Any], address: str, owner: Owner, envs: list[Any]
    ) -> Observed:
        names = [str(e.get("name")) for e in envs]
        environment = ENVIRONMENT if ENVIRONMENT in names else (names[0] if names else None)
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=str(project["uuid"]),
            owner=owner,
            props={"name": project.get("name"), "environment": environment},
            outputs={"uuid": str(project["uuid"])},
        )
