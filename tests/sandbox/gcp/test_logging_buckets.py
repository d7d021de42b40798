"""Logging emulator log buckets, through google-api-python-client and raw HTTP.

vibn's log-bucket driver uses the discovery client (google-cloud-logging has no
REST transport for buckets), so that is what drives the emulator here: the
bucket lifecycle (create, patch with a mask, delete to DELETE_REQUESTED,
undelete, purge after 7 days), the default buckets, the validation GCP applies,
errors with their canonical status, faults and persistence.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.auth.credentials import AnonymousCredentials
from googleapiclient.discovery import Resource, build
from googleapiclient.errors import HttpError

from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import FakeClock
from ..helpers import client as http_client

LOC = "northamerica-northeast1"
PARENT = f"projects/p1/locations/{LOC}"
NAME = f"{PARENT}/buckets/app-logs"


def logging_api(url: str) -> Resource:
    return build(
        "logging",
        "v2",
        static_discovery=True,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": url},
    )


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[Any]:
    with logging_api(sandbox.providers["logging"].url) as service:
        yield service.projects().locations().buckets()


@pytest.fixture
def raw(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with http_client(sandbox.providers["logging"].url) as c:
        yield c


def error_of(exc: HttpError) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.content)["error"]
    assert body["code"] == exc.resp.status
    return body


def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(HttpError) as err:
        call.execute()
    return error_of(err.value)


def create(api: Any, bucket_id: str = "app-logs", parent: str = PARENT, **body: Any) -> Any:
    return api.create(parent=parent, bucketId=bucket_id, body=body).execute()


def test_bucket_lifecycle(api: Any) -> None:
    made = create(api, retentionDays=30, description="vibn:ws/stack/logs")
    assert made["name"] == NAME
    assert made["retentionDays"] == 30 and made["lifecycleState"] == "ACTIVE"
    assert made["description"] == "vibn:ws/stack/logs"
    assert made["createTime"] == made["updateTime"]
    assert "locked" not in made  # proto3 JSON leaves out false
    assert api.get(name=NAME).execute() == made

    patched = api.patch(name=NAME, updateMask="retentionDays", body={"retentionDays": 90}).execute()
    assert patched["retentionDays"] == 90 and patched["updateTime"] > made["updateTime"]
    snake = api.patch(
        name=NAME, updateMask="retention_days,description", body={"retentionDays": 60}
    ).execute()
    assert snake["retentionDays"] == 60 and "description" not in snake

    assert api.delete(name=NAME).execute() == {}
    gone = api.get(name=NAME).execute()
    assert gone["lifecycleState"] == "DELETE_REQUESTED"
    listed = api.list(parent=PARENT).execute()["buckets"]
    assert [(b["name"], b["lifecycleState"]) for b in listed] == [(NAME, "DELETE_REQUESTED")]
    err = refused(api.patch(name=NAME, updateMask="retentionDays", body={"retentionDays": 5}))
    assert err["status"] == "FAILED_PRECONDITION"
    assert err["message"] == "Buckets must be in an ACTIVE state to be modified"
    assert refused(api.delete(name=NAME))["status"] == "FAILED_PRECONDITION"
    again = refused(api.create(parent=PARENT, bucketId="app-logs", body={}))
    assert again["status"] == "FAILED_PRECONDITION" and again["code"] == 400

    assert api.undelete(name=NAME, body={}).execute() == {}
    assert api.get(name=NAME).execute()["lifecycleState"] == "ACTIVE"
    assert refused(api.undelete(name=NAME, body={}))["status"] == "FAILED_PRECONDITION"


def test_default_buckets_exist_and_are_protected(api: Any) -> None:
    listed = api.list(parent="projects/p1/locations/global").execute()["buckets"]
    by_id = {b["name"].rsplit("/", 1)[1]: b for b in listed}
    assert set(by_id) == {"_Default", "_Required"}
    assert by_id["_Default"]["retentionDays"] == 30
    assert by_id["_Required"]["retentionDays"] == 400 and by_id["_Required"]["locked"] is True
    assert all("createTime" not in b for b in listed)
    required = "projects/p1/locations/global/buckets/_Required"
    default = "projects/p1/locations/global/buckets/_Default"
    err = refused(api.patch(name=required, updateMask="retentionDays", body={"retentionDays": 9}))
    assert err["status"] == "FAILED_PRECONDITION"
    assert refused(api.delete(name=default))["status"] == "FAILED_PRECONDITION"
    longer = api.patch(name=default, updateMask="retentionDays", body={"retentionDays": 90})
    assert longer.execute()["retentionDays"] == 90


def test_patch_needs_a_mask_of_writable_fields(api: Any) -> None:
    create(api)
    for mask in (None, "", "name", "lifecycleState", "labels"):
        err = refused(api.patch(name=NAME, updateMask=mask, body={"retentionDays": 7}))
        assert err["status"] == "INVALID_ARGUMENT", mask


def test_validation(api: Any, raw: httpx.Client) -> None:
    assert create(api, "zero", retentionDays=0)["retentionDays"] == 30
    assert create(api, "unset")["retentionDays"] == 30
    for days in (-1, 3651):
        err = refused(api.create(parent=PARENT, bucketId="x", body={"retentionDays": days}))
        assert err["status"] == "INVALID_ARGUMENT"
    assert create(api, "max.days_ok-1", retentionDays=3650)["retentionDays"] == 3650
    for bad_id in ("_private", "a/b", "x" * 101):
        err = refused(api.create(parent=PARENT, bucketId=bad_id, body={}))
        assert err["status"] == "INVALID_ARGUMENT", bad_id
    no_id = raw.post(f"/v2/{PARENT}/buckets", json={})
    assert no_id.status_code == 400
    labels = refused(api.create(parent=PARENT, bucketId="lbl", body={"labels": {"a": "b"}}))
    assert labels["status"] == "INVALID_ARGUMENT" and 'Unknown name "labels"' in labels["message"]
    dash = refused(api.create(parent="projects/p1/locations/-", bucketId="y", body={}))
    assert dash["status"] == "INVALID_ARGUMENT"
    dup = refused(api.create(parent=PARENT, bucketId="zero", body={}))
    assert dup["status"] == "ALREADY_EXISTS" and dup["code"] == 409


def test_locked_buckets_keep_their_retention(api: Any) -> None:
    create(api, retentionDays=30, locked=True)
    err = refused(api.patch(name=NAME, updateMask="retentionDays", body={"retentionDays": 31}))
    assert err["status"] == "FAILED_PRECONDITION"
    unlock = refused(api.patch(name=NAME, updateMask="locked", body={"locked": False}))
    assert unlock["status"] == "FAILED_PRECONDITION"
    described = api.patch(name=NAME, updateMask="description", body={"description": "d"})
    assert described.execute()["description"] == "d"


def test_list_paginates_and_spans_locations(api: Any) -> None:
    for i in range(3):
        create(api, f"b{i}")
    create(api, "east", parent="projects/p1/locations/northamerica-northeast2")
    create(api, "elsewhere", parent="projects/p2/locations/global")
    first = api.list(parent=PARENT, pageSize=2).execute()
    assert len(first["buckets"]) == 2
    rest = api.list(parent=PARENT, pageSize=2, pageToken=first["nextPageToken"]).execute()
    assert [b["name"].rsplit("/", 1)[1] for b in first["buckets"] + rest["buckets"]] == [
        "b0",
        "b1",
        "b2",
    ]
    assert "nextPageToken" not in rest
    everywhere = api.list(parent="projects/p1/locations/-").execute()["buckets"]
    assert sorted(b["name"].split("/")[3] for b in everywhere) == [
        "global",
        "global",
        "northamerica-northeast1",
        "northamerica-northeast1",
        "northamerica-northeast1",
        "northamerica-northeast2",
    ]
    assert api.list(parent="projects/p1/locations/us-east1").execute() == {}


def test_error_shape(raw: httpx.Client) -> None:
    resp = raw.get(f"/v2/{PARENT}/buckets/nope")
    assert resp.status_code == 404
    assert resp.json() == {
        "error": {"code": 404, "message": "Bucket nope does not exist", "status": "NOT_FOUND"}
    }
    assert raw.get("/v2/organizations/1/sinks").status_code == 404


def test_deleted_buckets_are_purged_after_seven_days(tmp_path: Path) -> None:
    clock = FakeClock()
    with (
        start_in_thread(tmp_path / "sb", names=["logging"], clock=clock) as sb,
        logging_api(sb.providers["logging"].url) as service,
    ):
        api = service.projects().locations().buckets()
        create(api)
        api.delete(name=NAME).execute()
        clock.advance(6 * 86400)
        assert api.get(name=NAME).execute()["lifecycleState"] == "DELETE_REQUESTED"
        clock.advance(86400)
        assert refused(api.get(name=NAME))["status"] == "NOT_FOUND"
        assert refused(api.undelete(name=NAME, body={}))["status"] == "NOT_FOUND"
        assert create(api)["lifecycleState"] == "ACTIVE"


def test_faults_reach_the_discovery_client(sandbox: RunningSandbox, api: Any) -> None:
    with http_client(sandbox.providers["logging"].control_url) as control:
        spec = {"method": "POST", "path": "/buckets$", "status": 503}
        assert control.post("/faults", json=spec).status_code == 201
        err = refused(api.create(parent=PARENT, bucketId="app-logs", body={}))
        assert err["status"] == "UNAVAILABLE"  # a bare fault answers in Google's shape
        assert control.post("/faults", json=spec).status_code == 201
        request = api.create(parent=PARENT, bucketId="app-logs", body={})
        request._sleep = lambda seconds: None  # googleapiclient's backoff, skipped
        assert request.execute(num_retries=1)["lifecycleState"] == "ACTIVE"
        by_route = control.get("/requests").json()["by_route"]
    assert by_route["POST /v2/projects/{project}/locations/{location}/buckets"] == 3


def test_buckets_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    with (
        start_in_thread(state, names=["logging"]) as first,
        logging_api(first.providers["logging"].url) as service,
    ):
        create(service.projects().locations().buckets(), retentionDays=45)
    assert NAME in json.loads((state / "logging.json").read_text())["buckets"]
    with (
        start_in_thread(state, names=["logging"]) as second,
        logging_api(second.providers["logging"].url) as service,
    ):
        got = service.projects().locations().buckets().get(name=NAME).execute()
    assert got["retentionDays"] == 45
