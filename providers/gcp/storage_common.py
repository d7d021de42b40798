"""What the Cloud Storage drivers share: reading a bucket, and changing it safely.

Two drivers write to one bucket — the bucket driver (its settings) and the lifecycle
driver (one stack's rules among those of every stack sharing the workspace bucket) — and
apply runs them, and other stacks' applies, in parallel. Every write is therefore a
read-modify-write guarded by ``ifMetagenerationMatch``: a concurrent change makes GCS
answer 412, and the write starts over from a fresh read instead of clobbering it.

google-cloud-storage's own retries are switched off (``retry=None`` on every call):
transient faults are retried in one place, ``common.call``, with vibn's policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vibn.providers.errors import ConflictError
from vibn.providers.gcp.common import RetryPolicy, call, json_safe

BUCKET_KIND = "gcp.bucket"
#: how often a read-modify-write starts over when someone else changed the bucket meanwhile
RMW_TRIES = 5


def where(address: str, name: str) -> str:
    """How errors name a resource: its address and the provider's name for it."""
    return f"{address} {name}"


def fetch_bucket(client: Any, name: str, resource: str, policy: RetryPolicy | None) -> Any:
    """The bucket's full metadata (one ``GET /b/{bucket}``)."""
    return call(lambda: client.get_bucket(name, retry=None), resource, policy=policy)


def _patch(bucket: Any, resource: str, policy: RetryPolicy | None) -> None:
    generation = bucket.metageneration
    call(
        lambda: bucket.patch(if_metageneration_match=generation, retry=None),
        resource,
        policy=policy,
    )


def modify_bucket(
    client: Any,
    name: str,
    resource: str,
    mutate: Callable[[Any], bool],
    policy: RetryPolicy | None,
) -> Any:
    """Read the bucket, let ``mutate`` change it (False: nothing to change), patch what
    changed if nobody else did meanwhile; start over on 412. Returns the bucket as stored."""
    for attempt in range(RMW_TRIES):
        bucket = fetch_bucket(client, name, resource, policy)
        if not mutate(bucket):
            return bucket
        try:
            _patch(bucket, resource, policy)
        except ConflictError as err:
            if err.status != 412 or attempt == RMW_TRIES - 1:
                raise
            continue
        return bucket
    raise AssertionError("unreachable")  # pragma: no cover


def raw_lifecycle(bucket: Any) -> list[dict[str, Any]]:
    """The bucket's lifecycle rules exactly as GCS holds them (JSON API shape)."""
    lifecycle = bucket._properties.get("lifecycle") or {}
    rules = lifecycle.get("rule") or []
    return [json_safe(rule) for rule in rules if isinstance(rule, dict)]
