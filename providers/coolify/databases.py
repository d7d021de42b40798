"""The ``coolify.database`` driver: standalone databases of every flavour Coolify runs.

A database holds user data, so the driver is marked data-bearing (the reconciler asks for
confirmation before deleting) and an engine change is a replacement, never an in-place
edit. Its connection URL is an output wrapped in ``Sensitive`` — it carries the password —
and its backup schedules ride along as a raw output so the backup driver needs no calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.coolify.common import (
    ENVIRONMENT,
    Shared,
    changed,
    naming,
    owned,
    place,
    tags,
)
from vibn.providers.errors import NotFoundError
from vibn.providers.reads import listed_by_marker
from vibn.specs.values import Sensitive

TYPE_PREFIX = "standalone-"


def engine_of(database: Mapping[str, Any]) -> str | None:
    """``standalone-postgresql`` -> ``postgresql``."""
    kind = database.get("database_type")
    if not isinstance(kind, str):
        return None
    return kind.removeprefix(TYPE_PREFIX)


class DatabaseDriver:
    """props ``{"project_uuid", "environment_name", "name", "engine", "image"}``;
    outputs ``{"uuid", "internal_db_url": Sensitive, "status"}`` (+ ``backup_configs``)."""

    kind: ClassVar[str] = "coolify.database"
    replace_fields: ClassVar[frozenset[str]] = frozenset(
        {"engine", "project_uuid", "environment_name"}
    )
    data_bearing: ClassVar[bool] = True
    observe_after: ClassVar[tuple[str, ...]] = ("coolify.project",)

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._client = shared.client

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        rows: list[tuple[Mapping[str, Any], Owner]] = []
        listed = listed_by_marker(ctx, (self.kind,), self._client.list_databases)
        for database in listed.get(scope.workspace, ()):
            owner = owned(database.get("description"), scope)
            if owner is not None:
                rows.append((database, owner))
        index = self._shared.environments.resolve(db.get("environment_id") for db, _ in rows)
        return [self._observed(db, owner.address, owner, *place(index, db)) for db, owner in rows]

    def create(self, desired: Desired) -> Observed:
        props = desired.props
        body = {
            "server_uuid": self._shared.server_uuid(),
            "project_uuid": props["project_uuid"],
            "environment_name": props.get("environment_name") or ENVIRONMENT,
            "name": props["name"],
            "description": desired.owner.marker(),
            "image": props["image"],
            "instant_deploy": True,
            "tags": tags(desired.owner),
        }
        with naming(desired.address):
            created = self._client.create_database(str(props["engine"]), body)
            database = dict(self._client.get_database(str(created["uuid"])))
        database.setdefault("internal_db_url", created.get("internal_db_url"))
        return self._placed(database, desired)

    def update(self, desired: Desired, current: Observed) -> Observed:
        body = {
            k: desired.props[k] for k in changed(desired.props, current.props) & {"name", "image"}
        }
        with naming(desired.address):
            if body:
                self._client.update_database(current.provider_id, body)
            if "image" in body:
                self._client.restart_database(current.provider_id)
            database = self._client.get_database(current.provider_id)
        return self._placed(database, desired)

    def delete(self, current: Observed) -> None:
        with naming(current.address):
            try:
                self._client.delete_database(current.provider_id, delete_volumes=True)
            except NotFoundError:
                return

    def _placed(self, database: Mapping[str, Any], desired: Desired) -> Observed:
        project = desired.props.get("project_uuid")
        environment = desired.props.get("environment_name") or ENVIRONMENT
        return self._observed(database, desired.address, desired.owner, project, environment)

    def _observed(
        self,
        database: Mapping[str, Any],
        address: str,
        owner: Owner,
        project_uuid: str | None,
        environment_name: str | None,
    ) -> Observed:
        uuid = str(database["uuid"])
        url = database.get("internal_db_url")
        outputs: dict[str, Any] = {
            "uuid": uuid,
            "internal_db_url": Sensitive(str(url)) if url else None,
            "status": database.get("status"),
        }
        if "backup_configs" in database:
            outputs["backup_configs"] = list(database.get("backup_configs") or [])
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=uuid,
            owner=owner,
            props={
                "project_uuid": project_uuid,
                "environment_name": environment_name,
                "name": database.get("name"),
                "engine": engine_of(database),
                "image": database.get("image"),
            },
            outputs=outputs,
        )
