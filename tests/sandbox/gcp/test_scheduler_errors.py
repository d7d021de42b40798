"""Cloud Scheduler emulator: refusals, injected faults, persistence and dispatch.

Every refusal is checked through the GAPIC REST client: the exception class
google-api-core picks (from the HTTP status alone: ``Conflict``, ``BadRequest``,
``NotFound``, ``Forbidden``, ``TooManyRequests`` -- never the gRPC-named
subclasses, exactly as against Google), the message, and the canonical
``status`` in the body. Faults come from ``/_sandbox/faults``; ``:run`` with
``dispatch`` on really sends the job's request to a loopback target.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import scheduler_v1
from google.protobuf import field_mask_pb2

from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import client as http_client

PARENT = "projects/p1/locations/northamerica-northeast1"
NAME = f"{PARENT}/jobs/nightly"
NAME_FORMAT = (
    'Job name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>".'
)


def scheduler_client(url: str) -> scheduler_v1.CloudSchedulerClient:
    return scheduler_v1.CloudSchedulerClient(
        credentials=AnonymousCredentials(), transport="rest", client_options={"api_endpoint": url}
    )


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningSandbox]:
    with start_in_thread(tmp_path / "sb", names=["scheduler"]) as sb:
        yield sb


@pytest.fixture
def api(running: RunningSandbox) -> scheduler_v1.CloudSchedulerClient:
    return scheduler_client(running.providers["scheduler"].url)


@pytest.fixture
def raw(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["scheduler"].url) as c:
        yield c


@pytest.fixture
def control(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["scheduler"].control_url) as c:
        yield c


def job(**extra: Any) -> dict[str, Any]:
    return {
        "name": NAME,
        "schedule": "0 3 * * *",
        "http_target": {"uri": "https://a.example/cron"},
    } | extra


def refusal(call: Callable[[], object]) -> tuple[type[Exception], str, str]:
    """The exception class, Google's message and the canonical status of a refused call."""
    with pytest.raises(exceptions.GoogleAPICallError) as info:
        call()
    error = info.value.response.json()["error"]
    assert error["code"] == info.value.code
    assert info.value.message.endswith(": " + error["message"])
    return type(info.value), error["message"], error["status"]


SCHEDULE_INVALID = (exceptions.BadRequest, "Schedule or time zone is invalid.", "INVALID_ARGUMENT")


@pytest.mark.parametrize(
    "bad",
    [
        {"schedule": "0 3 * *"},
        {"schedule": "0 0 3 * * *"},
        {"schedule": "@daily"},
        {"schedule": "0 3 L * *"},
        {"schedule": "61 3 * * *"},
        {"schedule": "every 5 minutes"},
        {"schedule": ""},
        {"time_zone": "Mars/Olympus_Mons"},
    ],
)
def test_bad_schedules_and_time_zones(
    api: scheduler_v1.CloudSchedulerClient, bad: dict[str, str]
) -> None:
    assert refusal(lambda: api.create_job(parent=PARENT, job=job(**bad))) == SCHEDULE_INVALID


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"http_target": None}, "A job needs a target"),
        ({"name": f"{PARENT}/jobs/bad id"}, NAME_FORMAT),
        ({"name": f"{PARENT}/jobs/" + "x" * 501}, NAME_FORMAT),
        ({"name": "projects/p1/locations/us-east1/jobs/elsewhere"}, NAME_FORMAT),
        ({"attempt_deadline": {"seconds": 14}}, "between 15 seconds and 30 minutes"),
        ({"attempt_deadline": {"seconds": 1801}}, "between 15 seconds and 30 minutes"),
        ({"retry_config": {"retry_count": 6}}, "retry_count must be between 0 and 5"),
        ({"description": "d" * 501}, "at most 500 characters"),
        ({"http_target": {"uri": "ftp://a.example/x"}}, "must start with http:// or https://"),
        (
            {"http_target": {"uri": "https://a/x", "http_method": 2, "body": b"x"}},
            "only allowed for POST, PUT and PATCH",
        ),
    ],
)
def test_invalid_jobs_are_refused(
    api: scheduler_v1.CloudSchedulerClient, bad: dict[str, Any], message: str
) -> None:
    body = {k: v for k, v in job(**bad).items() if v is not None}
    kind, text, status = refusal(lambda: api.create_job(parent=PARENT, job=body))
    assert (kind, status) == (exceptions.BadRequest, "INVALID_ARGUMENT")
    assert message in text


def test_conflicts_and_missing_jobs(api: scheduler_v1.CloudSchedulerClient) -> None:
    api.create_job(parent=PARENT, job=job())
    assert refusal(lambda: api.create_job(parent=PARENT, job=job())) == (
        exceptions.Conflict,
        f"Job {NAME} already exists.",
        "ALREADY_EXISTS",
    )
    missing = f"{PARENT}/jobs/nope"
    not_found = (exceptions.NotFound, "Job not found.", "NOT_FOUND")
    assert refusal(lambda: api.get_job(name=missing)) == not_found
    assert refusal(lambda: api.delete_job(name=missing)) == not_found
    assert refusal(lambda: api.pause_job(name=missing)) == not_found
    assert refusal(lambda: api.run_job(name=missing)) == not_found
    mask = field_mask_pb2.FieldMask(paths=["schedule"])
    assert refusal(lambda: api.update_job(job={"name": missing}, update_mask=mask)) == not_found
    bad_mask = field_mask_pb2.FieldMask(paths=["state"])
    kind, _, status = refusal(lambda: api.update_job(job={"name": NAME}, update_mask=bad_mask))
    assert (kind, status) == (exceptions.BadRequest, "INVALID_ARGUMENT")
    bad_cron = field_mask_pb2.FieldMask(paths=["schedule"])
    update = lambda: api.update_job(job={"name": NAME, "schedule": "nope"}, update_mask=bad_cron)  # noqa: E731
    assert refusal(update) == SCHEDULE_INVALID
    assert api.get_job(name=NAME).schedule == "0 3 * * *"


def test_the_wire_is_checked_as_google_checks_it(raw: httpx.Client) -> None:
    def error(resp: httpx.Response) -> tuple[int, str, str]:
        body = resp.json()["error"]
        return resp.status_code, body["status"], body["message"]

    url = f"/v1/{PARENT}/jobs"
    base = {"name": NAME, "schedule": "0 3 * * *", "httpTarget": {"uri": "https://a/x"}}
    assert error(raw.post(url, json={**base, "colour": "red"})) == (
        400,
        "INVALID_ARGUMENT",
        "Invalid JSON payload received. Unknown name \"colour\" at 'job': Cannot find field.",
    )
    assert error(raw.post(url, json={**base, "retryConfig": {"retryCount": "x"}})) == (
        400,
        "INVALID_ARGUMENT",
        "Invalid value at 'job.retry_config.retry_count' (TYPE_INT32), \"x\"",
    )
    wrong_enum = {**base, "httpTarget": {"uri": "https://a/x", "httpMethod": "FETCH"}}
    assert "google.cloud.scheduler.v1.HttpMethod" in error(raw.post(url, json=wrong_enum))[2]
    both = {"uri": "https://a/x", "oidcToken": {}, "oauthToken": {}}
    assert (
        "Oneof field 'authorization_header'"
        in error(raw.post(url, json={**base, "httpTarget": both}))[2]
    )
    assert error(raw.get(url, params={"colour": "red"}))[0:2] == (400, "INVALID_ARGUMENT")
    assert error(raw.get(url, params={"pageToken": "garbage"}))[0:2] == (400, "INVALID_ARGUMENT")
    assert error(raw.get("/v1/nowhere"))[0:2] == (404, "NOT_FOUND")
    made = raw.post(
        url, json={**base, "state": "PAUSED", "httpTarget": {"uri": "https://a/x", "httpMethod": 1}}
    )
    assert made.json()["state"] == "ENABLED"  # output-only fields are ignored on input
    assert made.json()["httpTarget"]["httpMethod"] == "POST"
    assert error(raw.post(f"/v1/{NAME}:pause", json={"force": True}))[0] == 400


def test_faults_answer_in_googles_shape(
    api: scheduler_v1.CloudSchedulerClient, control: httpx.Client
) -> None:
    api.create_job(parent=PARENT, job=job())
    control.delete("/requests")
    # GET is retried by the client's default policy on 503 (UNAVAILABLE): the caller never sees it
    control.post("/faults", json={"method": "GET", "path": "/jobs/nightly$", "status": 503})
    assert api.get_job(name=NAME).name == NAME
    counted = control.get("/requests").json()["by_route"]
    assert counted["GET /v1/projects/{project}/locations/{location}/jobs/{job}"] == 2
    # CreateJob has no retry policy: the 503 surfaces
    control.post("/faults", json={"method": "POST", "path": "/jobs$", "status": 503})
    assert refusal(lambda: api.create_job(parent=PARENT, job=job(name=f"{PARENT}/jobs/two"))) == (
        exceptions.ServiceUnavailable,
        "The service is currently unavailable.",
        "UNAVAILABLE",
    )
    # 429 is RESOURCE_EXHAUSTED, seen by google-api-core as TooManyRequests (not retried)
    control.post("/faults", json={"path": "/jobs/nightly$", "status": 429})
    kind, message, status = refusal(lambda: api.get_job(name=NAME))
    assert issubclass(kind, exceptions.TooManyRequests) and status == "RESOURCE_EXHAUSTED"
    assert message == "Resource has been exhausted (e.g. check quota)."
    denied = {
        "error": {
            "code": 403,
            "message": "Permission denied on job.",
            "status": "PERMISSION_DENIED",
        }
    }
    control.post("/faults", json={"path": "/jobs/nightly$", "status": 403, "body": denied})
    assert refusal(lambda: api.get_job(name=NAME)) == (
        exceptions.Forbidden,
        "Permission denied on job.",
        "PERMISSION_DENIED",
    )
    assert api.get_job(name=NAME).name == NAME


def test_jobs_and_settings_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    with start_in_thread(state, names=["scheduler"]) as first:
        api = scheduler_client(first.providers["scheduler"].url)
        api.create_job(parent=PARENT, job=job(description="kept"))
        api.pause_job(name=NAME)
        with http_client(first.providers["scheduler"].control_url) as control:
            assert control.post("/scheduler/settings", json={"dispatch": True}).status_code == 200
    saved = json.loads((state / "scheduler.json").read_text())
    assert NAME in saved["jobs"] and saved["settings"]["dispatch"] is True
    with start_in_thread(state, names=["scheduler"]) as second:
        again = scheduler_client(second.providers["scheduler"].url).get_job(name=NAME)
        assert (again.description, again.state) == ("kept", scheduler_v1.Job.State.PAUSED)
        with http_client(second.providers["scheduler"].control_url) as control:
            assert control.get("/scheduler/settings").json()["dispatch"] is True
            control.post("/reset")
        assert (
            list(scheduler_client(second.providers["scheduler"].url).list_jobs(parent=PARENT)) == []
        )


class Target:
    """A loopback HTTP server recording what it receives; answers ``status``."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.status = 200
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                owner.received.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": self.rfile.read(length),
                    }
                )
                self.send_response(owner.status)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

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


def wait_for_runs(control: httpx.Client, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        runs: list[dict[str, Any]] = control.get("/scheduler/runs").json()["runs"]
        if len([r for r in runs if r["dispatched"]]) >= count:
            return runs
        time.sleep(0.01)
    raise AssertionError("the run was not dispatched")


def test_run_dispatches_the_http_target_when_switched_on(
    api: scheduler_v1.CloudSchedulerClient, control: httpx.Client
) -> None:
    assert control.post("/scheduler/settings", json={"dispatch": True}).json()["dispatch"] is True
    with Target() as target:
        target_job = {
            "uri": target.url + "/cron/nightly?x=1",
            "http_method": scheduler_v1.HttpMethod.PUT,
            "headers": {"X-A": "b", "Content-Type": "application/json", "User-Agent": "mine"},
            "body": b'{"a":1}',
            "oidc_token": {
                "service_account_email": "sa@p1.iam.gserviceaccount.com",
                "audience": "aud-1",
            },
        }
        api.create_job(parent=PARENT, job=job(http_target=target_job))
        api.run_job(name=NAME)
        [run] = wait_for_runs(control, 1)
        [seen] = target.received
        assert (seen["method"], seen["path"], seen["body"]) == (
            "PUT",
            "/cron/nightly?x=1",
            b'{"a":1}',
        )
        headers = seen["headers"]
        assert headers["user-agent"] == "Google-Cloud-Scheduler"
        assert (headers["x-a"], headers["content-type"]) == ("b", "application/json")
        assert (headers["x-cloudscheduler"], headers["x-cloudscheduler-jobname"]) == (
            "true",
            "nightly",
        )
        assert "x-cloudscheduler-scheduletime" in headers
        scheme, token = headers["authorization"].split(" ")
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert scheme == "Bearer" and claims["aud"] == "aud-1"
        assert claims["email"] == "sa@p1.iam.gserviceaccount.com"
        assert run["response"]["status"] == 200
        assert "status" not in api.get_job(name=NAME) or api.get_job(name=NAME).status.code == 0
        target.status = 404
        api.run_job(name=NAME)
        wait_for_runs(control, 2)
        assert api.get_job(name=NAME).status.code == 5  # NOT_FOUND
