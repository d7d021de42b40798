"""Applies and the journal: lifecycle, ordering, and sequence numbers from many threads."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from vibn.specs.values import Sensitive
from vibn.state import ApplyKind, StackNotFound, StateError, Store


@pytest.fixture
def web(store: Store) -> Store:
    store.put_revision("default", "web", {"spec": {}}, "d1")
    return store


def begin(store: Store, kind: ApplyKind = "apply") -> str:
    return store.begin_apply(
        "default", "web", revision=1, plan_id="plan-1", kind=kind, principal="cli:host:1"
    )


def test_apply_lifecycle(web: Store, clock: Any) -> None:
    started = clock.now
    apply_id = begin(web)
    record = web.get_apply(apply_id)
    assert record is not None
    assert (record.workspace, record.stack, record.revision, record.plan_id) == (
        "default",
        "web",
        1,
        "plan-1",
    )
    assert (record.kind, record.status, record.principal) == ("apply", "running", "cli:host:1")
    assert (record.started_at, record.finished_at, record.error, record.summary) == (
        started,
        None,
        None,
        None,
    )
    stack = web.get_stack("default", "web")
    assert stack is not None and stack.last_apply_id == apply_id

    clock.advance(seconds=30)
    web.finish_apply(apply_id, "failed", error="gcs: 403 forbidden", summary={"created": 2})
    done = web.get_apply(apply_id)
    assert done is not None
    assert (done.status, done.error, done.summary, done.finished_at) == (
        "failed",
        "gcs: 403 forbidden",
        {"created": 2},
        clock.now,
    )
    assert web.last_apply("default", "web") == done


def test_last_apply_is_the_latest_begun(web: Store) -> None:
    assert web.last_apply("default", "web") is None
    begin(web)
    second = begin(web, "destroy")
    last = web.last_apply("default", "web")
    assert last is not None and (last.id, last.kind) == (second, "destroy")
    assert web.get_apply("no-such-apply") is None
    assert web.last_apply("default", "nope") is None


def test_apply_vocabulary_and_unknowns(web: Store) -> None:
    with pytest.raises(ValueError, match="apply kind must be one of apply, destroy"):
        begin(web, "refresh")  # type: ignore[arg-type]
    with pytest.raises(StackNotFound):
        web.begin_apply("default", "nope", revision=1, plan_id=None, kind="apply", principal="x")
    with pytest.raises(StateError, match="no apply nope to finish"):
        web.finish_apply("nope", "succeeded")
    with pytest.raises(StateError, match="no apply nope to journal"):
        web.journal("nope", address="a", kind="k", action="create", phase="started")
    apply_id = begin(web)
    with pytest.raises(ValueError, match="apply status must be one of"):
        web.finish_apply(apply_id, "done")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="journal phase must be one of"):
        web.journal(apply_id, address="a", kind="k", action="create", phase="begun")  # type: ignore[arg-type]


def test_journal_entries_in_order(web: Store, clock: Any) -> None:
    apply_id = begin(web)
    web.journal(apply_id, address="app.web", kind="app", action="create", phase="started")
    clock.advance(seconds=1)
    web.journal(
        apply_id,
        address="app.web",
        kind="app",
        action="create",
        phase="succeeded",
        provider_id="uuid-1",
        detail={"token": Sensitive("t0p"), "took_ms": 812},
    )
    entries = web.journal_entries(apply_id)
    assert [(e.seq, e.phase, e.provider_id) for e in entries] == [
        (1, "started", None),
        (2, "succeeded", "uuid-1"),
    ]
    assert entries[1].detail == {"token": Sensitive("t0p"), "took_ms": 812}
    assert entries[1].at == clock.now
    assert web.journal_entries("nope") == []


def test_journal_seqs_from_many_threads_are_unique_and_dense(web: Store) -> None:
    apply_id = begin(web)
    other = begin(web)

    def step(n: int) -> None:
        target = apply_id if n % 4 else other
        web.journal(target, address=f"a.{n}", kind="k", action="create", phase="started")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(step, range(120)))
    mine = web.journal_entries(apply_id)
    assert [e.seq for e in mine] == list(range(1, 91))
    assert [e.seq for e in web.journal_entries(other)] == list(range(1, 31))
    assert len({e.address for e in mine}) == 90
