"""Observe: ask every driver what its provider holds for the stacks in scope.

Kinds are observed parents first (a driver may build on its parents' answers, e.g. env
vars need application uuids), each kind once for the whole scope, so the number of
provider requests grows with kinds, not with resources or stacks, wherever the API
allows a list call. A kind is read as soon as the kinds it builds on are, beside every
other kind that is ready: Coolify's chain (projects → applications → env vars) and the
Google and AWS lists overlap, so an observation takes about as long as its longest
chain of requests, not the sum of all of them. Drivers are already called from several
threads at once by the applier, so they are safe to share.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from vibn.providers.base import SHARED, Driver, Observed, Recorded, Scope
from vibn.providers.errors import ProviderError

from .listings import FreshReads, Reads

T = TypeVar("T")

#: kinds read at once (there are about twenty kinds; most observations want fewer)
OBSERVE_PARALLELISM = 8


class ObserveError(Exception):
    """A provider could not be read; nothing can be planned safely without it."""


@dataclass
class Observation:
    objects: dict[str, list[Observed]] = field(default_factory=dict)
    #: (position, object) by owner stack, made on the first ``for_stack``: a sweep asks
    #: once per stack of a workspace, and scanning every object each time grows as stacks²
    _by_stack: dict[str, list[tuple[int, Observed]]] | None = field(default=None, repr=False)

    def for_stack(self, stack: str) -> list[Observed]:
        """The stack's own objects and the workspace-wide ones every stack shares, in the
        order ``objects`` holds them. Asked once ``observe`` has filled ``objects``."""
        if self._by_stack is None:
            by_stack: dict[str, list[tuple[int, Observed]]] = {}
            everything = (o for objs in self.objects.values() for o in objs)
            for position, o in enumerate(everything):
                by_stack.setdefault(o.owner.stack, []).append((position, o))
            self._by_stack = by_stack
        own = self._by_stack.get(stack, [])
        shared = self._by_stack.get(SHARED, []) if stack != SHARED else []
        return [o for _, o in heapq.merge(own, shared, key=lambda item: item[0])]


@dataclass
class _Context:
    observation: Observation
    recorded_of: Callable[[str], Sequence[Recorded]]
    reads: Reads

    def observed(self, kind: str) -> Sequence[Observed]:
        return self.observation.objects.get(kind, [])

    def recorded(self, kind: str) -> Sequence[Recorded]:
        return self.recorded_of(kind)

    def shared(self, key: Hashable, fetch: Callable[[], T]) -> T:
        return self.reads.get(key, fetch)


def with_parents(drivers: Mapping[str, Driver], kinds: Iterable[str]) -> dict[str, Driver]:
    """The drivers of ``kinds`` and, transitively, of the kinds they observe after."""
    wanted: set[str] = set()
    pending = [k for k in kinds if k in drivers]
    while pending:
        kind = pending.pop()
        if kind not in wanted:
            wanted.add(kind)
            pending.extend(p for p in drivers[kind].observe_after if p in drivers)
    return {k: d for k, d in drivers.items() if k in wanted}


def kind_order(drivers: Mapping[str, Driver]) -> list[str]:
    """Kinds sorted so that every kind comes after the kinds it observes after."""
    done: list[str] = []
    pending = sorted(drivers)
    while pending:
        ready = [
            k
            for k in pending
            if all(p in done or p not in drivers for p in drivers[k].observe_after)
        ]
        if not ready:
            raise ValueError(f"observe_after cycle among {pending}")
        done.extend(ready)
        pending = [k for k in pending if k not in ready]
    return done


def observe(
    drivers: Mapping[str, Driver],
    scope: Scope,
    recorded_of: Callable[[str], Sequence[Recorded]],
    reads: Reads | None = None,
) -> Observation:
    """Everything the providers hold for ``scope``, by kind. ``reads`` shares the
    provider-wide lists (see ``listings``); without it each is fetched for this call."""
    observation = Observation()
    ctx = _Context(observation, recorded_of, reads or FreshReads())
    order = kind_order(drivers)

    def read(kind: str, parents: list[Future[None]]) -> None:
        for parent in parents:
            parent.result()  # a parent's failure fails its children too
        try:
            objects = drivers[kind].observe(scope, ctx)
        except ProviderError as exc:
            raise ObserveError(f"could not read {kind} objects: {exc}") from exc
        observation.objects[kind] = [
            o
            for o in objects
            if o.owner.workspace == scope.workspace
            and (o.owner.stack in scope.stacks or o.owner.stack == SHARED)
        ]

    # Submitted parents first: the pool takes tasks in order, so a task that waits on its
    # parents finds them running or done, never queued behind it.
    futures: dict[str, Future[None]] = {}
    with ThreadPoolExecutor(
        max_workers=min(OBSERVE_PARALLELISM, max(1, len(order))),
        thread_name_prefix="vibn-observe",
    ) as pool:
        for kind in order:
            parents = [futures[p] for p in drivers[kind].observe_after if p in futures]
            futures[kind] = pool.submit(read, kind, parents)
    for kind in order:  # the first failure in kind order, as a sequential read would
        futures[kind].result()
    observation.objects = {kind: observation.objects[kind] for kind in order}
    return observation
