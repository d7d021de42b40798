"""The ``coolify.s3_storage`` driver: the S3 destination a stack's database backups go to.

vibn points it at the workspace's Google Cloud Storage bucket through an HMAC key (GCS's
S3-interoperable XML API at ``https://storage.googleapis.com``). The storage carries
vibn's ownership mark in its description, so observing is one ``GET /s3-storages``.

Coolify shows ``key`` and ``secret`` only to tokens allowed to read sensitive data (its
published schema never does), so the observed credentials come from what the last apply
recorded for the same storage — as the GCS HMAC driver does for its secret — and a token
that can read them gives the real ones instead. A no-op plan therefore stays a no-op,
while a rotated HMAC key (a new desired value) is a change like any other; a storage
vibn never recorded shows no credentials, so the plan re-sends them. The secret is
revealed only in the request body that writes it.

Creating or changing the credentials asks Coolify to validate the storage (it lists the
bucket with them); a brand-new HMAC key can take a moment to work, so validation is
retried for the settle time, and a storage that never validates is removed again and the
failure reported in Coolify's words. ``is_usable`` becomes the ``Ready`` condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Recorded, Scope
from vibn.providers.coolify.client import PROVIDER
from vibn.providers.coolify.common import Shared, naming, owned
from vibn.providers.errors import InvalidError, NotFoundError, ProviderError
from vibn.providers.reads import listed_by_marker
from vibn.specs.values import Condition, Sensitive, reveal

KIND = "coolify.s3_storage"
FIELDS = ("name", "endpoint", "bucket", "region", "key", "secret")
#: the write-only fields Coolify does not show to an ordinary token
CREDENTIALS = ("key", "secret")
READY = "Ready"


def _ready(storage: Mapping[str, Any]) -> Condition:
    if storage.get("is_usable"):
        return Condition(READY, "True", "Usable", "Coolify reached the bucket")
    return Condition(
        READY, "False", "Unusable", "Coolify has not reached the bucket with these credentials"
    )


class S3StorageDriver:
    """props ``{"name", "endpoint", "bucket", "region", "key", "secret": Sensitive}``;
    outputs ``{"uuid"}``; the description holds the ownership mark."""

    kind: ClassVar[str] = KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def __init__(self, shared: Shared) -> None:
        self._shared = shared
        self._client = shared.client

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        records: dict[tuple[str, str], Recorded] = {
            (r.stack, r.address): r for r in ctx.recorded(self.kind)
        }
        found = []
        listed = listed_by_marker(ctx, (self.kind,), self._client.list_s3_storages)
        for storage in listed.get(scope.workspace, ()):
            owner = owned(storage.get("description"), scope)
            if owner is None:
                continue
            record = records.get((owner.stack, owner.address)) or records.get(("", owner.address))
            written = record.props if record and record.provider_id == storage.get("uuid") else None
            found.append(self._observed(storage, owner, written))
        return found

    def create(self, desired: Desired) -> Observed:
        props = desired.props
        body = {k: reveal(props[k]) for k in FIELDS}
        body["description"] = desired.owner.marker()
        with naming(desired.address):
            uuid = str(self._client.create_s3_storage(body)["uuid"])
            try:
                self._validate(uuid, props)
            except ProviderError:
                with suppress(ProviderError):
                    self._client.delete_s3_storage(uuid)
                raise
            storage = self._client.get_s3_storage(uuid)
        return self._observed(storage, desired.owner, props)

    def update(self, desired: Desired, current: Observed) -> Observed:
        props = desired.props
        uuid = current.provider_id
        body = {
            k: reveal(props[k])
            for k in FIELDS
            if reveal(props.get(k)) != reveal(current.props.get(k))
        }
        usable = any(c.type == READY and c.status == "True" for c in current.conditions)
        with naming(desired.address):
            if body:
                self._client.update_s3_storage(uuid, body)
            if body or not usable:
                self._validate(uuid, props)
            storage = self._client.get_s3_storage(uuid)
        return self._observed(storage, desired.owner, props)

    def delete(self, current: Observed) -> None:
        with naming(current.address):
            try:
                self._client.delete_s3_storage(current.provider_id)
            except NotFoundError:
                return

    def _validate(self, uuid: str, props: Mapping[str, Any]) -> None:
        """Ask Coolify to list the bucket until it can (or the settle time runs out)."""
        settle = self._shared.settle
        deadline = settle.clock() + settle.timeout
        while True:
            answer = self._client.validate_s3_storage(uuid)
            if isinstance(answer, Mapping) and answer.get("valid"):
                return
            if settle.clock() >= deadline:
                why = answer.get("message") if isinstance(answer, Mapping) else answer
                raise InvalidError(
                    PROVIDER,
                    f"Coolify cannot use bucket {props.get('bucket')!r} at "
                    f"{props.get('endpoint')}: {why} (still failing after {settle.timeout:g} s)",
                )
            settle.sleep(settle.interval)

    def _observed(
        self, storage: Mapping[str, Any], owner: Owner, written: Mapping[str, Any] | None
    ) -> Observed:
        props: dict[str, Any] = {k: storage.get(k) for k in FIELDS if k not in CREDENTIALS}
        shown_key, shown_secret = storage.get("key"), storage.get("secret")
        known = written or {}
        props["key"] = str(shown_key) if shown_key is not None else known.get("key")
        secret = shown_secret if shown_secret is not None else known.get("secret")
        if secret is not None and not isinstance(secret, Sensitive):
            secret = Sensitive(str(secret))
        props["secret"] = secret
        uuid = str(storage["uuid"])
        return Observed(
            address=owner.address,
            kind=self.kind,
            provider_id=uuid,
            owner=owner,
            props=props,
            outputs={"uuid": uuid},
            conditions=(_ready(storage),),
        )
