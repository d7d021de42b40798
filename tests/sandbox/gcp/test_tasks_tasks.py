"""Cloud Tasks emulator: tasks through google-cloud-tasks (REST), and their delivery.

Create (named or not, scheduled or not), get and list in both views, delete,
``:run``; the name de-duplication Google applies (in use, then held for an hour
after a delete); the checks on a task; and, with ``dispatch`` on, delivery to a
loopback target with Google's headers, retries after the queue's backoff (the
emulator clock is moved instead of waiting), completion on a 2xx and giving up
after ``maxAttempts``.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import tasks_v2

from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import FakeClock
from ..helpers import client as http_client

PARENT = "projects/p1/locations/northamerica-northeast1"
QUEUE = f"{PARENT}/queues/emails"
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC).timestamp()
HTTP = {"url": "https://app.example.com/tasks/send", "body": b'{"to":"a@b.c"}'}


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
    client = tasks_client(running.providers["tasks"].url)
    client.create_queue(
        parent=PARENT,
        queue={
            "name": QUEUE,
            "retry_config": {
                "max_attempts": 3,
                "min_backoff": {"seconds": 10},
                "max_backoff": {"seconds": 300},
            },
        },
    )
    return client


@pytest.fixture
def raw(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["tasks"].url) as c:
        yield c


@pytest.fixture
def control(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["tasks"].control_url) as c:
        yield c


def refusal(call: Callable[[], object]) -> tuple[type[Exception], str, str]:
    with pytest.raises(exceptions.GoogleAPICallError) as info:
        call()
    error = info.value.response.json()["error"]
    assert error["code"] == info.value.code
    return type(info.value), error["message"], error["status"]


def test_create_get_list_delete(api: tasks_v2.CloudTasksClient) -> None:
    made = api.create_task(
        parent=QUEUE,
        task={
            "http_request": {**HTTP, "headers": {"Content-Type": "application/json"}},
            "dispatch_deadline": {"seconds": 60},
        },
    )
    assert made.name.startswith(QUEUE + "/tasks/")
    assert made.view == tasks_v2.Task.View.BASIC and made.http_request.body == b""
    assert made.http_request.http_method == tasks_v2.HttpMethod.POST
    assert made.schedule_time.timestamp() == NOW and made.create_time.timestamp() == NOW
    assert made.dispatch_deadline.total_seconds() == 60
    assert (made.dispatch_count, made.response_count) == (0, 0)
    full = api.get_task(request={"name": made.name, "response_view": tasks_v2.Task.View.FULL})
    assert full.view == tasks_v2.Task.View.FULL and full.http_request.body == HTTP["body"]
    assert dict(full.http_request.headers) == {"Content-Type": "application/json"}
    assert api.get_task(name=made.name).http_request.body == b""
    listed = api.list_tasks(request={"parent": QUEUE, "response_view": tasks_v2.Task.View.FULL})
    assert [(t.name, t.http_request.body) for t in listed] == [(made.name, HTTP["body"])]
    api.delete_task(name=made.name)
    assert list(api.list_tasks(parent=QUEUE)) == []
    gone = refusal(lambda: api.get_task(name=made.name))
    assert gone[0] is exceptions.NotFound
    assert gone[1].startswith(
        "The task no longer exists, though a task with this name existed recently."
    )
    never = refusal(lambda: api.get_task(name=f"{QUEUE}/tasks/never"))
    assert never == (exceptions.NotFound, "Requested entity was not found.", "NOT_FOUND")
    assert refusal(lambda: api.delete_task(name=f"{QUEUE}/tasks/never"))[0] is exceptions.NotFound


def test_default_deadline_and_future_schedule(api: tasks_v2.CloudTasksClient) -> None:
    later = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    made = api.create_task(
        parent=QUEUE, task={"http_request": {"url": "http://a/x"}, "schedule_time": later}
    )
    assert made.schedule_time == later and made.dispatch_deadline.total_seconds() == 600
    past = api.create_task(
        parent=QUEUE,
        task={
            "http_request": {"url": "http://a/x"},
            "schedule_time": datetime(2020, 1, 1, tzinfo=UTC),
        },
    )
    assert past.schedule_time.timestamp() == NOW


def test_list_tasks_pages(api: tasks_v2.CloudTasksClient) -> None:
    names = [f"{QUEUE}/tasks/t-{i}" for i in range(5)]
    for name in names:
        api.create_task(parent=QUEUE, task={"name": name, "http_request": {"url": "http://a/x"}})
    pager = api.list_tasks(request={"parent": QUEUE, "page_size": 2})
    assert [[t.name for t in page.tasks] for page in pager.pages] == [
        names[:2],
        names[2:4],
        names[4:],
    ]


def test_names_are_deduplicated_for_an_hour(
    api: tasks_v2.CloudTasksClient, clock: FakeClock, control: httpx.Client
) -> None:
    task = {"name": f"{QUEUE}/tasks/remind-1", "http_request": {"url": "http://a/x"}}
    api.create_task(parent=QUEUE, task=task)
    assert refusal(lambda: api.create_task(parent=QUEUE, task=task)) == (
        exceptions.Conflict,
        "Requested entity already exists",
        "ALREADY_EXISTS",
    )
    api.delete_task(name=task["name"])
    too_recent = (
        exceptions.Conflict,
        "The task cannot be created because a task with this name existed too recently.",
        "ALREADY_EXISTS",
    )
    assert refusal(lambda: api.create_task(parent=QUEUE, task=task)) == too_recent
    clock.advance(3599)
    assert refusal(lambda: api.create_task(parent=QUEUE, task=task)) == too_recent
    clock.advance(1)
    assert api.create_task(parent=QUEUE, task=task).name == task["name"]
    control.post("/tasks/settings", json={"task_tombstone_seconds": 0})
    api.delete_task(name=task["name"])
    assert api.create_task(parent=QUEUE, task=task).name == task["name"]


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"http_request": {"url": "ftp://a/x"}}, "must start with http:// or https://"),
        ({"http_request": {"url": ""}}, "HttpRequest.url is required."),
        (
            {"http_request": {"url": "http://a/x", "http_method": 2, "body": b"x"}},
            "only allowed for POST",
        ),
        ({}, "must be set"),
        (
            {"http_request": {"url": "http://a/x"}, "dispatch_deadline": {"seconds": 10}},
            "dispatch_deadline",
        ),
        (
            {"http_request": {"url": "http://a/x"}, "dispatch_deadline": {"seconds": 1801}},
            "dispatch_deadline",
        ),
        (
            {
                "http_request": {"url": "http://a/x"},
                "schedule_time": datetime(2027, 1, 1, tzinfo=UTC),
            },
            "30 days",
        ),
        (
            {"name": f"{QUEUE}/tasks/bad name", "http_request": {"url": "http://a/x"}},
            "Invalid resource field",
        ),
        (
            {"name": f"{PARENT}/queues/other/tasks/t", "http_request": {"url": "http://a/x"}},
            "Invalid resource",
        ),
    ],
)
def test_invalid_tasks_are_refused(
    api: tasks_v2.CloudTasksClient, task: dict[str, Any], message: str
) -> None:
    kind, text, status = refusal(lambda: api.create_task(parent=QUEUE, task=task))
    assert (kind, status) == (exceptions.BadRequest, "INVALID_ARGUMENT") and message in text


def test_tasks_need_an_existing_queue(api: tasks_v2.CloudTasksClient) -> None:
    nowhere = f"{PARENT}/queues/nowhere"
    expected = (exceptions.BadRequest, "Queue does not exist.", "FAILED_PRECONDITION")
    assert (
        refusal(
            lambda: api.create_task(parent=nowhere, task={"http_request": {"url": "http://a/x"}})
        )
        == expected
    )
    assert refusal(lambda: list(api.list_tasks(parent=nowhere))) == expected


def test_run_without_dispatch_counts_as_delivered(
    api: tasks_v2.CloudTasksClient, control: httpx.Client
) -> None:
    made = api.create_task(parent=QUEUE, task={"http_request": HTTP})
    ran = api.run_task(request={"name": made.name, "response_view": tasks_v2.Task.View.FULL})
    assert (ran.dispatch_count, ran.response_count) == (1, 1)
    assert ran.http_request.body == HTTP["body"]
    assert ran.first_attempt.dispatch_time.timestamp() == NOW
    assert ran.last_attempt.response_time.timestamp() == NOW
    assert list(api.list_tasks(parent=QUEUE)) == []
    assert control.get("/tasks/attempts").json()["attempts"] == [
        {"task": made.name, "at": "2026-11-25T17:00:00Z", "dispatched": False}
    ]


def test_wire_shapes(api: tasks_v2.CloudTasksClient, raw: httpx.Client) -> None:
    body = {
        "task": {"httpRequest": {"url": "http://a/x", "httpMethod": "PUT", "body": "e30="}},
        "responseView": "FULL",
    }
    made = raw.post(f"/v2/{QUEUE}/tasks", json=body)
    assert made.status_code == 200, made.text
    task = made.json()
    assert task["view"] == "FULL" and task["httpRequest"] == {
        "url": "http://a/x",
        "httpMethod": "PUT",
        "body": "e30=",
    }
    assert task["createTime"] == task["scheduleTime"] == "2026-11-25T17:00:00Z"
    assert task["dispatchDeadline"] == "600s" and "dispatchCount" not in task
    params = {"$alt": "json;enum-encoding=int", "responseView": "2"}
    numbered = raw.get(f"/v2/{task['name']}", params=params).json()
    assert (numbered["view"], numbered["httpRequest"]["httpMethod"]) == (2, 4)
    named = raw.get(f"/v2/{task['name']}", params={"response_view": "BASIC"}).json()
    assert named["view"] == "BASIC" and "body" not in named["httpRequest"]
    unknown = raw.post(f"/v2/{QUEUE}/tasks", json={"task": {"httpRequest": {"uri": "http://a/x"}}})
    assert unknown.status_code == 400 and 'Unknown name "uri"' in unknown.json()["error"]["message"]


class Target:
    """A loopback HTTP server recording what it receives; answers the next of ``statuses``."""

    def __init__(self, *statuses: int) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses = list(statuses) or [200]
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                owner.received.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length),
                    }
                )
                status = owner.statuses.pop(0) if len(owner.statuses) > 1 else owner.statuses[0]
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    def __enter__(self) -> Target:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(control: httpx.Client, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        attempts: list[dict[str, Any]] = control.get("/tasks/attempts").json()["attempts"]
        if len(attempts) >= count:
            return attempts
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} delivery attempts")


def test_dispatch_delivers_retries_and_completes(
    api: tasks_v2.CloudTasksClient, control: httpx.Client
) -> None:
    with Target(503, 500, 200) as target:
        assert control.post("/tasks/settings", json={"dispatch": True}).json()["dispatch"] is True
        made = api.create_task(
            parent=QUEUE,
            task={
                "name": f"{QUEUE}/tasks/send-1",
                "http_request": {
                    "url": target.url + "/tasks/send",
                    "body": b"hello",
                    "headers": {"Content-Type": "text/plain", "User-Agent": "mine"},
                    "oidc_token": {"service_account_email": "sa@p1.iam.gserviceaccount.com"},
                },
            },
        )
        [first] = wait_for(control, 1)
        assert first["response"]["status"] == 503
        seen = target.received[0]
        assert (seen["path"], seen["body"]) == ("/tasks/send", b"hello")
        headers = seen["headers"]
        assert (
            headers["user-agent"] == "Google-Cloud-Tasks"
            and headers["content-type"] == "text/plain"
        )
        assert (headers["x-cloudtasks-queuename"], headers["x-cloudtasks-taskname"]) == (
            "emails",
            "send-1",
        )
        assert headers["x-cloudtasks-taskretrycount"] == "0"
        claims = json.loads(base64.urlsafe_b64decode(headers["authorization"].split(".")[1] + "=="))
        assert claims["aud"] == target.url + "/tasks/send"
        waiting = api.get_task(name=made.name)
        assert (waiting.dispatch_count, waiting.response_count) == (1, 1)
        assert waiting.last_attempt.response_status.code == 14  # UNAVAILABLE
        assert waiting.schedule_time.timestamp() == NOW + 10  # min_backoff
        time.sleep(0.1)
        assert len(target.received) == 1  # not before the emulator clock reaches the retry
        control.post("/tasks/clock", json={"advance": 10})
        wait_for(control, 2)
        again = api.get_task(name=made.name)
        assert again.schedule_time.timestamp() == NOW + 10 + 20  # doubled
        assert target.received[1]["headers"]["x-cloudtasks-taskretrycount"] == "1"
        assert target.received[1]["headers"]["x-cloudtasks-taskpreviousresponse"] == "503"
        control.post("/tasks/clock", json={"advance": 20})
        wait_for(control, 3)
        assert refusal(lambda: api.get_task(name=made.name))[0] is exceptions.NotFound  # completed


def test_dispatch_gives_up_after_max_attempts_and_respects_pause(
    api: tasks_v2.CloudTasksClient, control: httpx.Client
) -> None:
    with Target(500) as target:
        api.pause_queue(name=QUEUE)
        control.post("/tasks/settings", json={"dispatch": True})
        made = api.create_task(parent=QUEUE, task={"http_request": {"url": target.url + "/t"}})
        time.sleep(0.1)
        assert target.received == []  # paused: nothing leaves
        api.run_task(name=made.name)  # :run delivers even from a paused queue
        wait_for(control, 1)
        api.resume_queue(name=QUEUE)
        for attempt in (2, 3):
            control.post("/tasks/clock", json={"advance": 300})
            wait_for(control, attempt)
        deadline = time.monotonic() + 5
        while list(api.list_tasks(parent=QUEUE)) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert list(api.list_tasks(parent=QUEUE)) == []  # dropped after max_attempts=3
        assert len(target.received) == 3
