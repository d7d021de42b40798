"""Cloud Scheduler emulator: the job lifecycle through google-cloud-scheduler (REST).

The driver talks to Cloud Scheduler through the GAPIC client's REST transport,
so that is what drives the emulator here: create with what Google fills in,
get, list page by page, patch with a mask, pause, resume, run, delete; the
next fire time computed in the job's time zone; and, with raw HTTP, the wire
shapes (enums as numbers when ``enum-encoding=int`` was asked, names otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import scheduler_v1
from google.protobuf import field_mask_pb2

from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import FakeClock
from ..helpers import client as http_client

PARENT = "projects/p1/locations/northamerica-northeast1"
NAME = f"{PARENT}/jobs/nightly"
INT_ENUMS = {"$alt": "json;enum-encoding=int"}
#: 2026-11-25T17:00:00Z, a Wednesday; America/Toronto is UTC-5 then
NOW = datetime(2026, 11, 25, 17, 0, tzinfo=UTC).timestamp()


def scheduler_client(url: str) -> scheduler_v1.CloudSchedulerClient:
    return scheduler_v1.CloudSchedulerClient(
        credentials=AnonymousCredentials(),
        transport="rest",
        client_options={"api_endpoint": url},
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def running(tmp_path: Path, clock: FakeClock) -> Iterator[RunningSandbox]:
    with start_in_thread(tmp_path / "sb", names=["scheduler"], clock=clock) as sb:
        yield sb


@pytest.fixture
def api(running: RunningSandbox) -> scheduler_v1.CloudSchedulerClient:
    return scheduler_client(running.providers["scheduler"].url)


@pytest.fixture
def raw(running: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(running.providers["scheduler"].url) as c:
        yield c


def nightly(**extra: Any) -> dict[str, Any]:
    job: dict[str, Any] = {
        "name": NAME,
        "description": "nightly backup",
        "schedule": "0 3 * * *",
        "time_zone": "America/Toronto",
        "http_target": {
            "uri": "https://app.example.com/cron",
            "http_method": scheduler_v1.HttpMethod.POST,
            "headers": {"X-A": "b"},
            "body": b'{"a":1}',
            "oidc_token": {
                "service_account_email": "sa@p1.iam.gserviceaccount.com",
                "audience": "https://app.example.com",
            },
        },
        "retry_config": {"retry_count": 3, "max_backoff_duration": {"seconds": 60}},
        "attempt_deadline": {"seconds": 180},
    }
    job.update(extra)
    return job


def test_the_sandbox_url_is_the_api_endpoint(sandbox: RunningSandbox) -> None:
    endpoint = sandbox.providers["scheduler"]
    assert endpoint.url == f"http://127.0.0.1:{sandbox.ports['scheduler']}"
    assert endpoint.control_url == endpoint.url + "/_sandbox"
    assert list(scheduler_client(endpoint.url).list_jobs(parent=PARENT)) == []


def test_create_fills_in_what_google_adds(api: scheduler_v1.CloudSchedulerClient) -> None:
    job = api.create_job(parent=PARENT, job=nightly())
    assert job.name == NAME
    assert job.state == scheduler_v1.Job.State.ENABLED
    assert job.user_update_time.timestamp() == NOW
    # 03:00 in Toronto (UTC-5 in November) on the next day
    assert job.schedule_time == datetime(2026, 11, 26, 8, 0, tzinfo=UTC)
    target = job.http_target
    assert target.http_method == scheduler_v1.HttpMethod.POST
    assert target.body == b'{"a":1}'
    assert dict(target.headers) == {
        "X-A": "b",
        "User-Agent": "Google-Cloud-Scheduler",
        "Content-Type": "application/octet-stream",
    }
    assert target.oidc_token.audience == "https://app.example.com"
    retry = job.retry_config
    assert retry.retry_count == 3
    assert retry.min_backoff_duration.total_seconds() == 5
    assert retry.max_backoff_duration.total_seconds() == 60
    assert retry.max_doublings == 5
    assert job.attempt_deadline.total_seconds() == 180
    assert api.get_job(name=NAME) == job


def test_minimal_job_gets_the_documented_defaults(api: scheduler_v1.CloudSchedulerClient) -> None:
    job = api.create_job(
        parent=PARENT,
        job={
            "name": f"{PARENT}/jobs/min",
            "schedule": "*/5 * * * *",
            "http_target": {"uri": "http://x/"},
        },
    )
    assert job.time_zone == "Etc/UTC"
    assert job.attempt_deadline.total_seconds() == 180
    assert job.http_target.http_method == scheduler_v1.HttpMethod.POST
    assert dict(job.http_target.headers) == {"User-Agent": "Google-Cloud-Scheduler"}
    retry = job.retry_config
    assert (retry.retry_count, retry.max_retry_duration.total_seconds()) == (0, 0)
    assert retry.min_backoff_duration.total_seconds() == 5
    assert retry.max_backoff_duration.total_seconds() == 3600
    assert retry.max_doublings == 5
    assert job.schedule_time == datetime(2026, 11, 25, 17, 5, tzinfo=UTC)


def test_a_job_without_a_name_gets_one(api: scheduler_v1.CloudSchedulerClient) -> None:
    job = api.create_job(
        parent=PARENT, job={"schedule": "0 * * * *", "http_target": {"uri": "http://x/"}}
    )
    assert job.name.startswith(PARENT + "/jobs/") and len(job.name) > len(PARENT) + 6


def test_list_pages_through_every_job(api: scheduler_v1.CloudSchedulerClient) -> None:
    names = [f"{PARENT}/jobs/job-{i}" for i in range(5)]
    for name in reversed(names):
        api.create_job(parent=PARENT, job=nightly(name=name))
    other = "projects/p1/locations/northamerica-northeast2"
    api.create_job(parent=other, job=nightly(name=f"{other}/jobs/elsewhere"))
    pager = api.list_jobs(request={"parent": PARENT, "page_size": 2})
    pages = [[job.name for job in page.jobs] for page in pager.pages]
    assert pages == [names[:2], names[2:4], names[4:]]
    assert [j.name for j in api.list_jobs(parent=other)] == [f"{other}/jobs/elsewhere"]


def test_patch_changes_only_the_masked_fields(api: scheduler_v1.CloudSchedulerClient) -> None:
    api.create_job(parent=PARENT, job=nightly())
    job = api.update_job(
        job={"name": NAME, "schedule": "30 4 * * 1", "description": "ignored", "time_zone": "UTC"},
        update_mask=field_mask_pb2.FieldMask(paths=["schedule", "time_zone"]),
    )
    assert (job.schedule, job.time_zone, job.description) == ("30 4 * * 1", "UTC", "nightly backup")
    assert job.schedule_time == datetime(2026, 11, 30, 4, 30, tzinfo=UTC)  # next Monday
    job = api.update_job(
        job={"name": NAME, "http_target": {"uri": "https://app.example.com/v2"}},
        update_mask=field_mask_pb2.FieldMask(paths=["http_target.uri"]),
    )
    assert job.http_target.uri == "https://app.example.com/v2"
    assert job.http_target.body == b'{"a":1}' and job.http_target.oidc_token.audience
    job = api.update_job(
        job={"name": NAME},
        update_mask=field_mask_pb2.FieldMask(paths=["description", "retry_config"]),
    )
    assert job.description == ""
    assert job.retry_config.retry_count == 0 and job.retry_config.max_doublings == 5


def test_pause_resume_run_and_delete(
    api: scheduler_v1.CloudSchedulerClient, clock: FakeClock, running: RunningSandbox
) -> None:
    api.create_job(parent=PARENT, job=nightly())
    clock.advance(60)
    paused = api.pause_job(name=NAME)
    assert paused.state == scheduler_v1.Job.State.PAUSED
    assert "schedule_time" not in paused  # nothing is scheduled while paused
    assert api.pause_job(name=NAME).state == scheduler_v1.Job.State.PAUSED
    assert api.resume_job(name=NAME).state == scheduler_v1.Job.State.ENABLED
    assert (
        api.resume_job(name=NAME).state == scheduler_v1.Job.State.ENABLED
    )  # resuming twice is fine
    clock.advance(60)
    ran = api.run_job(name=NAME)
    assert ran.last_attempt_time.timestamp() == NOW + 120
    with http_client(running.providers["scheduler"].control_url) as control:
        runs = control.get("/scheduler/runs").json()["runs"]
    assert runs == [{"job": NAME, "at": "2026-11-25T17:02:00Z", "dispatched": False}]
    api.delete_job(name=NAME)
    with pytest.raises(exceptions.NotFound, match=r"Job not found\."):
        api.get_job(name=NAME)
    assert list(api.list_jobs(parent=PARENT)) == []


def test_the_schedule_follows_the_time_zone_across_dst(
    api: scheduler_v1.CloudSchedulerClient, clock: FakeClock
) -> None:
    clock.now = datetime(2027, 3, 13, 15, 0, tzinfo=UTC).timestamp()  # 10:00 EST, DST tomorrow
    job = api.create_job(parent=PARENT, job=nightly(schedule="0 9 * * *"))
    assert job.schedule_time == datetime(2027, 3, 14, 13, 0, tzinfo=UTC)  # 09:00 EDT
    clock.now = datetime(2027, 3, 12, 15, 0, tzinfo=UTC).timestamp()
    assert api.get_job(name=NAME).schedule_time == datetime(2027, 3, 13, 14, 0, tzinfo=UTC)


def test_wire_enums_are_numbers_when_asked_names_otherwise(raw: httpx.Client) -> None:
    body = {
        "name": NAME,
        "schedule": "0 3 * * *",
        "httpTarget": {"uri": "https://a.example/x", "httpMethod": "GET"},
        "retryConfig": {"retry_count": 2},
    }
    made = raw.post(f"/v1/{PARENT}/jobs", json=body)
    assert made.status_code == 200, made.text
    job = made.json()
    assert (job["state"], job["httpTarget"]["httpMethod"]) == ("ENABLED", "GET")
    assert job["retryConfig"] == {
        "retryCount": 2,
        "maxRetryDuration": "0s",
        "minBackoffDuration": "5s",
        "maxBackoffDuration": "3600s",
        "maxDoublings": 5,
    }
    assert job["userUpdateTime"] == "2026-11-25T17:00:00Z"
    assert job["scheduleTime"] == "2026-11-26T03:00:00Z"
    assert job["attemptDeadline"] == "180s"
    numbered = raw.get(f"/v1/{NAME}", params=INT_ENUMS).json()
    assert (numbered["state"], numbered["httpTarget"]["httpMethod"]) == (1, 2)
    patched = raw.patch(
        f"/v1/{NAME}",
        params={"updateMask": "httpTarget.httpMethod", **INT_ENUMS},
        json={"httpTarget": {"httpMethod": 4}},
    ).json()
    assert patched["httpTarget"]["httpMethod"] == 4
    assert raw.get(f"/v1/{NAME}").json()["httpTarget"]["httpMethod"] == "PUT"
    assert raw.post(f"/v1/{NAME}:pause", json={}).json()["state"] == "PAUSED"
    assert raw.delete(f"/v1/{NAME}").json() == {}


def test_locations_mixin(api: scheduler_v1.CloudSchedulerClient) -> None:
    listed = api.list_locations(request={"name": "projects/p1"})
    ids = [loc.location_id for loc in listed.locations]
    assert "northamerica-northeast1" in ids and "northamerica-northeast2" in ids
    got = api.get_location(request={"name": PARENT})
    assert got.display_name == "Montréal"
