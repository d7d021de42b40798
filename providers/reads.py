"""Reads that do not fit one list call per kind and workspace, made as cheap as they can be.

Per-object reads: Coolify has no bulk env-var read, SES none of identities, OpenSRS none
of domain details: those reads grow with the stacks a sweep holds. Their number cannot
shrink, but their wall time can: ``read_each`` runs them ``READ_PARALLELISM`` at a time.
Only clients that are safe to share between threads (httpx, boto3, or a pooled client
leased per read) may be used this way.

Provider-wide lists: Google's and Coolify's lists of jobs, queues, log buckets, sinks,
projects, databases come back for every workspace at once. A driver reads them through
``ObserveContext.shared`` and indexes the answer with ``by_workspace``, so the list is
fetched and parsed once for all concurrent observations, and each takes only its own
workspace's share.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from vibn.providers.base import ObserveContext, Owner

T = TypeVar("T")
R = TypeVar("R")

READ_PARALLELISM = 8


def read_each(read: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``read`` of every item, ``READ_PARALLELISM`` at a time, answers in item order."""
    with ThreadPoolExecutor(max_workers=READ_PARALLELISM) as pool:
        return list(pool.map(read, items))


def by_workspace(items: Iterable[T], workspace_of: Callable[[T], object]) -> dict[str, list[T]]:
    """``items`` grouped by the workspace their ownership marks name; unmarked ones (not
    vibn's) are left out. Drivers still check each item's full marks."""
    grouped: dict[str, list[T]] = {}
    for item in items:
        workspace = workspace_of(item)
        if isinstance(workspace, str):
            grouped.setdefault(workspace, []).append(item)
    return grouped


def listed_by_marker(
    ctx: ObserveContext, key: Hashable, fetch: Callable[[], Iterable[Mapping[str, Any]]]
) -> dict[str, list[Mapping[str, Any]]]:
    """A provider-wide list of JSON objects marked in their ``description`` (Coolify,
    Logging), shared through ``ctx`` and indexed by workspace."""
    return ctx.shared(
        key, lambda: by_workspace(fetch(), lambda o: marker_workspace(o.get("description")))
    )


def marker_workspace(description: object) -> str | None:
    """The workspace an ownership marker in a description names (Coolify, Logging,
    Scheduler keep the marker there)."""
    owner = Owner.from_marker(description if isinstance(description, str) else None)
    return owner.workspace if owner is not None else None


def label_workspace(labels: Mapping[str, str] | None) -> str | None:
    """The workspace a Google object's ownership labels name."""
    return (labels or {}).get("vibn-workspace")
