"""Recorded resources: upserts, serial bumps, conditions, and secrets sealed at rest."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from vibn.specs.values import Condition, Sensitive
from vibn.state import RecordedResource, SecretBox, StackNotFound, StateError, Store

READY = Condition("Ready", "True", "Running", "", "2026-11-25T17:00:00+00:00")
PENDING = Condition("Ready", "False", "PendingDkim", "waiting for DNS", "2026-11-25T17:00:00+00:00")


@pytest.fixture
def web(store: Store) -> Store:
    store.put_revision("default", "web", {"spec": {}}, "d1")
    store.put_revision("default", "api", {"spec": {}}, "d1")
    return store


def serial(store: Store, name: str = "web") -> int:
    stack = store.get_stack("default", name)
    assert stack is not None
    return stack.serial


def test_record_and_read_back(web: Store) -> None:
    web.record_resource(
        "default",
        "web",
        "database.main",
        "database",
        "db-uuid",
        {"engine": "postgresql", "password": Sensitive("hunter2"), "tags": ["a", "b"]},
        {"url": Sensitive("postgres://u:hunter2@db/x"), "port": 5432},
        [PENDING],
    )
    assert web.resources("default", "web") == [
        RecordedResource(
            address="database.main",
            kind="database",
            provider_id="db-uuid",
            props={"engine": "postgresql", "password": Sensitive("hunter2"), "tags": ["a", "b"]},
            outputs={"url": Sensitive("postgres://u:hunter2@db/x"), "port": 5432},
            conditions=(PENDING,),
        )
    ]
    assert serial(web) == 1


def test_recording_again_replaces_and_bumps_serial(web: Store) -> None:
    web.record_resource("default", "web", "app.web", "app", None, {"replicas": 1}, {})
    web.record_resource("default", "web", "app.web", "app", "uuid-1", {"replicas": 2}, {"u": 1})
    [resource] = web.resources("default", "web")
    assert (resource.provider_id, resource.props, resource.outputs) == (
        "uuid-1",
        {"replicas": 2},
        {"u": 1},
    )
    assert serial(web) == 2
    assert serial(web, "api") == 0


def test_forget_resource(web: Store) -> None:
    web.record_resource("default", "web", "app.web", "app", "u", {}, {})
    assert web.forget_resource("default", "web", "app.web") is True
    assert web.resources("default", "web") == []
    assert serial(web) == 2
    assert web.forget_resource("default", "web", "app.web") is False
    assert serial(web) == 2


def test_set_conditions(web: Store) -> None:
    web.record_resource("default", "web", "email.sender", "ses_identity", "x", {}, {}, [PENDING])
    web.set_conditions("default", "web", "email.sender", [READY])
    [resource] = web.resources("default", "web")
    assert resource.conditions == (READY,)
    assert serial(web) == 2
    with pytest.raises(StateError, match=r"stack default/web has no resource email\.other"):
        web.set_conditions("default", "web", "email.other", [READY])
    assert serial(web) == 2


def test_writes_to_an_unknown_stack_raise(web: Store) -> None:
    with pytest.raises(StackNotFound):
        web.record_resource("default", "nope", "app.web", "app", None, {}, {})
    with pytest.raises(StackNotFound):
        web.forget_resource("default", "nope", "app.web")
    with pytest.raises(StackNotFound):
        web.set_conditions("other", "web", "app.web", [])
    assert web.resources("default", "nope") == []


def test_resources_of_kind_by_stack(web: Store) -> None:
    web.put_revision("other", "web", {"spec": {}}, "d1")
    web.record_resource("default", "web", "cron.a", "cron_job", "1", {}, {})
    web.record_resource("default", "web", "app.web", "app", "2", {}, {})
    web.record_resource("default", "api", "cron.b", "cron_job", "3", {}, {})
    web.record_resource("other", "web", "cron.c", "cron_job", "4", {}, {})
    found = web.resources_of_kind("default", ["web", "api", "ghost"], "cron_job")
    assert {name: [r.address for r in rs] for name, rs in found.items()} == {
        "web": ["cron.a"],
        "api": ["cron.b"],
        "ghost": [],
    }
    assert web.resources_of_kind("default", [], "cron_job") == {}


def test_concurrent_records_all_land_and_count(web: Store) -> None:
    def record(n: int) -> None:
        web.record_resource("default", "web", f"queue.q{n % 5}", "queue", str(n), {"n": n}, {})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(record, range(40)))
    assert [r.address for r in web.resources("default", "web")] == [f"queue.q{i}" for i in range(5)]
    assert serial(web) == 40


def test_sensitive_values_are_encrypted_at_rest(
    web: Store, raw: Callable[[str], list[tuple[Any, ...]]]
) -> None:
    web.record_resource(
        "default",
        "web",
        "storage.hmac",
        "hmac_key",
        "GOOG1EXAMPLE",
        {"service_account": "sa@x"},
        {"access_id": "GOOG1EXAMPLE", "secret": Sensitive("bGlrZS1hLXNlY3JldA-plaintext")},
    )
    [(props, outputs)] = raw("SELECT CAST(props AS TEXT), CAST(outputs AS TEXT) FROM resources")
    assert "sa@x" in props
    assert "GOOG1EXAMPLE" in outputs and "$sensitive" in outputs
    assert "plaintext" not in outputs and "bGlrZS1h" not in outputs


def test_wrong_key_is_a_clear_error(web: Store, open_store: Callable[[SecretBox], Store]) -> None:
    web.record_resource("default", "web", "app.web", "app", "u", {"k": Sensitive("v")}, {})
    other = open_store(SecretBox(b"\xff" * 32))
    with pytest.raises(
        StateError, match=r"cannot decrypt default/web app.web: wrong VIBN_SECRETS_KEY\?"
    ):
        other.resources("default", "web")
