"""Contract tests of the ``gcp.log_bucket`` and ``gcp.log_sink`` drivers, through
google-api-python-client's discovery client against the sandbox's Logging emulator.

Ownership is the ``vibn:`` marker in ``description``; a deleted log bucket lingers
``DELETE_REQUESTED`` (absent to observe, undeleted by a re-apply); each kind is
observed with one list; faults become typed errors naming the resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from vibn.providers.base import Desired, Driver, Observed, Owner, Scope
from vibn.providers.errors import AuthError, ConflictError, QuotaError
from vibn.providers.gcp.common import GcpClients, GcpEndpoints, RetryPolicy
from vibn.providers.gcp.logs import logging_drivers
from vibn.reconciler.diff import diff
from vibn.sandbox.server import RunningSandbox

from .conftest import PROJECT, STACK, WS, Control, Ctx, Waits

BUCKET, SINK = "gcp.log_bucket", "gcp.log_sink"
PARENT = f"projects/{PROJECT}/locations/northamerica-northeast1"
BUCKET_NAME = f"{PARENT}/buckets/vibn.{WS}.{STACK}.logs"
SINK_NAME = f"projects/{PROJECT}/sinks/vibn.{WS}.{STACK}"
BUCKETS_ROUTE = "/v2/projects/{project}/locations/{location}/buckets"
SINKS_ROUTE = "/v2/projects/{project}/sinks"
SCOPE = Scope(WS, frozenset({STACK}))


@dataclass
class Logging:
    drivers: dict[str, Driver]
    control: Control
    http: httpx.Client
    waits: Waits

    def observe(self, kind: str, stacks: set[str] | None = None) -> dict[str, Observed]:
        scope = Scope(WS, frozenset(stacks or {STACK}))
        return {o.provider_id: o for o in self.drivers[kind].observe(scope, Ctx())}

    def raw_bucket(self, name: str = BUCKET_NAME) -> dict[str, Any]:
        doc: dict[str, Any] = self.http.get(f"/v2/{name}").json()
        return doc

    def foreign_bucket(self, name: str, description: str) -> None:
        parent, _, bucket_id = name.rpartition("/buckets/")
        self.http.post(
            f"/v2/{parent}/buckets",
            params={"bucketId": bucket_id},
            json={"retentionDays": 10, "description": description},
        ).raise_for_status()


@pytest.fixture
def logs(sandbox: RunningSandbox, fast_retry: RetryPolicy, waits: Waits) -> Iterator[Logging]:
    endpoint = sandbox.providers["logging"]
    endpoints = GcpEndpoints(PROJECT, logging=endpoint.url, anonymous=True)
    with (
        closing(GcpClients(endpoints)) as clients,
        httpx.Client(base_url=endpoint.control_url, timeout=10.0) as control,
        httpx.Client(base_url=endpoint.url, timeout=10.0) as api,
    ):
        drivers = logging_drivers(endpoints, clients=clients, retry=fast_retry)
        yield Logging(drivers, Control(control, "logging"), api, waits)


def bucket(days: int = 30, stack: str = STACK, name: str = BUCKET_NAME) -> Desired:
    owner = Owner(WS, stack, "logs.bucket")
    return Desired("logs.bucket", BUCKET, owner, {"name": name, "retention_days": days})


def sink(
    stack: str = STACK, destination: str = f"logging.googleapis.com/{BUCKET_NAME}", **over: Any
) -> Desired:
    props = {
        "name": f"projects/{PROJECT}/sinks/vibn.{WS}.{stack}",
        "destination": destination,
        "filter": f'labels."vibn-workspace"="{WS}" AND labels."vibn-stack"="{stack}"',
        **over,
    }
    return Desired("logs.sink", SINK, Owner(WS, stack, "logs.sink"), props)


def test_log_bucket_create_observe_update_delete(logs: Logging) -> None:
    driver = logs.drivers[BUCKET]
    want = bucket()
    created = driver.create(want)
    assert diff(want.props, created.props) == []
    assert created.outputs == {"name": BUCKET_NAME}
    assert logs.raw_bucket()["description"] == f"vibn:{WS}/{STACK}/logs.bucket"

    seen = logs.observe(BUCKET)[BUCKET_NAME]
    assert seen.owner == want.owner and diff(want.props, seen.props) == []

    edited = bucket(90)
    assert diff(edited.props, driver.update(edited, seen).props) == []
    again = logs.observe(BUCKET)[BUCKET_NAME]
    assert diff(edited.props, again.props) == []

    driver.delete(again)
    assert logs.raw_bucket()["lifecycleState"] == "DELETE_REQUESTED"
    assert logs.observe(BUCKET) == {}


def test_reapply_after_destroy_undeletes_the_bucket(logs: Logging) -> None:
    driver = logs.drivers[BUCKET]
    driver.delete(driver.create(bucket(30)))
    revived = driver.create(bucket(14))
    assert diff(bucket(14).props, revived.props) == []
    assert logs.raw_bucket()["lifecycleState"] == "ACTIVE"
    assert diff(bucket(14).props, logs.observe(BUCKET)[BUCKET_NAME].props) == []


def test_a_bucket_left_by_an_interrupted_apply_is_adopted(logs: Logging) -> None:
    logs.foreign_bucket(BUCKET_NAME, f"vibn:{WS}/{STACK}/logs.bucket")
    adopted = logs.drivers[BUCKET].create(bucket(45))
    assert diff(bucket(45).props, adopted.props) == []


@pytest.mark.parametrize(
    ("description", "owner", "deleted"),
    [
        ("kept by the data team", "no vibn marker", False),
        (f"vibn:{WS}/blog/logs.bucket", f"workspace {WS}, stack blog", False),
        (f"vibn:other/{STACK}/logs.bucket", f"workspace other, stack {STACK}", True),
    ],
)
def test_someone_elses_log_bucket_is_refused(
    logs: Logging, description: str, owner: str, deleted: bool
) -> None:
    logs.foreign_bucket(BUCKET_NAME, description)
    if deleted:
        logs.http.delete(f"/v2/{BUCKET_NAME}").raise_for_status()
    before = logs.raw_bucket()
    with pytest.raises(ConflictError) as err:
        logs.drivers[BUCKET].create(bucket())
    assert f"log bucket {BUCKET_NAME} exists" in str(err.value)
    assert f"(owner: {owner})" in str(err.value)
    assert ("pending deletion" in str(err.value)) is deleted
    assert err.value.resource == f"logs.bucket {BUCKET_NAME}"
    assert logs.raw_bucket() == before


def test_log_buckets_observed_with_one_list_for_the_scope_only(logs: Logging) -> None:
    driver = logs.drivers[BUCKET]
    driver.create(bucket())
    blog = f"{PARENT}/buckets/vibn.{WS}.blog.logs"
    driver.create(bucket(stack="blog", name=blog))
    toronto = f"projects/{PROJECT}/locations/northamerica-northeast2/buckets/vibn.{WS}.{STACK}.x"
    driver.create(bucket(name=toronto))
    logs.foreign_bucket(f"{PARENT}/buckets/hand-made", "not vibn's")
    logs.control.clear_requests()

    assert sorted(logs.observe(BUCKET)) == [BUCKET_NAME, toronto]
    assert logs.control.requests() == {f"GET {BUCKETS_ROUTE}": 1}
    assert sorted(logs.observe(BUCKET, {STACK, "blog"})) == [blog, BUCKET_NAME, toronto]


def test_sink_create_observe_update_delete(logs: Logging) -> None:
    driver = logs.drivers[SINK]
    want = sink()
    created = driver.create(want)
    assert diff(want.props, created.props) == []
    # a log bucket in the sink's own project needs no writer identity
    assert created.outputs == {"writer_identity": None}

    seen = logs.observe(SINK)[SINK_NAME]
    assert seen.owner == want.owner and diff(want.props, seen.props) == []

    elsewhere = (
        "logging.googleapis.com/projects/archive/locations/northamerica-northeast1/buckets/b"
    )
    edited = sink(destination=elsewhere, filter="severity>=WARNING")
    updated = driver.update(edited, seen)
    assert diff(edited.props, updated.props) == []
    assert updated.outputs["writer_identity"].startswith("serviceAccount:service-")
    again = logs.observe(SINK)[SINK_NAME]
    assert diff(edited.props, again.props) == []

    driver.delete(again)
    assert logs.observe(SINK) == {}


def test_sinks_observed_with_one_list_and_someone_elses_sink_refused(logs: Logging) -> None:
    driver = logs.drivers[SINK]
    driver.create(sink())
    driver.create(sink("blog"))
    logs.http.post(
        f"/v2/projects/{PROJECT}/sinks",
        json={
            "name": f"vibn.{WS}.taken",
            "destination": f"logging.googleapis.com/{BUCKET_NAME}",
            "description": "routes audit logs",
        },
    ).raise_for_status()
    logs.control.clear_requests()
    assert list(logs.observe(SINK)) == [SINK_NAME]  # not _Default, _Required, blog's, the foreign
    assert logs.control.requests() == {f"GET {SINKS_ROUTE}": 1}

    with pytest.raises(ConflictError, match=r"not owned by this stack \(owner: no vibn marker"):
        driver.create(sink("taken"))
    # our own sink, left unrecorded, is taken back and set as asked
    readopted = driver.create(sink(filter="severity>=ERROR"))
    assert readopted.props["filter"] == "severity>=ERROR"


def test_transient_fault_on_list_is_retried_once(logs: Logging) -> None:
    logs.drivers[BUCKET].create(bucket())
    logs.control.clear_requests()
    logs.control.fault(method="GET", path="/buckets$", status=503, times=1)
    assert list(logs.observe(BUCKET)) == [BUCKET_NAME]
    assert logs.control.requests() == {f"GET {BUCKETS_ROUTE}": 2}
    assert len(logs.waits.seconds) == 1


def test_forbidden_and_rate_limited_calls_are_typed_and_named(logs: Logging) -> None:
    logs.control.fault(method="POST", path="/sinks$", status=403, times=1)
    with pytest.raises(AuthError) as denied:
        logs.drivers[SINK].create(sink())
    assert denied.value.resource == f"logs.sink {SINK_NAME}" and denied.value.status == 403

    logs.control.fault(method="PATCH", path="/buckets/", status=429, times=10)
    created = logs.drivers[BUCKET].create(bucket())
    with pytest.raises(QuotaError) as limited:
        logs.drivers[BUCKET].update(bucket(60), created)
    assert limited.value.resource == f"logs.bucket {BUCKET_NAME}"
    assert len(logs.waits.seconds) == 3
