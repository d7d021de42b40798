"""Observation reads kinds at once, parents before children, and fails as a sequential
read would: with the first failing kind, in kind order."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import ClassVar, cast

import pytest

from vibn.providers.base import SHARED, Driver, ObserveContext, Observed, Owner, Recorded, Scope
from vibn.providers.errors import TransientError
from vibn.reconciler.observe import Observation, ObserveError, kind_order, observe

SCOPE = Scope("ws", frozenset({"app"}))


class SlowDriver:
    """A driver whose list call takes ``delay`` and who notes when it ran."""

    replace_fields: ClassVar[frozenset[str]] = frozenset()
    data_bearing: ClassVar[bool] = False

    def __init__(
        self,
        kind: str,
        log: list[tuple[str, str, float]],
        *,
        after: tuple[str, ...] = (),
        delay: float = 0.2,
        fail: bool = False,
    ) -> None:
        self.kind = kind
        self.observe_after = after
        self.log = log
        self.delay = delay
        self.fail = fail
        self.lock = threading.Lock()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        with self.lock:
            self.log.append(("start", self.kind, time.monotonic()))
        for parent in self.observe_after:  # a child builds on what its parent read
            assert ctx.observed(parent), f"{self.kind} ran before {parent} was read"
        time.sleep(self.delay)
        with self.lock:
            self.log.append(("end", self.kind, time.monotonic()))
        if self.fail:
            raise TransientError("fake", f"{self.kind} list failed", status=503)
        mine = Owner("ws", "app", f"{self.kind}.one")
        theirs = Owner("other", "app", f"{self.kind}.two")
        shared = Owner("ws", SHARED, f"{self.kind}.shared")
        return [
            Observed(o.address, self.kind, o.address, o, {}, {}) for o in (mine, theirs, shared)
        ]


def no_records(kind: str) -> Sequence[Recorded]:
    return []


def by_kind(*drivers: SlowDriver) -> dict[str, Driver]:
    return {d.kind: cast(Driver, d) for d in drivers}


def test_independent_kinds_are_read_at_once_and_children_after_parents() -> None:
    log: list[tuple[str, str, float]] = []
    drivers = by_kind(
        SlowDriver("a.project", log),
        SlowDriver("a.app", log, after=("a.project",)),
        SlowDriver("a.env", log, after=("a.app",)),
        SlowDriver("b.bucket", log),
        SlowDriver("b.queue", log),
        SlowDriver("b.job", log),
    )
    t0 = time.monotonic()
    observation = observe(drivers, SCOPE, no_records)
    took = time.monotonic() - t0

    started = {kind: at for event, kind, at in log if event == "start"}
    ended = {kind: at for event, kind, at in log if event == "end"}
    assert started["a.app"] >= ended["a.project"]
    assert started["a.env"] >= ended["a.app"]
    # the three lists without parents overlapped the project's read
    for kind in ("b.bucket", "b.queue", "b.job"):
        assert started[kind] < ended["a.project"]
    # the longest chain is three reads; six one after another would take twice that
    assert took < 5 * 0.2
    # kinds come back in kind order, each filtered to the scope (own + shared objects)
    assert list(observation.objects) == kind_order(drivers)
    assert {o.address for o in observation.objects["b.job"]} == {"b.job.one", "b.job.shared"}


def test_the_first_failing_kind_in_order_is_reported_and_its_children_never_run() -> None:
    log: list[tuple[str, str, float]] = []
    drivers = by_kind(
        SlowDriver("a.project", log, delay=0.05, fail=True),
        SlowDriver("a.app", log, after=("a.project",)),
        SlowDriver("b.bucket", log, delay=0.01, fail=True),
    )
    with pytest.raises(ObserveError, match=r"could not read a\.project objects: .*list failed"):
        observe(drivers, SCOPE, no_records)
    assert ("start", "a.app") not in {(event, kind) for event, kind, _ in log}


def test_one_kind_alone_is_read() -> None:
    log: list[tuple[str, str, float]] = []
    observation = observe(by_kind(SlowDriver("a.project", log, delay=0)), SCOPE, no_records)
    assert [o.address for o in observation.objects["a.project"]] == [
        "a.project.one",
        "a.project.shared",
    ]


def test_for_stack_gives_a_stack_its_own_and_the_shared_objects_in_order() -> None:
    def obj(kind: str, stack: str, address: str) -> Observed:
        return Observed(address, kind, address, Owner("ws", stack, address), {}, {})

    observation = Observation(
        {
            "a.bucket": [obj("a.bucket", SHARED, "ws.bucket"), obj("a.bucket", "app", "b1")],
            "b.app": [
                obj("b.app", "other", "x"),
                obj("b.app", "app", "web"),
                obj("b.app", "app", "w"),
            ],
        }
    )
    assert [o.address for o in observation.for_stack("app")] == ["ws.bucket", "b1", "web", "w"]
    assert [o.address for o in observation.for_stack("other")] == ["ws.bucket", "x"]
    assert [o.address for o in observation.for_stack("nobody")] == ["ws.bucket"]
