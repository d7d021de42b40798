"""The ``coolify.backup`` driver: a database's scheduled dump backup.

A backup schedule has no description of its own to carry an ownership mark, so it
belongs to whatever owns its database (address ``database.{name}.backup``). Observing
reads the schedules the database list already returned; only when that list did not carry
them does it ask per database. Coolify refuses schedules for redis, keydb and dragonfly;
that refusal surfaces as an ``InvalidError`` naming the resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.coolify.common import Shared, changed, naming
from vibn.providers.errors import InvalidError, NotFoundError

SUFFIX = ".backup"
LOCAL_DAYS = "database_backup_retention_days_locally"
S3_DAYS = "database_backup_retention_days_s3"


def backup_body(props: Mapping[str, Any], keys: set[str] | None = None) -> dict[str, Any]:
    """Coolify fields for the props (all of them, or only those named in ``keys``)."""
    keys = set(props) if keys is None else keys
    save_s3 = bool(props.get("save_s3"))
    body: dict[str, Any] = {}
    if "frequency" in keys:
        body["frequency"] = props["frequency"]
    if "enabled" in keys:
        body["enabled"] = bool(props.get("enabled", True))
    if "retention_days" in keys or ("save_s3" in keys and save_s3):
        body[LOCAL_DAYS] = props.get("retention_days")
        if save_s3:
            body[S3_DAYS] = props.get("retention_days")
    if "save_s3" in keys:
        body["save_s3"] = save_s3
    if save_s3 and keys & {"save_s3", "s3_storage_uuid"}:
        body["s3_storage_uuid"] = props.get("s3_storage_uuid")
    return body


class BackupDriver:
    """props ``{"database_uuid", "frequency", "enabled", "retention_days", "save_s3",
    "s3_storage_uuid"}``; provider id = the schedule's uuid."""

    kind: ClassVar[str] = "coolify.backup"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"database_uuid"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ("coolify.database",)

    def __init__(self, shared: Shared) -> None:
        self._client = shared.client

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        found: list[Observed] = []
        # a schedule names its S3 destination by numeric id, which ``/s3-storages`` never
        # shows: the uuid comes from the record of the same schedule and destination
        known = {
            (rec.provider_id, rec.outputs.get("s3_storage_id")): rec.props.get("s3_storage_uuid")
            for rec in ctx.recorded(self.kind)
        }
        for database in ctx.observed("coolify.database"):
            if database.owner.workspace != scope.workspace:
                continue
            if database.owner.stack not in scope.stacks:
                continue
            configs = database.outputs.get("backup_configs")
            if configs is None:
                try:
                    configs = self._client.list_backups(database.provider_id)
                except (NotFoundError, InvalidError):
                    continue
            address = f"{database.address}{SUFFIX}"
            owner = Owner(database.owner.workspace, database.owner.stack, address)
            for config in configs:
                storage = known.get((str(config.get("uuid")), config.get("s3_storage_id")))
                found.append(self._observed(config, database.provider_id, address, owner, storage))
        return found

    def create(self, desired: Desired) -> Observed:
        db_uuid = str(desired.props["database_uuid"])
        with naming(desired.address):
            uuid = str(self._client.create_backup(db_uuid, backup_body(desired.props))["uuid"])
            return self._read(db_uuid, uuid, desired)

    def update(self, desired: Desired, current: Observed) -> Observed:
        db_uuid = str(desired.props["database_uuid"])
        body = backup_body(desired.props, changed(desired.props, current.props))
        with naming(desired.address):
            if body:
                self._client.update_backup(db_uuid, current.provider_id, body)
            return self._read(db_uuid, current.provider_id, desired)

    def delete(self, current: Observed) -> None:
        with naming(current.address):
            try:
                self._client.delete_backup(str(current.props["database_uuid"]), current.provider_id)
            except NotFoundError:
                return

    def _read(self, db_uuid: str, uuid: str, desired: Desired) -> Observed:
        for config in self._client.list_backups(db_uuid):
            if config.get("uuid") == uuid:
                # Coolify just took the destination the props name
                storage = desired.props.get("s3_storage_uuid")
                return self._observed(config, db_uuid, desired.address, desired.owner, storage)
        raise NotFoundError("coolify", f"backup schedule {uuid} vanished", resource=desired.address)

    def _observed(
        self,
        config: Mapping[str, Any],
        db_uuid: str,
        address: str,
        owner: Owner,
        known_storage: Any,
    ) -> Observed:
        save_s3 = bool(config.get("save_s3"))
        storage = config.get("s3_storage_uuid") or (known_storage if save_s3 else None)
        days = config.get(LOCAL_DAYS)
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=str(config["uuid"]),
            owner=owner,
            props={
                "database_uuid": db_uuid,
                "frequency": config.get("frequency"),
                "enabled": bool(config.get("enabled", True)),
                "retention_days": int(days) if days is not None else None,
                "save_s3": save_s3,
                "s3_storage_uuid": str(storage) if save_s3 and storage else None,
            },
            outputs={"uuid": str(config["uuid"]), "s3_storage_id": config.get("s3_storage_id")},
        )
