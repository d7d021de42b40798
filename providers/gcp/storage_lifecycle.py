"""The ``gcp.bucket_lifecycle`` driver: one stack's lifecycle rules on a bucket.

On the workspace bucket every stack keeps its objects under its own ``{stack}/`` prefix,
so a stack's rules are the ones whose ``matchesPrefix`` conditions all start with that
scope; on a stack's own bucket (scope ``""``) every rule is its own. Rules vibn did not
write — no prefix, or another scope — are never touched: writing is a read-modify-write
of the bucket's lifecycle that replaces only this scope's rules, guarded by
``ifMetagenerationMatch`` so two stacks applying at once cannot lose each other's rules.

Observing costs nothing: the bucket driver's list already carries every bucket's raw
lifecycle (``outputs["lifecycle"]``). A stack whose rule list is empty has nothing to
find on the bucket, so it is reported (empty) when the last apply recorded it there —
otherwise an empty ``lifecycle`` would plan a create on every run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from vibn.providers.base import SHARED, Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import NotFoundError
from vibn.providers.gcp.common import GcpClients, GcpEndpoints, RetryPolicy
from vibn.providers.gcp.storage_common import BUCKET_KIND, modify_bucket, raw_lifecycle, where

KIND = "gcp.bucket_lifecycle"
ADDRESS = "storage.lifecycle"


def in_scope(rule: Mapping[str, Any], scope: str) -> bool:
    """Whether a raw GCS rule belongs to ``scope`` (``""``: the whole bucket)."""
    if not scope:
        return True
    prefixes = (rule.get("condition") or {}).get("matchesPrefix") or []
    return bool(prefixes) and all(isinstance(p, str) and p.startswith(scope) for p in prefixes)


def to_wire(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A vibn rule (``action``, ``storage_class``, ``age_days``, ``prefix``) as GCS's JSON."""
    action: dict[str, Any] = {"type": rule["action"]}
    if rule["action"] == "SetStorageClass" and rule.get("storage_class"):
        action["storageClass"] = rule["storage_class"]
    condition: dict[str, Any] = {}
    if rule.get("age_days") is not None:
        condition["age"] = int(rule["age_days"])
    if rule.get("prefix"):
        condition["matchesPrefix"] = [rule["prefix"]]
    return {"action": action, "condition": condition}


def to_prop(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A raw GCS rule in the desired props' shape; conditions vibn does not write are kept
    under ``unmanaged`` so they show as a difference instead of vanishing."""
    action = rule.get("action") or {}
    condition = dict(rule.get("condition") or {})
    prefixes = list(condition.pop("matchesPrefix", None) or [])
    age = condition.pop("age", None)
    prop: dict[str, Any] = {
        "action": action.get("type"),
        "storage_class": action.get("storageClass"),
        "age_days": int(age) if age is not None else None,
        "prefix": prefixes[0] if prefixes else "",
    }
    if len(prefixes) > 1:
        condition["matchesPrefix"] = prefixes[1:]
    if condition:
        prop["unmanaged"] = condition
    return prop


def scope_of(bucket: Observed, stack: str) -> str:
    """The prefix a stack's rules live under on ``bucket``."""
    return f"{stack}/" if bucket.owner.stack == SHARED else ""


def lifecycle_observed(
    bucket: str, scope: str, rules: Iterable[Mapping[str, Any]], owner: Owner
) -> Observed:
    return Observed(
        address=owner.address,
        kind=KIND,
        provider_id=f"gs://{bucket}/{scope}",
        owner=owner,
        props={"bucket": bucket, "scope": scope, "rules": [to_prop(r) for r in rules]},
    )


class LifecycleDriver:
    """props ``{"bucket", "scope", "rules": [{"action", "storage_class", "age_days",
    "prefix"}]}``; no outputs."""

    kind: ClassVar[str] = KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset({"bucket", "scope"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = (BUCKET_KIND,)

    def __init__(
        self, clients: GcpClients, endpoints: GcpEndpoints, retry: RetryPolicy | None = None
    ) -> None:
        self._clients = clients
        self._retry = retry

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        recorded = {(r.stack, str(r.props.get("bucket"))) for r in ctx.recorded(self.kind)}
        found: list[Observed] = []
        for bucket in ctx.observed(BUCKET_KIND):
            rules: Sequence[Mapping[str, Any]] = bucket.outputs.get("lifecycle") or []
            stacks = sorted(scope.stacks) if bucket.owner.stack == SHARED else [bucket.owner.stack]
            for stack in stacks:
                prefix = scope_of(bucket, stack)
                mine = [r for r in rules if in_scope(r, prefix)]
                if mine or (stack, bucket.provider_id) in recorded:
                    owner = Owner(scope.workspace, stack, ADDRESS)
                    found.append(lifecycle_observed(bucket.provider_id, prefix, mine, owner))
        return found

    def create(self, desired: Desired) -> Observed:
        return self._write(desired, desired.props["rules"])

    def update(self, desired: Desired, current: Observed) -> Observed:
        return self._write(desired, desired.props["rules"])

    def delete(self, current: Observed) -> None:
        try:
            self._write(current, [])
        except NotFoundError:
            return  # the bucket is gone, and its rules with it

    def _write(self, target: Desired | Observed, rules: Sequence[Mapping[str, Any]]) -> Observed:
        """Replace the scope's rules on the bucket by ``rules``, leaving the others be."""
        bucket_name, scope = str(target.props["bucket"]), str(target.props["scope"])
        wanted = [to_wire(r) for r in rules]

        def mutate(bucket: Any) -> bool:
            current = raw_lifecycle(bucket)
            kept = [r for r in current if not in_scope(r, scope)]
            new = kept + wanted
            if new == current:
                return False
            bucket.lifecycle_rules = new
            return True

        resource = where(target.address, f"gs://{bucket_name}/{scope}")
        with self._clients.storage() as client:
            bucket = modify_bucket(client, bucket_name, resource, mutate, self._retry)
        mine = [r for r in raw_lifecycle(bucket) if in_scope(r, scope)]
        return lifecycle_observed(bucket_name, scope, mine, target.owner)
