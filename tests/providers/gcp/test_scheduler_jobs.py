"""Contract tests of the ``gcp.scheduler_job`` driver, through google-cloud-scheduler's
REST transport against the sandbox's Cloud Scheduler emulator.

The state of the emulator is what is asserted (observed props equal the desired ones,
so the planner's diff is empty), plus the request counts that prove observation is one
list per location, and the typed errors faults turn into.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import scheduler_v1

from vibn.providers.base import Desired, Observed, Owner, Recorded, Scope
from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    QuotaError,
)
from vibn.providers.gcp.common import GcpEndpoints, RetryPolicy
from vibn.providers.gcp.scheduler import KIND, SchedulerJobDriver, scheduler_drivers
from vibn.reconciler.diff import diff
from vibn.sandbox.server import RunningSandbox
from vibn.specs.values import Sensitive

from .conftest import PROJECT, STACK, WS, Control, Ctx, Waits

TOKEN = "cron-token-7f3a9c-never-printed"
MONTREAL = f"projects/{PROJECT}/locations/northamerica-northeast1"
TORONTO = f"projects/{PROJECT}/locations/northamerica-northeast2"
LIST_ROUTE = "GET /v1/projects/{project}/locations/{location}/jobs"
SCOPE = Scope(WS, frozenset({STACK}))


@dataclass
class Scheduler:
    driver: SchedulerJobDriver
    api: scheduler_v1.CloudSchedulerClient
    control: Control
    waits: Waits


@pytest.fixture
def scheduler(
    sandbox: RunningSandbox, fast_retry: RetryPolicy, waits: Waits
) -> Iterator[Scheduler]:
    endpoint = sandbox.providers["scheduler"]
    endpoints = GcpEndpoints(PROJECT, scheduler=endpoint.url, anonymous=True)
    api = scheduler_v1.CloudSchedulerClient(
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        transport="rest",
        client_options={"api_endpoint": endpoint.url},
    )
    driver = scheduler_drivers(endpoints, api, retry=fast_retry)[KIND]
    assert isinstance(driver, SchedulerJobDriver)
    with httpx.Client(base_url=endpoint.control_url, timeout=10.0) as http:
        yield Scheduler(driver, api, Control(http, "scheduler"), waits)


def props(cron: str = "nightly", parent: str = MONTREAL, **changes: Any) -> dict[str, Any]:
    """What compile produces for a cron entry."""
    base: dict[str, Any] = {
        "name": f"{parent}/jobs/vibn-{WS}-{STACK}-{cron}",
        "schedule": "0 3 * * *",
        "time_zone": "America/Toronto",
        "uri": "https://shop.example.ca/tasks/cleanup",
        "http_method": "POST",
        "headers": {"X-Vibn-Cron-Token": Sensitive(TOKEN)},
        "paused": False,
        "retry_count": 0,
        "attempt_deadline": "180s",
    }
    return {**base, **changes}


def desired(cron: str = "nightly", stack: str = STACK, **changes: Any) -> Desired:
    return Desired(f"cron.{cron}", KIND, Owner(WS, stack, f"cron.{cron}"), props(cron, **changes))


def observe(s: Scheduler, records: list[Recorded] | None = None) -> dict[str, Observed]:
    found = s.driver.observe(SCOPE, Ctx(records={KIND: records or []}))
    return {o.address: o for o in found}


def foreign_job(s: Scheduler, job_id: str, description: str) -> None:
    s.api.create_job(
        parent=MONTREAL,
        job=scheduler_v1.Job(
            name=f"{MONTREAL}/jobs/{job_id}",
            description=description,
            schedule="*/5 * * * *",
            http_target=scheduler_v1.HttpTarget(uri="https://elsewhere.example.ca/"),
        ),
    )


def test_create_observe_update_delete(scheduler: Scheduler) -> None:
    want = desired()
    created = scheduler.driver.create(want)
    assert diff(want.props, created.props) == []
    assert created.outputs["state"] == "ENABLED"
    assert created.outputs["schedule_time"]

    seen = observe(scheduler)
    assert list(seen) == ["cron.nightly"]
    job = seen["cron.nightly"]
    assert job.owner == want.owner and job.provider_id == want.props["name"]
    # Google's own User-Agent header is not reported: nothing for the planner to remove
    assert diff(want.props, job.props) == []

    edited = desired(schedule="*/10 * * * *", time_zone="UTC", paused=True, retry_count=3)
    updated = scheduler.driver.update(edited, job)
    assert diff(edited.props, updated.props) == []
    assert updated.outputs["state"] == "PAUSED"
    raw = scheduler.api.get_job(name=job.provider_id)
    assert (raw.schedule, raw.time_zone, raw.retry_config.retry_count) == ("*/10 * * * *", "UTC", 3)
    assert raw.state == scheduler_v1.Job.State.PAUSED
    assert raw.description == want.owner.marker()
    assert diff(edited.props, observe(scheduler)["cron.nightly"].props) == []

    rotated = desired(
        http_method="GET", headers={"X-Vibn-Cron-Token": Sensitive("rotated")}, paused=False
    )
    resumed = scheduler.driver.update(rotated, observe(scheduler)["cron.nightly"])
    assert diff(rotated.props, resumed.props) == []
    assert scheduler.api.get_job(name=job.provider_id).http_target.headers["X-Vibn-Cron-Token"] == (
        "rotated"
    )

    scheduler.driver.delete(resumed)
    assert observe(scheduler) == {}
    scheduler.driver.delete(resumed)  # already gone: done


def test_created_paused(scheduler: Scheduler) -> None:
    want = desired(paused=True)
    created = scheduler.driver.create(want)
    assert created.props["paused"] is True and created.outputs["state"] == "PAUSED"
    assert diff(want.props, observe(scheduler)["cron.nightly"].props) == []


def test_noop_update_reads_back(scheduler: Scheduler) -> None:
    want = desired()
    created = scheduler.driver.create(want)
    scheduler.control.clear_requests()
    again = scheduler.driver.update(want, created)
    assert diff(want.props, again.props) == []
    assert scheduler.control.requests() == {
        "GET /v1/projects/{project}/locations/{location}/jobs/{job}": 1
    }


def test_observe_is_one_list_per_location(scheduler: Scheduler) -> None:
    for cron in ("a", "b", "c"):
        scheduler.driver.create(desired(cron))
    toronto = desired("d", name=f"{TORONTO}/jobs/vibn-{WS}-{STACK}-d")
    scheduler.driver.create(toronto)
    foreign_job(scheduler, "someone-elses", "made by hand")
    foreign_job(scheduler, "other-stack", Owner(WS, "blog", "cron.x").marker())
    foreign_job(scheduler, "other-ws", Owner("globex", STACK, "cron.x").marker())

    scheduler.control.clear_requests()
    assert sorted(observe(scheduler)) == ["cron.a", "cron.b", "cron.c"]
    assert scheduler.control.requests() == {LIST_ROUTE: 1}

    # a recorded job in Toronto adds that location's list: one more call, not one per job
    record = Recorded("cron.d", KIND, toronto.props["name"], toronto.props, {}, stack=STACK)
    scheduler.control.clear_requests()
    assert sorted(observe(scheduler, [record])) == ["cron.a", "cron.b", "cron.c", "cron.d"]
    assert scheduler.control.requests() == {LIST_ROUTE: 2}


def test_adopts_its_own_job_after_a_crash(scheduler: Scheduler) -> None:
    scheduler.driver.create(desired(schedule="0 1 * * *", paused=True))
    want = desired()  # the same job, as the next run wants it
    adopted = scheduler.driver.create(want)
    assert diff(want.props, adopted.props) == []
    assert scheduler.api.get_job(name=want.props["name"]).schedule == "0 3 * * *"


def test_refuses_a_job_it_does_not_own(scheduler: Scheduler) -> None:
    foreign_job(scheduler, f"vibn-{WS}-{STACK}-nightly", "made by hand")
    with pytest.raises(ConflictError) as info:
        scheduler.driver.create(desired())
    assert "already exists" in info.value.message and "not vibn's" in info.value.message
    assert "cron.nightly" in str(info.value)

    other = desired()
    other_owner = Owner(WS, "blog", "cron.nightly")
    scheduler.api.update_job(
        job=scheduler_v1.Job(name=other.props["name"], description=other_owner.marker()),
        update_mask={"paths": ["description"]},
    )
    with pytest.raises(ConflictError, match=r"belongs to vibn:acme/blog/cron\.nightly"):
        scheduler.driver.create(other)
    assert scheduler.api.get_job(name=other.props["name"]).schedule == "*/5 * * * *"


@pytest.fixture
def google_debug() -> Iterator[None]:
    """Google's loggers at DEBUG and reaching the root handlers, as a user debugging
    a run might set them (google-api-core otherwise stops them propagating)."""
    google = logging.getLogger("google")
    saved = (google.level, google.propagate)
    google.setLevel(logging.DEBUG)
    google.propagate = True
    yield
    google.setLevel(saved[0])
    google.propagate = saved[1]


@pytest.mark.usefixtures("google_debug")
def test_the_token_is_never_logged_or_shown(
    scheduler: Scheduler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    created = scheduler.driver.create(desired())
    updated = scheduler.driver.update(desired(schedule="0 4 * * *"), created)
    seen = observe(scheduler)
    scheduler.control.fault(method="PATCH", path="/jobs/", status=400)
    with pytest.raises(InvalidError) as info:
        scheduler.driver.update(desired(schedule="0 5 * * *"), updated)
    assert caplog.records  # debug logging was on, and said things
    # structured handlers print a record's extras too: the GAPIC payload dumps live there
    logged = "".join(repr(vars(record)) for record in caplog.records)
    text = logged + repr(created) + repr(updated) + repr(seen) + str(info.value)
    assert TOKEN not in text
    assert isinstance(seen["cron.nightly"].props["headers"]["X-Vibn-Cron-Token"], Sensitive)


def test_invalid_argument_names_the_resource(scheduler: Scheduler) -> None:
    with pytest.raises(InvalidError) as info:
        scheduler.driver.create(desired(schedule="61 * * * *"))
    err = info.value
    assert err.status == 400 and "Schedule or time zone is invalid" in err.message
    assert err.resource is not None
    assert "cron.nightly" in err.resource and "jobs/vibn-acme-shop-nightly" in err.resource
    with pytest.raises(InvalidError, match="not an HTTP method"):
        scheduler.driver.create(desired(http_method="FETCH"))


def test_permission_denied_is_an_auth_error(scheduler: Scheduler) -> None:
    scheduler.control.fault(method="POST", path="/jobs$", status=403)
    with pytest.raises(AuthError) as info:
        scheduler.driver.create(desired())
    assert info.value.status == 403 and "cron.nightly" in str(info.value)
    assert scheduler.waits.seconds == []  # never retried


def test_rate_limited_is_retried_then_a_quota_error(scheduler: Scheduler) -> None:
    scheduler.control.fault(method="GET", path="/jobs$", status=429, times=10)
    with pytest.raises(QuotaError) as info:
        observe(scheduler)
    assert info.value.status == 429 and "northamerica-northeast1" in str(info.value)
    # the emulator's Retry-After: 1 is honoured between the four attempts
    assert scheduler.waits.seconds == [1.0, 1.0, 1.0]


def test_transient_unavailable_is_retried(scheduler: Scheduler) -> None:
    scheduler.control.fault(method="POST", path="/jobs$", status=503, times=2)
    created = scheduler.driver.create(desired())
    assert created.outputs["state"] == "ENABLED"
    assert len(scheduler.waits.seconds) == 2
    counts = scheduler.control.requests()
    assert counts["POST /v1/projects/{project}/locations/{location}/jobs"] == 3


def test_drivers_from_endpoints_alone(sandbox: RunningSandbox) -> None:
    url = sandbox.providers["scheduler"].url
    driver = scheduler_drivers(GcpEndpoints(PROJECT, scheduler=url, anonymous=True))[KIND]
    driver.create(desired())
    assert [o.address for o in driver.observe(SCOPE, Ctx())] == ["cron.nightly"]
