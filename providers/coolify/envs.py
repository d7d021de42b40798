"""The ``coolify.envs`` driver: the whole set of an application's environment variables.

vibn treats an application's variables as one resource (``app.web-1.env``) so that a
stack edit is one bulk upsert plus the deletes of keys no longer wanted, never a call per
variable. Values may be ``Sensitive``: they are revealed only in the request body, never
in a message. Preview (pull-request) variables are Coolify's own and left alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.coolify.common import Shared, naming
from vibn.providers.errors import NotFoundError
from vibn.providers.reads import read_each
from vibn.specs.values import reveal

#: env reads in flight at once while observing (each is one small GET)
SUFFIX = ".env"


def _production(rows: list[Any]) -> list[Mapping[str, Any]]:
    return [r for r in rows if not r.get("is_preview")]


def _vars(rows: list[Mapping[str, Any]]) -> dict[str, str]:
    return {str(r["key"]): "" if r.get("value") is None else str(r["value"]) for r in rows}


class EnvsDriver:
    """props ``{"application_uuid", "vars": {KEY: str | Sensitive}}``; one per application."""

    kind: ClassVar[str] = "coolify.envs"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"application_uuid"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ("coolify.application",)

    def __init__(self, shared: Shared) -> None:
        self._client = shared.client

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        """One env read per application (Coolify has no bulk read), several at once."""
        apps = [
            app
            for app in ctx.observed("coolify.application")
            if app.owner.workspace == scope.workspace and app.owner.stack in scope.stacks
        ]
        return [obs for obs in read_each(self._read, apps) if obs is not None]

    def _read(self, app: Observed) -> Observed | None:
        try:
            rows = _production(self._client.list_envs(app.provider_id))
        except NotFoundError:
            return None
        if not rows:
            return None
        address = f"{app.address}{SUFFIX}"
        owner = Owner(app.owner.workspace, app.owner.stack, address)
        return self._observed(address, owner, app.provider_id, _vars(rows))

    def create(self, desired: Desired) -> Observed:
        return self._apply(desired)

    def update(self, desired: Desired, current: Observed) -> Observed:
        if current.provider_id != desired.props["application_uuid"]:
            self.delete(current)
        return self._apply(desired)

    def delete(self, current: Observed) -> None:
        app_uuid = current.provider_id
        with naming(current.address):
            try:
                rows = _production(self._client.list_envs(app_uuid))
            except NotFoundError:
                return
            for row in rows:
                try:
                    self._client.delete_env(app_uuid, str(row["uuid"]))
                except NotFoundError:
                    continue

    def _apply(self, desired: Desired) -> Observed:
        app_uuid = str(desired.props["application_uuid"])
        given: Mapping[str, Any] = desired.props.get("vars") or {}
        wanted = {str(k): str(reveal(v)) for k, v in given.items()}
        with naming(desired.address):
            rows = _production(self._client.list_envs(app_uuid))
            held = _vars(rows)
            upserts = [
                {
                    "key": key,
                    "value": value,
                    "is_preview": False,
                    "is_literal": True,
                    "is_multiline": "\n" in value,
                    "is_runtime": True,
                    "is_buildtime": True,
                }
                for key, value in wanted.items()
                if held.get(key) != value
            ]
            if upserts:
                self._client.upsert_envs(app_uuid, upserts)
            for row in rows:
                if row["key"] not in wanted:
                    try:
                        self._client.delete_env(app_uuid, str(row["uuid"]))
                    except NotFoundError:
                        continue
        # what was sent, secrets still wrapped, so the journal never holds them in clear
        return self._observed(desired.address, desired.owner, app_uuid, dict(given))

    def _observed(
        self, address: str, owner: Owner, app_uuid: str, values: Mapping[str, Any]
    ) -> Observed:
        return Observed(
            address=address,
            kind=self.kind,
            provider_id=app_uuid,
            owner=owner,
            props={"application_uuid": app_uuid, "vars": dict(values)},
            outputs={"keys": sorted(values)},
        )
