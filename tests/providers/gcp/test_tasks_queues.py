"""Contract tests of the ``gcp.tasks_queue`` driver, through google-cloud-tasks' REST
transport against the sandbox's Cloud Tasks emulator.

Besides the lifecycle, these pin the two things particular to queues: ownership lives
in a hash inside the queue id (foreign ids are ignored, never adopted), and a deleted
queue's name stays reserved — a re-create is a clear ConflictError, not retried, and
works again once the emulator's clock has moved past the window.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2

from vibn.providers.base import Desired, Observed, Owner, Recorded, Scope
from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    QuotaError,
)
from vibn.providers.gcp.common import GcpEndpoints, RetryPolicy
from vibn.providers.gcp.tasks import (
    KIND,
    TasksQueueDriver,
    queue_id,
    queue_owner,
    tasks_drivers,
)
from vibn.reconciler.diff import diff
from vibn.sandbox.server import RunningSandbox

from .conftest import PROJECT, STACK, WS, Control, Ctx, Waits

MONTREAL = f"projects/{PROJECT}/locations/northamerica-northeast1"
TORONTO = f"projects/{PROJECT}/locations/northamerica-northeast2"
QUEUES = "/v2/projects/{project}/locations/{location}/queues"
SCOPE = Scope(WS, frozenset({STACK}))
DAY = 86400.0


@dataclass
class Tasks:
    driver: TasksQueueDriver
    api: tasks_v2.CloudTasksClient
    control: Control
    waits: Waits


@pytest.fixture
def tasks(sandbox: RunningSandbox, fast_retry: RetryPolicy, waits: Waits) -> Iterator[Tasks]:
    endpoint = sandbox.providers["tasks"]
    endpoints = GcpEndpoints(PROJECT, tasks=endpoint.url, anonymous=True)
    api = tasks_v2.CloudTasksClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": endpoint.url},
    )
    driver = tasks_drivers(endpoints, api, retry=fast_retry)[KIND]
    assert isinstance(driver, TasksQueueDriver)
    with httpx.Client(base_url=endpoint.control_url, timeout=10.0) as http:
        yield Tasks(driver, api, Control(http, "tasks"), waits)


def name_of(queue: str, stack: str = STACK, ws: str = WS, parent: str = MONTREAL) -> str:
    return f"{parent}/queues/{queue_id(ws, stack, queue)}"


def desired(queue: str = "emails", parent: str = MONTREAL, **changes: Any) -> Desired:
    """What compile produces for a queue entry (defaults as in the spec model)."""
    props: dict[str, Any] = {
        "name": name_of(queue, parent=parent),
        "max_attempts": 5,
        "max_dispatches_per_second": 10.0,
        "max_concurrent_dispatches": 1000,
        "min_backoff": "0.1s",
        "max_backoff": "3600s",
    }
    owner = Owner(WS, STACK, f"queue.{queue}")
    return Desired(owner.address, KIND, owner, {**props, **changes})


def observe(t: Tasks, records: list[Recorded] | None = None) -> dict[str, Observed]:
    found = t.driver.observe(SCOPE, Ctx(records={KIND: records or []}))
    return {o.address: o for o in found}


def raw_queue(t: Tasks, name: str, rate: float = 1.0) -> None:
    t.api.create_queue(
        parent=name.rsplit("/queues/", 1)[0],
        queue=tasks_v2.Queue(
            name=name, rate_limits=tasks_v2.RateLimits(max_dispatches_per_second=rate)
        ),
    )


def test_queue_owner_verifies_the_hash() -> None:
    ident = queue_id("acme", "my-shop", "image-processing")
    owner = Owner("acme", "my-shop", "queue.image-processing")
    # "my" is also a prefix of the id: only the stack whose hash verifies owns it
    assert queue_owner(ident, "acme", ["my", "my-shop"]) == owner
    assert queue_owner(f"{MONTREAL}/queues/{ident}", "acme", ["my-shop"]) == owner
    assert queue_owner(ident, "globex", ["my-shop"]) is None
    assert queue_owner("vibn-my-shop-image-processing-00000000", "acme", ["my-shop"]) is None
    assert queue_owner("emails", "acme", ["my-shop"]) is None


def test_create_observe_update_delete(tasks: Tasks) -> None:
    want = desired()
    created = tasks.driver.create(want)
    assert diff(want.props, created.props) == []
    assert created.outputs == {"name": want.props["name"], "state": "RUNNING"}

    seen = observe(tasks)
    assert list(seen) == ["queue.emails"]
    assert seen["queue.emails"].owner == want.owner
    assert diff(want.props, seen["queue.emails"].props) == []

    edited = desired(
        max_attempts=-1,
        max_dispatches_per_second=2.5,
        max_concurrent_dispatches=7,
        min_backoff="1.5s",
        max_backoff="600s",
    )
    updated = tasks.driver.update(edited, seen["queue.emails"])
    assert diff(edited.props, updated.props) == []
    raw = tasks.api.get_queue(name=want.props["name"])
    assert raw.rate_limits.max_dispatches_per_second == 2.5
    assert raw.retry_config.max_attempts == -1
    assert raw.retry_config.min_backoff == timedelta(seconds=1.5)
    assert diff(edited.props, observe(tasks)["queue.emails"].props) == []

    tasks.driver.delete(updated)
    assert observe(tasks) == {}
    tasks.driver.delete(updated)  # already gone: done


def test_update_sends_only_what_changed(tasks: Tasks) -> None:
    created = tasks.driver.create(desired())
    tasks.api.update_queue(  # changed outside vibn, in a field vibn does not manage
        queue=tasks_v2.Queue(
            name=created.provider_id, retry_config=tasks_v2.RetryConfig(max_doublings=3)
        ),
        update_mask={"paths": ["retry_config.max_doublings"]},
    )
    tasks.driver.update(desired(max_attempts=9), created)
    raw = tasks.api.get_queue(name=created.provider_id)
    assert (raw.retry_config.max_attempts, raw.retry_config.max_doublings) == (9, 3)


def test_observe_is_one_list_per_location(tasks: Tasks) -> None:
    for queue in ("a", "b", "c"):
        tasks.driver.create(desired(queue))
    toronto = desired("d", parent=TORONTO)
    tasks.driver.create(toronto)
    raw_queue(tasks, f"{MONTREAL}/queues/hand-made")
    raw_queue(tasks, f"{MONTREAL}/queues/vibn-{STACK}-fake-00000000")
    raw_queue(tasks, name_of("emails", ws="globex"))
    raw_queue(tasks, name_of("emails", stack="blog"))

    tasks.control.clear_requests()
    assert sorted(observe(tasks)) == ["queue.a", "queue.b", "queue.c"]
    assert tasks.control.requests() == {f"GET {QUEUES}": 1}

    record = Recorded("queue.d", KIND, toronto.props["name"], toronto.props, {}, stack=STACK)
    tasks.control.clear_requests()
    assert sorted(observe(tasks, [record])) == ["queue.a", "queue.b", "queue.c", "queue.d"]
    assert tasks.control.requests() == {f"GET {QUEUES}": 2}


def test_adopts_its_own_queue_after_a_crash(tasks: Tasks) -> None:
    want = desired()
    raw_queue(tasks, want.props["name"], rate=1.0)  # created, then vibn crashed
    adopted = tasks.driver.create(want)
    assert diff(want.props, adopted.props) == []
    assert tasks.api.get_queue(name=want.props["name"]).rate_limits.max_dispatches_per_second == 10


def test_refuses_a_queue_id_it_could_not_recognise(tasks: Tasks) -> None:
    foreign = f"{MONTREAL}/queues/emails"
    raw_queue(tasks, foreign)
    tasks.control.clear_requests()
    with pytest.raises(InvalidError, match="does not carry this stack's ownership hash"):
        tasks.driver.create(desired(name=foreign))
    with pytest.raises(InvalidError, match="ownership hash"):
        tasks.driver.create(desired(name=name_of("emails", ws="globex")))
    assert tasks.control.requests() == {}  # refused before any call
    assert tasks.api.get_queue(name=foreign).rate_limits.max_dispatches_per_second == 1.0


def test_recreating_a_recently_deleted_queue_is_a_clear_conflict(tasks: Tasks) -> None:
    created = tasks.driver.create(desired())
    tasks.driver.delete(created)
    tasks.control.clear_requests()
    with pytest.raises(ConflictError) as info:
        tasks.driver.create(desired())
    err = info.value
    assert f"queue {queue_id(WS, STACK, 'emails')} was deleted recently" in err.message
    assert "reserves a deleted queue's name for up to 3 days" in err.message
    assert "rename the queue or wait" in err.message
    assert err.resource is not None and "queue.emails" in err.resource
    assert tasks.control.requests() == {f"POST {QUEUES}": 1}  # not retried
    assert tasks.waits.seconds == []

    tasks.control.advance_clock(3 * DAY)  # past the tombstone window
    again = tasks.driver.create(desired())
    assert again.outputs["state"] == "RUNNING"


def test_a_create_that_only_appears_to_succeed_is_caught(tasks: Tasks) -> None:
    # Google: inside the window a create "may appear to succeed"; the GET says otherwise
    ident = queue_id(WS, STACK, "emails")
    tasks.control.fault(method="GET", path=f"/queues/{ident}$", status=404)
    with pytest.raises(ConflictError, match="was deleted recently"):
        tasks.driver.create(desired())


def test_concurrent_creates_share_one_client(tasks: Tasks) -> None:
    names = [f"q{i}" for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda q: tasks.driver.create(desired(q)), names))
    assert sorted(o.address for o in created) == sorted(f"queue.{q}" for q in names)
    assert sorted(observe(tasks)) == sorted(f"queue.{q}" for q in names)


def test_invalid_argument_names_the_resource(tasks: Tasks) -> None:
    with pytest.raises(InvalidError) as info:
        tasks.driver.create(desired(max_dispatches_per_second=900.0))
    err = info.value
    assert err.status == 400 and "max_dispatches_per_second" in err.message
    assert err.resource is not None and "queue.emails" in err.resource
    assert queue_id(WS, STACK, "emails") in err.resource


def test_permission_denied_is_an_auth_error(tasks: Tasks) -> None:
    tasks.control.fault(method="POST", path="/queues$", status=403)
    with pytest.raises(AuthError) as info:
        tasks.driver.create(desired())
    assert info.value.status == 403 and "queue.emails" in str(info.value)
    assert tasks.waits.seconds == []


def test_rate_limited_is_retried_then_a_quota_error(tasks: Tasks) -> None:
    tasks.control.fault(method="PATCH", path="/queues/", status=429, times=10)
    created = tasks.driver.create(desired())
    with pytest.raises(QuotaError) as info:
        tasks.driver.update(desired(max_attempts=7), created)
    assert info.value.status == 429 and "queue.emails" in str(info.value)
    assert tasks.waits.seconds == [1.0, 1.0, 1.0]


def test_transient_unavailable_is_retried(tasks: Tasks) -> None:
    tasks.control.fault(method="GET", path="/queues$", status=503, times=1)
    tasks.driver.create(desired())
    assert list(observe(tasks)) == ["queue.emails"]
    assert len(tasks.waits.seconds) == 1
    assert tasks.control.requests()[f"GET {QUEUES}"] == 2


def test_drivers_from_endpoints_alone(sandbox: RunningSandbox) -> None:
    endpoints = GcpEndpoints(PROJECT, tasks=sandbox.providers["tasks"].url, anonymous=True)
    driver = tasks_drivers(endpoints)[KIND]
    driver.create(desired())
    assert [o.address for o in driver.observe(SCOPE, Ctx())] == ["queue.emails"]
