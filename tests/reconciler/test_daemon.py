"""The reconcile daemon against the in-memory fake provider, a real SQLite store and a
fake clock: drift corrected or reported, backoff, leases, shared observations."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vibn.providers.base import Owner
from vibn.reconciler import metrics
from vibn.reconciler.daemon import Daemon
from vibn.reconciler.engine import Engine
from vibn.reconciler.sweep import HeldLeases
from vibn.specs.model import Stack
from vibn.state import SecretBox, Store, stack_lease_key

from .fake import FACTS, FakeDriver, World, plant, shop_stack

INTERVAL = timedelta(minutes=5)
TTL = timedelta(minutes=1)
HOLDER = "daemon:test:1:0"


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 25, 17, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Store:
    s = Store.open(f"sqlite:///{tmp_path / 'state.db'}", SecretBox(b"\x01" * 32), clock)
    s.set_secret("default", "SESSION_SECRET", "hunter2")
    return s


@pytest.fixture
def engine(store: Store, world: World) -> Engine:
    drivers: dict[str, Any] = {
        kind: FakeDriver(kind, world, replace_fields=f.replace_fields, data_bearing=f.data_bearing)
        for kind, f in FACTS.items()
    }
    return Engine(store, drivers, b"f" * 32, parallelism=4, lease_ttl=TTL)


def make_daemon(store: Store, engine: Engine, clock: FakeClock, **kw: Any) -> Daemon:
    options: dict[str, Any] = {
        "holder": HOLDER,
        "interval": INTERVAL,
        "jitter": 0.0,
        "batch": 10,
        "lease_ttl": TTL,
        "clock": clock,
    }
    options.update(kw)
    return Daemon(store, engine, **options)


def stack(name: str = "shop", workspace: str = "default", **spec: Any) -> Stack:
    doc = shop_stack(**spec).model_dump(mode="json", by_alias=True)
    doc["metadata"] = {"name": name, "workspace": workspace}
    return Stack.model_validate(doc)


def applied(engine: Engine, *stacks: Stack) -> None:
    for s in stacks:
        if engine.store.get_secret(s.metadata.workspace, "SESSION_SECRET") is None:
            engine.store.set_secret(s.metadata.workspace, "SESSION_SECRET", "hunter2")
        result = engine.apply(engine.plan(s).plan.to_json())
        assert result.ok, result.error


def objects_of(world: World, name: str) -> dict[str, dict[str, Any]]:
    """The stack's objects by address."""
    return {o["owner"].address: o for o in world.objects.values() if o["owner"].stack == name}


def event_types(store: Store, name: str, workspace: str = "default") -> list[str]:
    return [e.type for e in store.events(workspace, name, limit=1000) if e.type != "action"]


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels or None) or 0.0


def test_an_untouched_stack_is_in_sync_and_rescheduled(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack())
    world.calls.clear()
    daemon = make_daemon(store, engine, clock)
    report = daemon.run_once()
    assert [(o.name, o.outcome) for o in report.outcomes] == [("shop", "in_sync")]
    schedule = store.get_schedule("default", "shop")
    assert schedule is not None
    assert schedule.next_reconcile_at == clock.now + INTERVAL
    assert schedule.last_reconciled_at == clock.now
    assert schedule.failures == 0
    assert store.lease_holder(stack_lease_key("default", "shop")) is None
    assert daemon.run_once().claimed == []  # not due again yet
    clock.advance(INTERVAL)
    assert daemon.run_once().claimed == [("default", "shop")]
    assert {op for op, _ in world.calls} == {"observe"}


def test_drift_is_recorded_and_corrected(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack())
    before = {a: copy.deepcopy(o["props"]) for a, o in objects_of(world, "shop").items()}
    found, corrected = sample("vibn_drift_found_total"), sample("vibn_drift_corrected_total")
    objects = objects_of(world, "shop")
    objects["app.web-1.env"]["props"]["vars"]["NODE_ENV"] = "development"  # changed by hand
    victim = next(pid for pid, o in world.objects.items() if o["owner"].address == "app.worker-1")
    del world.objects[victim]  # deleted by hand

    daemon = make_daemon(store, engine, clock)
    outcome = daemon.run_once().of("default", "shop")
    assert outcome is not None and outcome.outcome == "corrected", outcome
    assert outcome.apply_id is not None
    after = objects_of(world, "shop")
    assert set(after) == set(before)
    assert after["app.web-1.env"]["props"] == before["app.web-1.env"]
    assert not engine.plan(stack()).plan.has_changes
    assert event_types(store, "shop") == ["drift", "drift_corrected"]
    drift = store.events("default", "shop", limit=1000)
    payload = next(e.payload for e in drift if e.type == "drift")
    changed = {a["address"]: a["action"] for a in payload["actions"]}
    assert changed["app.web-1.env"] == "update"
    assert changed["app.worker-1"] == "create"
    last = store.last_apply("default", "shop")
    assert last is not None and (last.principal, last.status) == (HOLDER, "succeeded")
    record = store.get_stack("default", "shop")
    assert record is not None and (record.status, record.revision) == ("applied", 1)
    assert (daemon.stats.drift_found, daemon.stats.drift_corrected) == (1, 1)
    assert sample("vibn_drift_found_total") == found + 1
    assert sample("vibn_drift_corrected_total") == corrected + 1


def test_drift_report_only_reports(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack(drift="report"))
    objects_of(world, "shop")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] = "development"
    daemon = make_daemon(store, engine, clock)
    outcome = daemon.run_once().of("default", "shop")
    assert outcome is not None and outcome.outcome == "reported"
    assert objects_of(world, "shop")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] == "development"
    assert event_types(store, "shop") == ["drift"]
    record = store.get_stack("default", "shop")
    assert record is not None and record.status == "applied"
    assert "drift found (drift: report)" in record.status_message
    assert "app.web-1.env" in record.status_message
    # put right by hand: the next visit finds it in sync and clears the message
    objects_of(world, "shop")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] = "production"
    clock.advance(INTERVAL)
    outcome = daemon.run_once().of("default", "shop")
    assert outcome is not None and outcome.outcome == "in_sync"
    record = store.get_stack("default", "shop")
    assert record is not None and record.status_message == ""


def test_data_bearing_replacement_is_left_for_a_human(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack())
    database = objects_of(world, "shop")["database.database"]
    database["props"]["engine"] = "mysql"  # forces a replacement: would lose the data
    snapshot = {pid: dict(o["props"]) for pid, o in world.objects.items()}
    outcome = make_daemon(store, engine, clock).run_once().of("default", "shop")
    assert outcome is not None and outcome.outcome == "needs_confirmation"
    assert {pid: dict(o["props"]) for pid, o in world.objects.items()} == snapshot
    assert event_types(store, "shop") == ["drift"]
    payload = store.events("default", "shop")[-1].payload
    assert payload["needs_confirmation"] == ["database.database"]
    record = store.get_stack("default", "shop")
    assert record is not None and "--confirm shop" in record.status_message


def test_a_failing_stack_backs_off_and_never_stops_the_sweep(
    store: Store, engine: Engine, clock: FakeClock
) -> None:
    store.set_secret("default", "OTHER", "x")
    broken = stack("broken", secrets={"OTHER": {"from": "store"}})
    applied(engine, stack("aaa"), broken, stack("zzz"))
    store.delete_secret("default", "OTHER")  # its plan can no longer be made
    daemon = make_daemon(store, engine, clock)
    report = daemon.run_once()
    assert {o.name: o.outcome for o in report.outcomes} == {
        "aaa": "in_sync",
        "broken": "error",
        "zzz": "in_sync",
    }
    failing = report.of("default", "broken")
    assert failing is not None and "OTHER" in failing.message
    delays = []
    for expected_failures in (1, 2, 3, 4, 5):
        schedule = store.get_schedule("default", "broken")
        assert schedule is not None and schedule.failures == expected_failures
        assert schedule.next_reconcile_at is not None
        delays.append(schedule.next_reconcile_at - clock.now)
        clock.advance(schedule.next_reconcile_at - clock.now)
        assert ("default", "broken") in daemon.run_once().claimed
    assert delays == [
        INTERVAL * 2,
        INTERVAL * 4,
        INTERVAL * 8,
        timedelta(hours=1),
        timedelta(hours=1),
    ]
    errors = [e for e in store.events("default", "broken", limit=100) if e.type != "action"]
    assert [e.type for e in errors] == ["reconcile_error"] * 6
    assert errors[0].payload["failures"] == 1
    # mended: the next visit is a good one and the count starts again
    store.set_secret("default", "OTHER", "x")
    clock.advance(timedelta(hours=1))
    outcome = daemon.run_once().of("default", "broken")
    assert outcome is not None and outcome.outcome == "in_sync"
    schedule = store.get_schedule("default", "broken")
    assert schedule is not None and schedule.failures == 0
    assert store.lease_holder(stack_lease_key("default", "broken")) is None


def test_an_unreadable_provider_fails_its_workspace_only(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    store.set_secret("one", "SESSION_SECRET", "s")
    store.set_secret("two", "SESSION_SECRET", "s")
    applied(engine, stack("shop", "one"), stack("shop", "two"))

    class FailOne(FakeDriver):
        def observe(self, scope: Any, ctx: Any) -> Any:
            if scope.workspace == "one":
                world.maybe_fail("observe", "never")  # recorded
                raise_invalid()
            return super().observe(scope, ctx)

    def raise_invalid() -> None:
        from vibn.providers.errors import InvalidError

        raise InvalidError("fake", "the provider is down")

    engine.drivers = {**engine.drivers, "coolify.project": FailOne("coolify.project", world)}
    report = make_daemon(store, engine, clock).run_once()
    assert {(o.workspace, o.outcome) for o in report.outcomes} == {
        ("one", "error"),
        ("two", "in_sync"),
    }
    assert store.lease_holder(stack_lease_key("one", "shop")) is None


def test_a_stack_locked_by_a_cli_apply_is_skipped(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack("shop"), stack("other"))
    objects_of(world, "shop")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] = "development"
    store.acquire_lease(stack_lease_key("default", "shop"), "cli:elsewhere:42", TTL)
    report = make_daemon(store, engine, clock).run_once()
    assert report.claimed == [("default", "other")]
    assert objects_of(world, "shop")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] == "development"
    lease = store.lease_holder(stack_lease_key("default", "shop"))
    assert lease is not None and lease.holder == "cli:elsewhere:42"


def test_a_stored_but_unapplied_revision_is_left_to_its_author(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack())
    newer = stack(env={"NODE_ENV": "staging"})
    store.put_revision("default", "shop", newer.model_dump(mode="json", by_alias=True), "d2")
    snapshot = {pid: dict(o["props"]) for pid, o in world.objects.items()}
    outcome = make_daemon(store, engine, clock).run_once().of("default", "shop")
    assert outcome is not None and outcome.outcome == "pending"
    assert "revision 2 is stored but not applied (applied: 1)" in outcome.message
    assert {pid: dict(o["props"]) for pid, o in world.objects.items()} == snapshot
    assert [r.number for r in store.revisions("default", "shop")] == [1, 2]


def test_one_observation_per_workspace_whatever_the_number_of_stacks(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    names = [f"s{n}" for n in range(6)]
    applied(engine, *(stack(n) for n in names))
    world.calls.clear()
    report = make_daemon(store, engine, clock).run_once()
    assert report.count("in_sync") == 6
    observes = [target for op, target in world.calls if op == "observe"]
    assert sorted(observes) == sorted(FACTS)  # each kind once, for all six stacks


def test_drift_is_confirmed_on_a_fresh_look_before_it_is_corrected(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack("a"), stack("b"))
    objects_of(world, "a")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] = "x"
    objects_of(world, "b")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] = "y"
    world.calls.clear()
    report = make_daemon(store, engine, clock).run_once()
    assert report.count("corrected") == 2
    # the sweep's shared observation, then a fresh one of each drifted stack
    assert [t for op, t in world.calls if op == "observe"].count("coolify.project") == 3


def test_a_sweep_lists_each_kind_once_across_workspaces(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, *(stack(f"s{n}", workspace=f"ws{n}") for n in range(4)))
    world.calls.clear()
    report = make_daemon(store, engine, clock).run_once()
    assert report.count("in_sync") == 4
    observes = [target for op, target in world.calls if op == "observe"]
    assert sorted(observes) == sorted(FACTS)  # one list per kind for four workspaces


def test_drift_seen_on_the_sweeps_list_but_mended_since_is_left_alone(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    """The sweep's lists may be as old as the sweep: a stack that looked drifted on them
    but is right by the time it is visited is in sync, and nothing is applied."""
    applied(engine, stack("a", workspace="w1"), stack("b", workspace="w2"))
    env = objects_of(world, "b")["app.web-1.env"]["props"]["vars"]
    env["NODE_ENV"] = "drifted"
    daemon = make_daemon(store, engine, clock)
    real_observe = engine.observe

    def observe_then_mend(workspace: str, stacks: Sequence[str], *a: Any, **kw: Any) -> Any:
        seen = real_observe(workspace, stacks, *a, **kw)
        env["NODE_ENV"] = "production"  # someone put it back after the sweep listed it
        return seen

    engine.observe = observe_then_mend  # type: ignore[method-assign]
    world.calls.clear()
    report = daemon.run_once()
    assert report.count("in_sync") == 2
    assert not [c for c in world.calls if c[0] in ("create", "update", "delete")]


def test_stopping_hands_the_unvisited_stacks_back(
    store: Store, engine: Engine, clock: FakeClock
) -> None:
    applied(engine, *(stack(n) for n in ("a", "b", "c")))
    stop = threading.Event()
    daemon = make_daemon(store, engine, clock, log=lambda line: stop.set())
    report = daemon.run_once(stop)
    assert [o.outcome for o in report.outcomes] == ["in_sync", "handed_back", "handed_back"]
    for name in ("a", "b", "c"):
        assert store.lease_holder(stack_lease_key("default", name)) is None
    # the handed-back stacks are still due: another replica takes them at once
    assert sorted(store.claim_due("other", limit=10, ttl=TTL)) == [
        ("default", "b"),
        ("default", "c"),
    ]


def test_run_sweeps_until_stopped(store: Store, engine: Engine, clock: FakeClock) -> None:
    applied(engine, stack("a"))
    stop = threading.Event()
    naps: list[float] = []

    def sleep(seconds: float, event: threading.Event) -> None:
        naps.append(seconds)
        if len(naps) == 3:
            event.set()

    daemon = make_daemon(store, engine, clock, sleep=sleep, poll=2.0)
    daemon.run(stop)
    assert naps == [2.0, 2.0, 2.0]
    assert daemon.stats.sweeps == 3
    assert daemon.stats.reconciles == 1


def test_a_full_batch_sweeps_again_at_once(store: Store, engine: Engine, clock: FakeClock) -> None:
    applied(engine, *(stack(n) for n in ("a", "b", "c")))
    stop = threading.Event()
    naps: list[float] = []

    def sleep(seconds: float, event: threading.Event) -> None:
        naps.append(seconds)
        event.set()

    daemon = make_daemon(store, engine, clock, sleep=sleep, batch=2)
    daemon.run(stop)
    assert daemon.stats.sweeps == 2 and len(naps) == 1
    assert all(store.get_schedule("default", n).failures == 0 for n in "abc")  # type: ignore[union-attr]


def test_new_and_destroyed_stacks_are_not_visited(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack("gone"))
    planned = engine.plan(stack("gone"), destroy=True)
    assert engine.apply(planned.plan.to_json(), confirm=True).ok
    store.put_revision("default", "fresh", {"spec": {}}, "d")
    plant(world, "coolify.project", Owner("default", "gone", "project"), {"name": "p"})
    assert make_daemon(store, engine, clock).run_once().claimed == []


def test_held_leases_are_renewed_and_dropped_when_lost(store: Store, clock: FakeClock) -> None:
    store.put_revision("default", "a", {"spec": {}}, "d")
    store.set_stack_status("default", "a", "applied")
    ttl = timedelta(seconds=1.5)  # renewed every 0.5 s
    assert store.claim_due(HOLDER, limit=1, ttl=ttl) == [("default", "a")]
    with HeldLeases(store, HOLDER, ttl, [("default", "a")]) as leases:
        time.sleep(0.7)
        lease = store.lease_holder(stack_lease_key("default", "a"))
        assert lease is not None and lease.holder == HOLDER
        # the replica stalls past its ttl and another one takes the stack over
        clock.advance(timedelta(seconds=10))
        store.acquire_lease(stack_lease_key("default", "a"), "usurper", TTL)
        deadline = time.monotonic() + 5
        while leases.holds("default", "a") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not leases.holds("default", "a")
    lease = store.lease_holder(stack_lease_key("default", "a"))
    assert lease is not None and lease.holder == "usurper"


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        Daemon(None, None, holder="x", interval=timedelta(0))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least one stack"):
        Daemon(None, None, holder="x", batch=0)  # type: ignore[arg-type]


def test_a_stack_left_applying_by_a_dead_holder_is_taken_over(
    store: Store, engine: Engine, clock: FakeClock, world: World
) -> None:
    applied(engine, stack("a"), stack("b"))
    for name in ("a", "b"):  # each apply was killed before it could say how it ended
        store.set_stack_status("default", name, "applying")
    objects_of(world, "b")["app.web-1.env"]["props"]["vars"]["NODE_ENV"] = "x"
    report = make_daemon(store, engine, clock).run_once()
    assert {o.name: o.outcome for o in report.outcomes} == {"a": "in_sync", "b": "corrected"}
    for name in ("a", "b"):
        record = store.get_stack("default", name)
        assert record is not None and record.status == "applied"
