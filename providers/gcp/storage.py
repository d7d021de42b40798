"""The ``gcp.bucket`` driver, and the Cloud Storage drivers as one set.

A bucket is the one Cloud Storage object with labels, so its labels carry the ownership
marks (``vibn-workspace``, ``vibn-stack`` — ``shared`` for the workspace bucket every
stack uses — and ``vibn-address``). Bucket names are global: a create answered 409 is
either our own bucket left by an interrupted apply (its labels say so: adopt it) or
someone else's (refuse, naming it, and never touch it).

Observation is one paged ``buckets.list`` per sweep. Whether a bucket is publicly
readable lives in its IAM policy, which the list does not carry; rather than one IAM
read per bucket, vibn sets *public access prevention* to ``enforced`` on every bucket
that is not asked to be public. An enforced bucket cannot be public (GCS refuses
``allUsers`` bindings), so reading the list settles it; the IAM policy is read only for
owned buckets whose prevention is not enforced — the ones asked to be public, or ones
changed outside vibn — one call each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

from vibn.providers.base import SHARED, Desired, Driver, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import AuthError, ConflictError, NotFoundError
from vibn.providers.gcp.common import (
    PROVIDER,
    GcpClients,
    GcpDriver,
    GcpEndpoints,
    RetryPolicy,
    call,
    owner_from_labels,
    owner_labels,
)
from vibn.providers.gcp.storage_common import (
    BUCKET_KIND,
    RMW_TRIES,
    modify_bucket,
    raw_lifecycle,
    where,
)
from vibn.providers.gcp.storage_hmac import HmacKeyDriver
from vibn.providers.gcp.storage_lifecycle import LifecycleDriver
from vibn.providers.reads import by_workspace, label_workspace

__all__ = ["BucketDriver", "HmacKeyDriver", "LifecycleDriver", "storage_drivers"]

PUBLIC_ROLE = "roles/storage.objectViewer"
PUBLIC_MEMBER = "allUsers"
ENFORCED = "enforced"
INHERITED = "inherited"
#: the addresses compile gives buckets; labels hold them with ``.`` spelt ``_``
ADDRESSES = ("workspace.bucket", "storage.bucket")
_BY_LABEL = {Owner("", "", a).labels()["vibn-address"]: a for a in ADDRESSES}


def bucket_owner(labels: Mapping[str, str] | None, workspace: str) -> Owner | None:
    """The owner a bucket's labels name, when it is ``workspace``'s (address restored)."""
    owner = owner_from_labels(dict(labels or {}), workspace)
    if owner is None:
        return None
    return replace(owner, address=_BY_LABEL.get(owner.address, owner.address))


def owns(labels: Mapping[str, str] | None, owner: Owner) -> bool:
    """Whether a bucket's labels name exactly ``owner``'s workspace and stack (or shared)."""
    mine, theirs = owner_labels(owner), dict(labels or {})
    return all(theirs.get(k) == mine[k] for k in ("vibn-workspace", "vibn-stack"))


def describe_owner(labels: Mapping[str, str] | None) -> str:
    labels = dict(labels or {})
    workspace, stack = labels.get("vibn-workspace"), labels.get("vibn-stack")
    if not workspace:
        return "no vibn labels"
    if stack == "shared":
        return f"workspace {workspace}, shared by its stacks"
    return f"workspace {workspace}, stack {stack or '?'}"


def is_public(policy: Any) -> bool:
    """Whether an IAM policy lets anyone read the objects (unconditionally)."""
    return any(
        b.get("role") == PUBLIC_ROLE
        and PUBLIC_MEMBER in (b.get("members") or ())
        and not b.get("condition")
        for b in policy.bindings
    )


def _settings_changed(bucket: Any, props: Mapping[str, Any], labels: dict[str, str]) -> bool:
    """Set on ``bucket`` every desired setting it lacks; True if any was missing."""
    changed = False
    if bucket.storage_class != props["storage_class"]:
        bucket.storage_class = props["storage_class"]
        changed = True
    iam = bucket.iam_configuration
    if bool(iam.uniform_bucket_level_access_enabled) != bool(props["uniform_access"]):
        iam.uniform_bucket_level_access_enabled = bool(props["uniform_access"])
        changed = True
    prevention = INHERITED if props["public_read"] else ENFORCED
    if iam.public_access_prevention != prevention:
        iam.public_access_prevention = prevention
        changed = True
    if bool(bucket.versioning_enabled) != bool(props["versioning"]):
        bucket.versioning_enabled = bool(props["versioning"])
        changed = True
    current = bucket.labels or {}
    merged = {**current, **labels}
    if merged != current:
        bucket.labels = merged
        changed = True
    return changed


def bucket_observed(bucket: Any, address: str, owner: Owner, public: bool) -> Observed:
    name = str(bucket.name)
    iam = bucket.iam_configuration
    return Observed(
        address=address,
        kind=BUCKET_KIND,
        provider_id=name,
        owner=owner,
        props={
            "name": name,
            "location": str(bucket.location or "").upper(),
            "storage_class": bucket.storage_class,
            "uniform_access": bool(iam.uniform_bucket_level_access_enabled),
            "public_read": public,
            "versioning": bool(bucket.versioning_enabled),
        },
        # the raw lifecycle lets the lifecycle driver observe without another call
        outputs={
            "name": name,
            "url": f"gs://{name}",
            "self_link": bucket.self_link,
            "lifecycle": raw_lifecycle(bucket),
        },
    )


class BucketDriver(GcpDriver):
    """props ``{"name", "location", "storage_class", "uniform_access", "public_read",
    "versioning"}``; outputs ``{"name", "url", "self_link", "lifecycle"}``."""

    kind: ClassVar[str] = BUCKET_KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset({"name", "location"})
    data_bearing: ClassVar[bool] = True
    observe_after: ClassVar[tuple[str, ...]] = ()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        def fetch() -> dict[str, list[Any]]:
            with self._clients.storage() as client:
                buckets = call(
                    lambda: list(client.list_buckets(project=self._project, retry=None)),
                    f"{self.kind} list (project {self._project})",
                    policy=self._retry,
                )
            return by_workspace(buckets, lambda b: label_workspace(b.labels))

        found: list[Observed] = []
        listed = ctx.shared((self.kind, self._project), fetch).get(scope.workspace, ())
        with self._clients.storage() as client:
            for bucket in listed:
                owner = bucket_owner(bucket.labels, scope.workspace)
                if owner is None or (owner.stack != SHARED and owner.stack not in scope.stacks):
                    continue
                resource = where(owner.address, bucket.name)
                public = self._public(bucket, resource, want=None, client=client)
                found.append(bucket_observed(bucket, owner.address, owner, public))
        return found

    def create(self, desired: Desired) -> Observed:
        props = desired.props
        name = str(props["name"])
        resource = where(desired.address, name)
        with self._clients.storage() as client:
            bucket = client.bucket(name)
            _settings_changed(bucket, props, owner_labels(desired.owner))
            try:
                call(
                    lambda: client.create_bucket(
                        bucket, project=self._project, location=props["location"], retry=None
                    ),
                    resource,
                    policy=self._retry,
                )
            except ConflictError as err:
                if err.status != 409:
                    raise
                return self._adopt(client, desired, resource, err)
            public = self._public(bucket, resource, want=True) if props["public_read"] else False
        return bucket_observed(bucket, desired.address, desired.owner, public)

    def update(self, desired: Desired, current: Observed) -> Observed:
        resource = where(desired.address, str(desired.props["name"]))
        with self._clients.storage() as client:
            return self._converge(client, desired, resource)

    def delete(self, current: Observed) -> None:
        name = current.provider_id
        resource = where(current.address, name)
        if current.owner.stack == SHARED:
            raise ConflictError(
                PROVIDER,
                f"bucket {name} is shared by every stack of workspace "
                f"{current.owner.workspace}; vibn never deletes it",
                resource=resource,
            )
        try:
            with self._clients.storage() as client:
                call(lambda: client.bucket(name).delete(retry=None), resource, policy=self._retry)
        except ConflictError as err:
            if err.status != 409:
                raise
            raise ConflictError(
                PROVIDER,
                f"bucket {name} still holds objects; empty it first "
                f"(gcloud storage rm --recursive 'gs://{name}/**'), then run again "
                f"({err.message})",
                status=409,
                resource=resource,
            ) from err

    def _adopt(
        self, client: Any, desired: Desired, resource: str, conflict: ConflictError
    ) -> Observed:
        """A 409 on create: ours (labels say this workspace and stack) or refused."""
        name = str(desired.props["name"])
        try:
            existing = call(
                lambda: client.get_bucket(name, retry=None), resource, policy=self._retry
            )
        except NotFoundError:
            raise conflict from None
        except AuthError:
            existing = None
        labels = existing.labels if existing is not None else None
        if existing is None or not owns(labels, desired.owner):
            who = describe_owner(labels) if existing is not None else "another project"
            whose = "workspace" if desired.owner.stack == SHARED else "stack"
            raise ConflictError(
                PROVIDER,
                f"bucket {name} exists and is not owned by this {whose} (owner: {who}); "
                "vibn leaves it alone: choose another bucket name",
                status=409,
                resource=resource,
            ) from conflict
        return self._converge(client, desired, resource)

    def _converge(self, client: Any, desired: Desired, resource: str) -> Observed:
        """Make an existing bucket what ``desired`` says, changing only what differs."""
        props = desired.props
        name = str(props["name"])
        labels = owner_labels(desired.owner)
        before: dict[str, Any] = {}

        def mutate(bucket: Any) -> bool:
            before["prevention"] = bucket.iam_configuration.public_access_prevention
            return _settings_changed(bucket, props, labels)

        bucket = modify_bucket(client, name, resource, mutate, self._retry)
        want = bool(props["public_read"])
        public = False
        if want or before.get("prevention") != ENFORCED:
            # asked to be public, or was open before: the policy must say so (or stop saying so)
            public = self._public(bucket, resource, want=want)
        return bucket_observed(bucket, desired.address, desired.owner, public)

    def _public(self, bucket: Any, resource: str, want: bool | None, client: Any = None) -> bool:
        """Whether ``bucket`` is publicly readable, after making it so when ``want`` is set.
        ``client``: the one this thread holds, when ``bucket`` came from a shared list
        (its own client may be lent to another thread by now)."""
        if want is None and bucket.iam_configuration.public_access_prevention == ENFORCED:
            return False
        for attempt in range(RMW_TRIES):
            policy = call(
                lambda: bucket.get_iam_policy(
                    client=client, requested_policy_version=3, retry=None
                ),
                resource,
                policy=self._retry,
            )
            if want is None or is_public(policy) == want:
                return is_public(policy)
            _grant(policy, want)
            try:
                saved = self._save_policy(bucket, policy, resource)
            except ConflictError as err:
                if err.status != 412 or attempt == RMW_TRIES - 1:
                    raise
                continue
            return is_public(saved)
        raise AssertionError("unreachable")  # pragma: no cover

    def _save_policy(self, bucket: Any, policy: Any, resource: str) -> Any:
        return call(lambda: bucket.set_iam_policy(policy, retry=None), resource, policy=self._retry)


def _grant(policy: Any, public: bool) -> None:
    """Add (or remove) the ``allUsers`` object-viewer binding in ``policy``."""
    policy.version = 3
    if public:
        policy.bindings.append({"role": PUBLIC_ROLE, "members": {PUBLIC_MEMBER}})
        return
    for binding in policy.bindings:
        if binding.get("role") == PUBLIC_ROLE:
            members = set(binding.get("members") or ())
            members.discard(PUBLIC_MEMBER)
            binding["members"] = members
    policy.bindings = [b for b in policy.bindings if b.get("members")]


def storage_drivers(
    endpoints: GcpEndpoints,
    *,
    clients: GcpClients | None = None,
    retry: RetryPolicy | None = None,
) -> dict[str, Driver]:
    """The Cloud Storage drivers by kind: buckets, their lifecycle rules, HMAC keys.

    Pass the provider's ``clients`` (one ``GcpClients`` shared with the Logging drivers,
    closed with the provider); without it the drivers get a pool of their own."""
    clients = clients or GcpClients(endpoints)
    drivers: list[Driver] = [
        BucketDriver(clients, endpoints, retry),
        LifecycleDriver(clients, endpoints, retry),
        HmacKeyDriver(clients, endpoints, retry),
    ]
    return {d.kind: d for d in drivers}
