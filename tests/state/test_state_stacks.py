"""Stacks and revisions: creation, the same-digest no-op, optimistic concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from vibn.state import RevisionConflict, StackNotFound, Store


def doc(n: int, drift: str = "correct") -> dict[str, Any]:
    return {
        "apiVersion": "vibn.dev/v1",
        "kind": "Stack",
        "metadata": {"name": "web"},
        "spec": {"drift": drift, "env": {"N": str(n)}},
    }


def test_first_put_creates_workspace_stack_and_revision_one(store: Store, clock: Any) -> None:
    assert store.get_stack("default", "web") is None
    assert store.put_revision("default", "web", doc(1, "report"), "sha256:1") == (1, True)
    stack = store.get_stack("default", "web")
    assert stack is not None
    assert (stack.workspace, stack.name, stack.revision, stack.status) == (
        "default",
        "web",
        1,
        "new",
    )
    assert stack.document == doc(1, "report")
    assert stack.digest == "sha256:1"
    assert stack.drift_policy == "report"
    assert stack.serial == 0 and stack.last_apply_id is None and stack.status_message == ""
    assert len(stack.lineage) == 36
    assert stack.created_at == clock.now and stack.updated_at == clock.now
    assert [w.name for w in store.list_workspaces()] == ["default"]


def test_same_digest_creates_no_revision(store: Store, clock: Any) -> None:
    start = clock.now
    store.put_revision("default", "web", doc(1), "d1")
    clock.advance(minutes=1)
    assert store.put_revision("default", "web", doc(1), "d1") == (1, False)
    assert store.put_revision("default", "web", doc(1), "d1", expected_revision=0) == (1, False)
    assert [r.number for r in store.revisions("default", "web")] == [1]
    stack = store.get_stack("default", "web")
    assert stack is not None and stack.updated_at == start


def test_new_digest_makes_the_next_revision(store: Store, clock: Any) -> None:
    store.put_revision("default", "web", doc(1), "d1")
    clock.advance(minutes=1)
    assert store.put_revision("default", "web", doc(2), "d2", expected_revision=1) == (2, True)
    assert store.put_revision("default", "web", doc(1), "d1") == (3, True)
    revisions = store.revisions("default", "web")
    assert [(r.number, r.digest) for r in revisions] == [(1, "d1"), (2, "d2"), (3, "d1")]
    assert revisions[1].document == doc(2)
    assert revisions[1].created_at == clock.now
    stack = store.get_stack("default", "web")
    assert stack is not None and (stack.revision, stack.digest) == (3, "d1")


def test_stale_expected_revision_conflicts(store: Store) -> None:
    store.put_revision("default", "web", doc(1), "d1")
    store.put_revision("default", "web", doc(2), "d2")
    with pytest.raises(RevisionConflict, match=r"default/web is at revision 2, not 1") as caught:
        store.put_revision("default", "web", doc(3), "d3", expected_revision=1)
    assert (caught.value.expected, caught.value.actual) == (1, 2)
    assert [r.number for r in store.revisions("default", "web")] == [1, 2]


def test_expected_revision_zero_means_must_be_new(store: Store) -> None:
    with pytest.raises(RevisionConflict):
        store.put_revision("default", "web", doc(1), "d1", expected_revision=3)
    assert store.get_stack("default", "web") is None
    assert store.put_revision("default", "web", doc(1), "d1", expected_revision=0) == (1, True)
    with pytest.raises(RevisionConflict):
        store.put_revision("default", "web", doc(2), "d2", expected_revision=0)


def test_concurrent_puts_each_get_their_own_revision(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        results = list(
            pool.map(lambda n: store.put_revision("default", "web", doc(n), f"d{n}"), range(8))
        )
    assert sorted(number for number, created in results if created) == list(range(1, 9))
    assert [r.number for r in store.revisions("default", "web")] == list(range(1, 9))


def test_list_stacks_by_workspace(store: Store) -> None:
    store.put_revision("b", "two", doc(1), "d")
    store.put_revision("a", "one", doc(1), "d")
    store.put_revision("a", "zed", doc(1), "d")
    assert [(s.workspace, s.name) for s in store.list_stacks()] == [
        ("a", "one"),
        ("a", "zed"),
        ("b", "two"),
    ]
    assert [s.name for s in store.list_stacks("a")] == ["one", "zed"]
    assert store.list_stacks("nobody") == []
    assert store.revisions("nobody", "nothing") == []


def test_set_stack_status(store: Store, clock: Any) -> None:
    store.put_revision("default", "web", doc(1), "d1")
    clock.advance(seconds=5)
    store.set_stack_status("default", "web", "failed", "coolify: 422 invalid port")
    stack = store.get_stack("default", "web")
    assert stack is not None
    assert (stack.status, stack.status_message) == ("failed", "coolify: 422 invalid port")
    assert stack.updated_at == clock.now
    with pytest.raises(ValueError, match="stack status must be one of"):
        store.set_stack_status("default", "web", "exploded")  # type: ignore[arg-type]
    with pytest.raises(StackNotFound, match="stack default/nope does not exist"):
        store.set_stack_status("default", "nope", "applied")


def test_delete_stack_forgets_resources_and_keeps_history(store: Store) -> None:
    store.put_revision("default", "web", doc(1), "d1")
    store.record_resource("default", "web", "app.web", "app", "uuid-1", {}, {})
    apply_id = store.begin_apply(
        "default", "web", revision=1, plan_id=None, kind="destroy", principal="cli"
    )
    before = store.get_stack("default", "web")
    store.delete_stack("default", "web")
    stack = store.get_stack("default", "web")
    assert stack is not None and before is not None
    assert stack.status == "destroyed"
    assert stack.serial == before.serial + 1
    assert stack.lineage == before.lineage
    assert store.resources("default", "web") == []
    assert [r.number for r in store.revisions("default", "web")] == [1]
    assert store.get_apply(apply_id) is not None
    with pytest.raises(StackNotFound):
        store.delete_stack("default", "nope")


def test_a_new_revision_revives_a_destroyed_stack(store: Store) -> None:
    store.put_revision("default", "web", doc(1), "d1")
    store.delete_stack("default", "web")
    assert store.put_revision("default", "web", doc(2), "d2") == (2, True)
    stack = store.get_stack("default", "web")
    assert stack is not None and stack.status == "new"


def test_unknown_drift_policy_falls_back_to_correct(store: Store) -> None:
    store.put_revision("default", "web", {"spec": {"drift": "ignore"}}, "d1")
    store.put_revision("default", "api", {"no": "spec"}, "d1")
    assert {s.name: s.drift_policy for s in store.list_stacks()} == {
        "api": "correct",
        "web": "correct",
    }
