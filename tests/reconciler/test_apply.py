"""The engine end to end against the in-memory fake provider and a real SQLite store."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from vibn.providers.base import Desired, Observed, Owner
from vibn.reconciler.engine import ConfirmationRequired, Engine, StalePlan
from vibn.specs.model import Stack
from vibn.state import LeaseHeld, SecretBox, Store

from .fake import FACTS, FakeDriver, World, plant, shop_stack


def doc(**spec: Any) -> Stack:
    return shop_stack(**spec)


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(f"sqlite:///{tmp_path / 'state.db'}", SecretBox(b"\x01" * 32))
    s.set_secret("default", "SESSION_SECRET", "hunter2")
    return s


def make_engine(store: Store, world: World, **drivers: FakeDriver) -> Engine:
    all_drivers: dict[str, Any] = {
        kind: FakeDriver(kind, world, replace_fields=f.replace_fields, data_bearing=f.data_bearing)
        for kind, f in FACTS.items()
    }
    all_drivers.update({d.kind: d for d in drivers.values()})
    return Engine(store, all_drivers, b"f" * 32, parallelism=4, lease_ttl=timedelta(seconds=5))


def kinds_in(world: World) -> list[str]:
    return sorted(o["owner"].address for o in world.objects.values())


def apply_doc(engine: Engine, stack: Stack, **kw: Any):
    planned = engine.plan(stack)
    return engine.apply(planned.plan.to_json(), **kw)


def test_apply_then_plan_is_noop_and_state_records_everything(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    result = apply_doc(engine, doc())
    assert result.ok, result.error
    assert len(world.objects) == 15  # 12 Coolify objects + the backups' bucket, key, S3 entry
    assert not engine.plan(doc()).plan.has_changes
    recorded = {r.address: r for r in store.resources("default", "shop")}
    assert set(recorded) == set(kinds_in(world))
    env = recorded["app.web-1.env"]
    assert env.props["vars"]["SESSION_SECRET"].value == "hunter2"  # Sensitive, decrypted
    assert store.get_stack("default", "shop").status == "applied"


def test_failure_rolls_back_created_objects(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    world.fail_on[("create", "app.worker-2.env")] = 1
    result = apply_doc(engine, doc())
    assert result.status == "rolled_back"
    assert "app.worker-2.env" in (result.error or "") and "injected failure" in (result.error or "")
    # only the workspace bucket stays: it is shared, and other stacks may rely on it
    assert kinds_in(world) == ["workspace.bucket"]
    assert store.resources("default", "shop") == []
    phases = {e.phase for e in store.journal_entries(result.apply_id)}
    assert {"started", "succeeded", "failed", "rolled_back"} <= phases


def test_failed_update_restores_previous_values(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    assert apply_doc(engine, doc()).ok
    before = {pid: dict(o["props"]) for pid, o in world.objects.items()}
    world.fail_on[("update", "app.worker-2.deploy")] = 1
    result = apply_doc(engine, doc(env={"NODE_ENV": "staging"}))
    assert result.status == "rolled_back"
    after = {pid: dict(o["props"]) for pid, o in world.objects.items()}
    assert after == before
    assert not engine.plan(doc()).plan.has_changes


def test_data_bearing_replacement_needs_confirmation(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    assert apply_doc(engine, doc()).ok
    snapshot = dict(world.objects)
    mysql = doc(databases=[{"name": "database", "engine": "mysql"}])
    with pytest.raises(ConfirmationRequired, match=r"database\.database \(replace\)"):
        apply_doc(engine, mysql)
    assert world.objects == snapshot
    result = apply_doc(engine, mysql, confirm=True)
    assert result.ok, result.error
    engines = [o["props"]["engine"] for o in world.objects.values() if "engine" in o["props"]]
    assert engines == ["mysql"]


def test_stale_plan_is_refused(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    assert apply_doc(engine, doc()).ok
    plan = engine.plan(doc(env={"NODE_ENV": "staging"})).plan.to_json()
    victim = next(pid for pid, o in world.objects.items() if o["owner"].address == "app.web-1")
    del world.objects[victim]  # the world moves after the plan was made
    with pytest.raises(StalePlan, match="stale"):
        engine.apply(plan)


def test_second_apply_on_a_locked_stack_fails_fast(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    store.acquire_lease("stack:default/shop", "cli:other-host:42", timedelta(minutes=1))
    with pytest.raises(LeaseHeld, match="locked by cli:other-host:42"):
        apply_doc(engine, doc())
    assert world.objects == {}


def test_crash_leftover_is_adopted_not_duplicated(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    planned = engine.plan(doc())
    project = next(a for a in planned.plan.actions if a.address == "project")
    # a previous apply created the project, then died before recording it
    plant(
        world,
        "coolify.project",
        Owner("default", "shop", "project"),
        {"name": "vibn-default-shop", "environment": "production"},
    )
    assert project.action.value == "create"
    result = apply_doc(engine, doc())
    assert result.ok
    projects = [o for o in world.objects.values() if o["kind"] == "coolify.project"]
    assert len(projects) == 1


class GatedDriver(FakeDriver):
    """Creates wait until three of them run at once: proves the wave is parallel."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.gate = threading.Barrier(3, timeout=10)

    def create(self, desired: Desired) -> Observed:
        self.gate.wait()  # raises BrokenBarrierError if fewer than 3 ever run together
        return super().create(desired)


def test_independent_actions_run_in_parallel_waves(store: Store, world: World) -> None:
    gated = GatedDriver("coolify.application", world, replace_fields=frozenset({"project_uuid"}))
    engine = make_engine(store, world, app=gated)
    result = apply_doc(engine, doc())
    assert result.ok, result.error  # web-1, worker-1 and worker-2 only need the project


def test_destroy_removes_everything(store: Store, world: World) -> None:
    engine = make_engine(store, world)
    assert apply_doc(engine, doc()).ok
    planned = engine.plan(doc(), destroy=True)
    assert planned.plan.summary()["delete"] == 14  # all but the shared workspace bucket
    with pytest.raises(ConfirmationRequired):
        engine.apply(planned.plan.to_json())
    result = engine.apply(planned.plan.to_json(), confirm=True)
    assert result.ok, result.error
    assert kinds_in(world) == ["workspace.bucket"]
    assert store.resources("default", "shop") == []
