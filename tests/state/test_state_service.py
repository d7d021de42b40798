"""The service's part of the store: saved plans, and the daemon claiming due stacks with
the same leases the CLI takes — never one stack twice, even from many threads and
connections at once."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from vibn.specs.values import Sensitive
from vibn.state import (
    LeaseHeld,
    ReconcileSchedule,
    SecretBox,
    StackNotFound,
    StackStatus,
    Store,
    stack_lease_key,
)

TTL = timedelta(minutes=1)
PLAN = {"plan_id": "abc123", "summary": {"create": 1}, "actions": [{"address": "app.web"}]}


def make_stack(store: Store, name: str, status: StackStatus = "applied", ws: str = "w") -> None:
    store.put_revision(ws, name, {"spec": {"n": name}}, f"d-{name}")
    if status != "new":
        store.set_stack_status(ws, name, status)


# -- saved plans ---------------------------------------------------------------------
def test_a_saved_plan_comes_back(store: Store) -> None:
    make_stack(store, "web")
    store.save_plan("w", "web", "abc123", PLAN, revision=1)
    assert store.get_plan("w", "web", "abc123") == PLAN
    assert store.get_plan("w", "web", "other") is None
    assert store.get_plan("w", "nope", "abc123") is None
    assert store.get_plan("x", "web", "abc123") is None


def test_saving_the_same_plan_id_again_changes_nothing(store: Store) -> None:
    make_stack(store, "web")
    store.save_plan("w", "web", "abc123", PLAN, revision=1)
    store.save_plan("w", "web", "abc123", {"different": True}, revision=2)
    assert store.get_plan("w", "web", "abc123") == PLAN


def test_plans_belong_to_their_stack(store: Store) -> None:
    make_stack(store, "web")
    make_stack(store, "api")
    store.save_plan("w", "web", "same", {"of": "web"}, revision=1)
    store.save_plan("w", "api", "same", {"of": "api"}, revision=1)
    assert store.get_plan("w", "web", "same") == {"of": "web"}
    assert store.get_plan("w", "api", "same") == {"of": "api"}


def test_a_plan_of_an_unknown_stack_is_refused(store: Store) -> None:
    with pytest.raises(StackNotFound):
        store.save_plan("w", "ghost", "abc", PLAN, revision=1)


def test_prune_keeps_the_newest(store: Store) -> None:
    make_stack(store, "web")
    for n in range(7):
        store.save_plan("w", "web", f"p{n}", {"n": n}, revision=n)
    assert store.prune_plans("w", "web", keep=3) == 4
    assert [store.get_plan("w", "web", f"p{n}") is not None for n in range(7)] == [False] * 4 + [
        True
    ] * 3
    assert store.prune_plans("w", "web", keep=3) == 0
    assert store.prune_plans("w", "ghost") == 0


def test_sensitive_values_in_a_plan_are_sealed_at_rest(
    store: Store, raw: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    make_stack(store, "web")
    store.save_plan("w", "web", "p", {"env": {"KEY": Sensitive("s3cret")}}, revision=1)
    assert raw("SELECT plan_id, revision FROM plans") == [("p", 1)]
    assert "s3cret" not in str(raw("SELECT document FROM plans"))
    assert store.get_plan("w", "web", "p") == {"env": {"KEY": Sensitive("s3cret")}}


# -- claiming due stacks -------------------------------------------------------------
def test_new_and_destroyed_stacks_are_never_due(store: Store) -> None:
    statuses: list[StackStatus] = ["new", "applying", "applied", "failed", "destroyed"]
    for status in statuses:
        make_stack(store, status, status)
    assert sorted(store.claim_due("d", limit=10, ttl=TTL)) == [
        ("w", "applied"),
        ("w", "applying"),  # no live lease: whoever was applying it died
        ("w", "failed"),
    ]


def test_a_stack_being_applied_is_not_due(store: Store) -> None:
    make_stack(store, "web", "applying")
    store.acquire_lease(stack_lease_key("w", "web"), "cli:host:1", TTL)
    assert store.claim_due("d", limit=10, ttl=TTL) == []


def test_claiming_takes_the_stack_lease(store: Store, clock: Any) -> None:
    make_stack(store, "web")
    assert store.claim_due("daemon:1", limit=5, ttl=TTL) == [("w", "web")]
    lease = store.lease_holder(stack_lease_key("w", "web"))
    assert lease is not None
    assert (lease.holder, lease.expires_at) == ("daemon:1", clock.now + TTL)
    assert store.claim_due("daemon:2", limit=5, ttl=TTL) == []
    with pytest.raises(LeaseHeld, match="locked by daemon:1"):
        store.acquire_lease(stack_lease_key("w", "web"), "cli:host:1", TTL)
    assert store.release_lease(stack_lease_key("w", "web"), "daemon:1")
    assert store.claim_due("daemon:2", limit=5, ttl=TTL) == [("w", "web")]


def test_a_stack_locked_by_the_cli_is_not_claimed(store: Store, clock: Any) -> None:
    make_stack(store, "web")
    make_stack(store, "api")
    store.acquire_lease(stack_lease_key("w", "web"), "cli:host:1", TTL)
    assert store.claim_due("d", limit=5, ttl=TTL) == [("w", "api")]
    assert store.release_lease(stack_lease_key("w", "api"), "d")
    store.schedule_next("w", "api", clock.now + timedelta(hours=1), failures=0)
    clock.advance(seconds=61)
    assert store.claim_due("d2", limit=5, ttl=TTL) == [("w", "web")]
    lease = store.lease_holder(stack_lease_key("w", "web"))
    assert lease is not None and (lease.holder, lease.acquired_at) == ("d2", clock.now)


def test_schedule_decides_when_a_stack_is_due(store: Store, clock: Any) -> None:
    make_stack(store, "web")
    make_stack(store, "api")
    store.schedule_next("w", "web", clock.now + timedelta(minutes=5), failures=2)
    assert store.get_schedule("w", "web") == ReconcileSchedule(
        "w", "web", clock.now + timedelta(minutes=5), None, 2
    )
    assert store.claim_due("d", limit=5, ttl=TTL) == [("w", "api")]
    store.release_lease(stack_lease_key("w", "api"), "d")
    store.schedule_next("w", "api", clock.now + timedelta(minutes=10), failures=0)
    assert store.claim_due("d", limit=5, ttl=TTL) == []
    clock.advance(minutes=5)
    assert store.claim_due("d", limit=5, ttl=TTL) == [("w", "web")]
    store.mark_reconciled("w", "web")
    schedule = store.get_schedule("w", "web")
    assert schedule is not None and schedule.last_reconciled_at == clock.now
    assert store.get_schedule("w", "ghost") is None
    with pytest.raises(StackNotFound):
        store.schedule_next("w", "ghost", clock.now, failures=0)
    with pytest.raises(StackNotFound):
        store.mark_reconciled("w", "ghost")


def test_a_new_stack_starts_unscheduled(store: Store) -> None:
    make_stack(store, "web")
    assert store.get_schedule("w", "web") == ReconcileSchedule("w", "web", None, None, 0)


def test_longest_waiting_first_and_limit(store: Store, clock: Any) -> None:
    for n, name in enumerate(["a", "b", "c", "d"]):
        make_stack(store, name)
        store.schedule_next("w", name, clock.now - timedelta(minutes=n), failures=0)
    make_stack(store, "never")
    assert store.claim_due("d", limit=3, ttl=TTL) == [("w", "never"), ("w", "d"), ("w", "c")]
    assert store.claim_due("d", limit=3, ttl=TTL) == [("w", "b"), ("w", "a")]
    assert store.claim_due("d", limit=0, ttl=TTL) == []


def test_claims_span_workspaces(store: Store) -> None:
    make_stack(store, "web", ws="one")
    make_stack(store, "web", ws="two")
    assert sorted(store.claim_due("d", limit=5, ttl=TTL)) == [("one", "web"), ("two", "web")]


def test_ttl_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="positive ttl"):
        store.claim_due("d", limit=1, ttl=timedelta(0))


def _race(claimers: list[Store], rounds: int, limit: int) -> list[tuple[str, str]]:
    """Every claimer claims ``rounds`` times at once; everything they got."""
    barrier = threading.Barrier(len(claimers))
    got: list[tuple[str, str]] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def claim(n: int, store: Store) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):
                won = store.claim_due(f"replica-{n}", limit=limit, ttl=TTL)
                with lock:
                    got.extend(won)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=claim, args=(n, store)) for n, store in enumerate(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return got


def test_concurrent_claimers_never_share_a_stack(store: Store) -> None:
    names = [f"s{n:02d}" for n in range(30)]
    for name in names:
        make_stack(store, name)
    got = _race([store] * 10, rounds=4, limit=3)
    assert sorted(Counter(got).values()) == [1] * len(names)
    assert sorted(name for _, name in got) == names


@pytest.mark.postgres
def test_concurrent_connections_never_share_a_stack(pg_url: str, box: SecretBox) -> None:
    stores = [Store.open(pg_url, box) for _ in range(4)]
    try:
        names = [f"s{n:02d}" for n in range(40)]
        for name in names:
            make_stack(stores[0], name)
        got = _race([s for s in stores for _ in range(3)], rounds=5, limit=2)
        assert sorted(Counter(got).values()) == [1] * len(names)
        assert sorted(name for _, name in got) == names
        holders = {stores[0].lease_holder(stack_lease_key("w", n)) for n in names}
        assert None not in holders
    finally:
        for s in stores:
            s.close()


def test_last_applied_revision_counts_only_successful_applies(store: Store) -> None:
    make_stack(store, "web", "new")
    assert store.last_applied_revision("w", "web") is None
    first = store.begin_apply("w", "web", revision=1, plan_id="p1", kind="apply", principal="t")
    store.finish_apply(first, "succeeded")
    store.put_revision("w", "web", {"spec": {"v": 2}}, "d2")
    second = store.begin_apply("w", "web", revision=2, plan_id="p2", kind="apply", principal="t")
    store.finish_apply(second, "rolled_back", error="boom")
    assert store.last_applied_revision("w", "web") == 1
    gone = store.begin_apply("w", "web", revision=2, plan_id="p3", kind="destroy", principal="t")
    store.finish_apply(gone, "succeeded")
    assert store.last_applied_revision("w", "web") == 1
    assert store.last_applied_revision("w", "ghost") is None
