"""The audit trail and the append-only event log."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from vibn.specs.values import Sensitive
from vibn.state import Store


def test_audit_events_newest_first(store: Store, clock: Any) -> None:
    store.audit("cli:alice", "default", "put", stack="web", revision=1)
    clock.advance(seconds=1)
    store.audit(
        "key:vibn_abc",
        "default",
        "apply",
        stack="web",
        revision=1,
        result="refused",
        detail={"reason": "lease held", "token": Sensitive("t")},
    )
    store.audit("cli:bob", "other", "destroy", stack="api")
    events = store.audit_events("default")
    assert [(e.principal, e.action, e.result) for e in events] == [
        ("key:vibn_abc", "apply", "refused"),
        ("cli:alice", "put", "ok"),
    ]
    assert events[0].detail == {"reason": "lease held", "token": Sensitive("t")}
    assert events[0].at == clock.now and (events[0].stack, events[0].revision) == ("web", 1)
    assert events[1].detail is None
    assert [e.workspace for e in store.audit_events()] == ["other", "default", "default"]
    assert len(store.audit_events(limit=1)) == 1


def test_events_resume_after_an_id(store: Store, clock: Any) -> None:
    first = store.add_event("default", "web", "apply.started", {"apply": 1}, apply_id="a-1")
    second = store.add_event("default", "api", "plan.ready", {"n": 2})
    third = store.add_event("default", "web", "resource.created", {"address": "app.web"})
    store.add_event("other", "web", "apply.started", {})
    assert first < second < third
    web = store.events("default", "web")
    assert [(e.id, e.type, e.apply_id) for e in web] == [
        (first, "apply.started", "a-1"),
        (third, "resource.created", None),
    ]
    assert web[1].payload == {"address": "app.web"} and web[1].at == clock.now
    assert [e.id for e in store.events("default", "web", after_id=first)] == [third]
    assert [e.id for e in store.events("default")] == [first, second, third]
    assert [e.id for e in store.events("default", limit=2)] == [first, second]


def test_event_ids_grow_under_concurrency(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        ids = list(
            pool.map(lambda n: store.add_event("default", "web", "tick", {"n": n}), range(40))
        )
    assert len(set(ids)) == 40
    events = store.events("default", "web", limit=100)
    assert [e.id for e in events] == sorted(ids)
    assert sorted(e.payload["n"] for e in events) == list(range(40))
