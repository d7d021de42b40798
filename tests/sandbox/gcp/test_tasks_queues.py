"""Cloud Tasks emulator: queues through google-cloud-tasks (REST) and raw HTTP.

The queue lifecycle as vibn's driver will see it: create with the defaults
Google picks, get, list (paged, filtered on state), patch with a mask (and the
upsert UpdateQueue documents), pause, resume, purge, delete, the tombstone that
refuses a re-created name (moved past with the emulator clock or a shorter
window), the limits Google enforces, faults, and persistence.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import FakeClock
from ..helpers import client as http_client

PARENT = "projects/p1/locations/northamerica-northeast1"
QUEUE = f"{PARENT}/queues/emails"
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC).timestamp()
TOO_RECENT = "The queue cannot be created because a queue with this name existed too recently."
DAY = 86400.0


def tasks_client(url: str) -> tasks_v2.CloudTasksClient:
    return tasks_v2.CloudTasksClient(
        credentials=AnonymousCredentials(), transport="rest", client_options={"api_endpoint": url}
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningSandbox]:
    with start_in_thread(tmp_path / "sb", names=["tasks"], clock=clock) as sb:
        yield sb


@pytest.fixture
def api(running: RunningSandbox) -> tasks_v2.CloudTasksClient:
    return tasks_client(running.providers["tasks"].url)


@pytest.fixture
def raw(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["tasks"].url) as c:
        yield c


@pytest.fixture
def control(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["tasks"].control_url) as c:
        yield c


def emails(**extra: Any) -> dict[str, Any]:
    queue: dict[str, Any] = {
        "name": QUEUE,
        "rate_limits": {"max_dispatches_per_second": 5.0, "max_concurrent_dispatches": 10},
        "retry_config": {
            "max_attempts": 5,
            "max_retry_duration": {"seconds": 3600},
            "min_backoff": {"seconds": 1},
            "max_backoff": {"seconds": 300},
            "max_doublings": 4,
        },
    }
    return queue | extra


def refusal(call: Callable[[], object]) -> tuple[type[Exception], str, str]:
    """The exception class, Google's message and the canonical status of a refused call."""
    with pytest.raises(exceptions.GoogleAPICallError) as info:
        call()
    error = info.value.response.json()["error"]
    assert error["code"] == info.value.code
    return type(info.value), error["message"], error["status"]


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    return field_mask_pb2.FieldMask(paths=list(paths))


def test_the_sandbox_url_is_the_api_endpoint(sandbox: RunningSandbox) -> None:
    endpoint = sandbox.providers["tasks"]
    assert endpoint.url == f"http://127.0.0.1:{sandbox.ports['tasks']}"
    assert list(tasks_client(endpoint.url).list_queues(parent=PARENT)) == []


def test_create_get_and_defaults(api: tasks_v2.CloudTasksClient) -> None:
    queue = api.create_queue(parent=PARENT, queue=emails())
    assert queue.name == QUEUE and queue.state == tasks_v2.Queue.State.RUNNING
    limits = queue.rate_limits
    assert (limits.max_dispatches_per_second, limits.max_concurrent_dispatches) == (5.0, 10)
    assert limits.max_burst_size == 5
    retry = queue.retry_config
    assert (retry.max_attempts, retry.max_doublings) == (5, 4)
    assert retry.max_retry_duration.total_seconds() == 3600
    assert (retry.min_backoff.total_seconds(), retry.max_backoff.total_seconds()) == (1, 300)
    assert api.get_queue(name=QUEUE) == queue
    bare = api.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/bare"})
    assert (bare.rate_limits.max_dispatches_per_second, bare.rate_limits.max_burst_size) == (
        500,
        100,
    )
    assert bare.rate_limits.max_concurrent_dispatches == 1000
    retry = bare.retry_config
    assert (retry.max_attempts, retry.max_doublings) == (100, 16)
    assert retry.min_backoff.total_seconds() == 0.1 and retry.max_backoff.total_seconds() == 3600
    assert "purge_time" not in bare


def test_refusals(api: tasks_v2.CloudTasksClient) -> None:
    api.create_queue(parent=PARENT, queue=emails())
    assert refusal(lambda: api.create_queue(parent=PARENT, queue=emails())) == (
        exceptions.Conflict,
        "Requested entity already exists",
        "ALREADY_EXISTS",
    )
    missing = f"{PARENT}/queues/nope"
    not_found = (exceptions.NotFound, "Requested entity was not found.", "NOT_FOUND")
    for call in (
        api.get_queue,
        api.delete_queue,
        api.pause_queue,
        api.resume_queue,
        api.purge_queue,
    ):
        assert refusal(lambda call=call: call(name=missing)) == not_found
    bad_name = (
        exceptions.BadRequest,
        "Invalid resource field value in the request.",
        "INVALID_ARGUMENT",
    )
    for name in (
        f"{PARENT}/queues/under_score",
        f"{PARENT}/queues/" + "q" * 101,
        "projects/p1/queues/x",
    ):
        assert (
            refusal(lambda name=name: api.create_queue(parent=PARENT, queue={"name": name}))
            == bad_name
        )
    assert refusal(lambda: api.create_queue(parent=PARENT, queue={})) == bad_name


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rate_limits": {"max_dispatches_per_second": 501}}, "max_dispatches_per_second"),
        ({"rate_limits": {"max_dispatches_per_second": -1}}, "max_dispatches_per_second"),
        ({"rate_limits": {"max_concurrent_dispatches": 5001}}, "max_concurrent_dispatches"),
        ({"retry_config": {"max_attempts": -2}}, "max_attempts"),
        (
            {"retry_config": {"min_backoff": {"seconds": 10}, "max_backoff": {"seconds": 5}}},
            "min_backoff",
        ),
        ({"stackdriver_logging_config": {"sampling_ratio": 1.5}}, "sampling_ratio"),
    ],
)
def test_limits_are_enforced_on_create_and_patch(
    api: tasks_v2.CloudTasksClient, change: dict[str, Any], message: str
) -> None:
    kind, text, status = refusal(lambda: api.create_queue(parent=PARENT, queue=emails(**change)))
    assert (kind, status) == (exceptions.BadRequest, "INVALID_ARGUMENT") and message in text
    api.create_queue(parent=PARENT, queue=emails())
    update = lambda: api.update_queue(queue={"name": QUEUE, **change}, update_mask=mask(*change))  # noqa: E731
    assert refusal(update)[2] == "INVALID_ARGUMENT"
    assert api.get_queue(name=QUEUE).rate_limits.max_dispatches_per_second == 5.0


def test_patch_changes_only_the_masked_fields(api: tasks_v2.CloudTasksClient) -> None:
    api.create_queue(parent=PARENT, queue=emails())
    queue = api.update_queue(
        queue={
            "name": QUEUE,
            "rate_limits": {"max_dispatches_per_second": 50, "max_concurrent_dispatches": 1},
        },
        update_mask=mask("rate_limits.max_dispatches_per_second"),
    )
    assert queue.rate_limits.max_dispatches_per_second == 50
    assert (
        queue.rate_limits.max_concurrent_dispatches == 10 and queue.rate_limits.max_burst_size == 50
    )
    queue = api.update_queue(
        queue={
            "name": QUEUE,
            "retry_config": {"max_attempts": -1, "max_backoff": {"seconds": 600}},
        },
        update_mask=mask("retry_config.max_attempts", "retry_config.max_backoff"),
    )
    assert queue.retry_config.max_attempts == -1
    assert queue.retry_config.max_backoff.total_seconds() == 600
    assert queue.retry_config.min_backoff.total_seconds() == 1
    cleared = api.update_queue(queue={"name": QUEUE}, update_mask=mask("retry_config"))
    assert (cleared.retry_config.max_attempts, cleared.retry_config.max_doublings) == (100, 16)
    kind, _, status = refusal(
        lambda: api.update_queue(queue={"name": QUEUE}, update_mask=mask("state"))
    )
    assert (kind, status) == (exceptions.BadRequest, "INVALID_ARGUMENT")


def test_patch_creates_a_missing_queue(api: tasks_v2.CloudTasksClient) -> None:
    made = api.update_queue(
        queue={"name": QUEUE, "rate_limits": {"max_dispatches_per_second": 7}},
        update_mask=mask("rate_limits.max_dispatches_per_second"),
    )
    assert (
        made.state == tasks_v2.Queue.State.RUNNING
        and made.rate_limits.max_dispatches_per_second == 7
    )
    assert made.retry_config.max_attempts == 100
    assert api.get_queue(name=QUEUE) == made


def test_list_pages_and_filters_on_state(api: tasks_v2.CloudTasksClient) -> None:
    names = [f"{PARENT}/queues/q-{i}" for i in range(5)]
    for name in reversed(names):
        api.create_queue(parent=PARENT, queue={"name": name})
    api.pause_queue(name=names[1])
    api.pause_queue(name=names[3])
    pager = api.list_queues(request={"parent": PARENT, "page_size": 2})
    assert [[q.name for q in page.queues] for page in pager.pages] == [
        names[:2],
        names[2:4],
        names[4:],
    ]
    paused = api.list_queues(request={"parent": PARENT, "filter": "state: PAUSED"})
    assert [q.name for q in paused] == [names[1], names[3]]
    running = api.list_queues(request={"parent": PARENT, "filter": "state=RUNNING"})
    assert [q.name for q in running] == [names[0], names[2], names[4]]
    kind, _, status = refusal(
        lambda: list(api.list_queues(request={"parent": PARENT, "filter": "name:x"}))
    )
    assert (kind, status) == (exceptions.BadRequest, "INVALID_ARGUMENT")


def test_pause_resume_and_purge(api: tasks_v2.CloudTasksClient, clock: FakeClock) -> None:
    api.create_queue(parent=PARENT, queue=emails())
    assert api.pause_queue(name=QUEUE).state == tasks_v2.Queue.State.PAUSED
    task = api.create_task(parent=QUEUE, task={"http_request": {"url": "https://a.example/t"}})
    assert [t.name for t in api.list_tasks(parent=QUEUE)] == [
        task.name
    ]  # a paused queue takes tasks
    assert api.resume_queue(name=QUEUE).state == tasks_v2.Queue.State.RUNNING
    clock.advance(5)
    purged = api.purge_queue(name=QUEUE)
    assert purged.purge_time.timestamp() == NOW + 5
    assert list(api.list_tasks(parent=QUEUE)) == []


def test_a_deleted_queue_name_is_held_for_three_days(
    api: tasks_v2.CloudTasksClient, clock: FakeClock, control: httpx.Client
) -> None:
    api.create_queue(parent=PARENT, queue=emails())
    api.create_task(parent=QUEUE, task={"http_request": {"url": "https://a.example/t"}})
    api.delete_queue(name=QUEUE)
    assert refusal(lambda: api.get_queue(name=QUEUE))[0] is exceptions.NotFound
    held = (exceptions.BadRequest, TOO_RECENT, "FAILED_PRECONDITION")
    assert refusal(lambda: api.create_queue(parent=PARENT, queue=emails())) == held
    upsert = lambda: api.update_queue(queue={"name": QUEUE}, update_mask=mask("retry_config"))  # noqa: E731
    assert refusal(upsert) == held
    assert refusal(
        lambda: api.create_task(parent=QUEUE, task={"http_request": {"url": "https://a/t"}})
    ) == (
        exceptions.BadRequest,
        "The queue no longer exists, though a queue with this name existed recently.",
        "FAILED_PRECONDITION",
    )
    clock.advance(3 * DAY - 1)
    assert refusal(lambda: api.create_queue(parent=PARENT, queue=emails())) == held
    assert control.post("/tasks/clock", json={"advance": 1}).json()["offset_seconds"] == 1
    again = api.create_queue(parent=PARENT, queue=emails())
    assert again.name == QUEUE and list(api.list_tasks(parent=QUEUE)) == []
    # the window is a setting
    api.delete_queue(name=QUEUE)
    assert control.post("/tasks/settings", json={"queue_tombstone_seconds": 60}).status_code == 200
    assert refusal(lambda: api.create_queue(parent=PARENT, queue=emails())) == held
    assert control.post("/tasks/clock", json={"advance": 60}).status_code == 200
    assert api.create_queue(parent=PARENT, queue=emails()).name == QUEUE


def test_the_clock_control(control: httpx.Client, clock: FakeClock) -> None:
    assert control.get("/tasks/clock").json() == {
        "now": "2026-11-25T17:00:00Z",
        "offset_seconds": 0.0,
    }
    moved = control.post("/tasks/clock", json={"now": "2026-11-26T17:00:00Z"}).json()
    assert moved == {"now": "2026-11-26T17:00:00Z", "offset_seconds": DAY}
    assert control.post("/tasks/clock", json={"offset": 0}).json()["now"] == "2026-11-25T17:00:00Z"
    for bad in ({"advance": "x"}, {"now": "yesterday"}, {"jump": 1}, {}):
        assert control.post("/tasks/clock", json=bad).status_code == 400
    assert control.post("/tasks/settings", json={"dispatch": "yes"}).status_code == 400
    assert control.post("/tasks/settings", json={"colour": 1}).status_code == 400


def test_wire_enums_and_names(raw: httpx.Client) -> None:
    body = {"name": QUEUE, "rate_limits": {"max_dispatches_per_second": 2}}
    made = raw.post(f"/v2/{PARENT}/queues", json=body)
    assert made.status_code == 200, made.text
    assert made.json() == {
        "name": QUEUE,
        "rateLimits": {
            "maxDispatchesPerSecond": 2.0,
            "maxBurstSize": 2,
            "maxConcurrentDispatches": 1000,
        },
        "retryConfig": {
            "maxAttempts": 100,
            "minBackoff": "0.100s",
            "maxBackoff": "3600s",
            "maxDoublings": 16,
        },
        "state": "RUNNING",
    }
    params = {"$alt": "json;enum-encoding=int"}
    assert raw.post(f"/v2/{QUEUE}:pause", params=params, json={}).json()["state"] == 2
    assert raw.get(f"/v2/{QUEUE}").json()["state"] == "PAUSED"
    unknown = raw.post(f"/v2/{PARENT}/queues", json={"name": f"{PARENT}/queues/x", "size": 1})
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"].startswith(
        'Invalid JSON payload received. Unknown name "size"'
    )
    assert (
        raw.get(f"/v2/{PARENT}/queues", params={"filter": "state:PAUSED"}).json()["queues"][0][
            "name"
        ]
        == QUEUE
    )
    assert raw.delete(f"/v2/{QUEUE}").json() == {}


def test_faults(api: tasks_v2.CloudTasksClient, control: httpx.Client) -> None:
    api.create_queue(parent=PARENT, queue=emails())
    control.post("/faults", json={"method": "GET", "path": "/queues/emails$", "status": 503})
    assert api.get_queue(name=QUEUE).name == QUEUE  # GetQueue retries UNAVAILABLE
    control.post("/faults", json={"method": "POST", "path": ":pause$", "status": 503})
    assert refusal(lambda: api.pause_queue(name=QUEUE))[0] is exceptions.ServiceUnavailable
    control.post("/faults", json={"method": "POST", "path": "/queues$", "status": 429})
    kind, message, status = refusal(
        lambda: api.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/b"})
    )
    assert issubclass(kind, exceptions.TooManyRequests) and status == "RESOURCE_EXHAUSTED"
    assert message == "Resource has been exhausted (e.g. check quota)."


def test_queues_tombstones_and_settings_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    state = tmp_path / "sb"
    with start_in_thread(state, names=["tasks"], clock=clock) as first:
        api = tasks_client(first.providers["tasks"].url)
        api.create_queue(parent=PARENT, queue=emails())
        api.pause_queue(name=QUEUE)
        api.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/gone"})
        api.delete_queue(name=f"{PARENT}/queues/gone")
        with http_client(first.providers["tasks"].control_url) as control:
            control.post("/tasks/clock", json={"advance": DAY})
    saved = json.loads((state / "tasks.json").read_text())
    assert QUEUE in saved["queues"] and saved["settings"]["clock_offset"] == DAY
    with start_in_thread(state, names=["tasks"], clock=clock) as second:
        api = tasks_client(second.providers["tasks"].url)
        assert api.get_queue(name=QUEUE).state == tasks_v2.Queue.State.PAUSED
        gone = lambda: api.create_queue(parent=PARENT, queue={"name": f"{PARENT}/queues/gone"})  # noqa: E731
        assert refusal(gone)[1] == TOO_RECENT
        with http_client(second.providers["tasks"].control_url) as control:
            assert control.get("/tasks/clock").json()["now"] == "2026-11-26T17:00:00Z"
