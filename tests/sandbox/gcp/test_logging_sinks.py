"""Logging emulator sinks, through google-api-python-client, the handwritten
google-cloud-logging HTTP client (``uniqueWriterIdentity=True``, ``PUT`` updates)
and raw HTTP: CRUD, update masks, writer identities and destination checks.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import logging as cloud_logging
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from vibn.sandbox.gcs.gcp import project_number
from vibn.sandbox.server import RunningSandbox

from ..helpers import client as http_client

BUCKET_DEST = "logging.googleapis.com/projects/p1/locations/northamerica-northeast1/buckets/app"
AGENT = f"serviceAccount:service-{project_number('p1')}@gcp-sa-logging.iam.gserviceaccount.com"
LEGACY = "serviceAccount:cloud-logs@system.gserviceaccount.com"


@pytest.fixture
def sinks(sandbox: RunningSandbox) -> Iterator[Any]:
    with build(
        "logging",
        "v2",
        static_discovery=True,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": sandbox.providers["logging"].url},
    ) as service:
        yield service.projects().sinks()


def refused(call: Any) -> dict[str, Any]:
    with pytest.raises(HttpError) as err:
        call.execute()
    body: dict[str, Any] = json.loads(err.value.content)["error"]
    assert body["code"] == err.value.resp.status
    return body


def new_sink(sinks: Any, name: str = "app", unique: bool = True, **body: Any) -> Any:
    fields = {"name": name, "destination": BUCKET_DEST, "filter": "severity>=INFO", **body}
    return sinks.create(parent="projects/p1", uniqueWriterIdentity=unique, body=fields).execute()


def test_sink_crud(sinks: Any) -> None:
    made = new_sink(sinks, description="vibn:ws/stack/logs")
    assert made["name"] == "app" and made["destination"] == BUCKET_DEST
    assert made["resourceName"] == "projects/p1/sinks/app"
    assert made["createTime"] == made["updateTime"]
    assert "writerIdentity" not in made  # a log bucket in the sink's own project needs none
    assert sinks.get(sinkName="projects/p1/sinks/app").execute() == made

    patched = sinks.patch(
        sinkName="projects/p1/sinks/app",
        updateMask="filter,disabled",
        uniqueWriterIdentity=True,
        body={"filter": "severity>=ERROR", "disabled": True, "description": "ignored"},
    ).execute()
    assert patched["filter"] == "severity>=ERROR" and patched["disabled"] is True
    assert patched["description"] == "vibn:ws/stack/logs"
    assert patched["updateTime"] > made["updateTime"]

    replaced = sinks.update(
        sinkName="projects/p1/sinks/app",
        uniqueWriterIdentity=True,
        body={"name": "app", "destination": "storage.googleapis.com/archive-bucket"},
    ).execute()
    assert replaced["destination"] == "storage.googleapis.com/archive-bucket"
    assert "filter" not in replaced  # the default mask includes filter
    assert replaced["disabled"] is True  # ...but not disabled
    assert replaced["writerIdentity"] == AGENT

    names = [s["name"] for s in sinks.list(parent="projects/p1").execute()["sinks"]]
    assert names == ["_Default", "_Required", "app"]
    assert sinks.delete(sinkName="projects/p1/sinks/app").execute() == {}
    assert refused(sinks.get(sinkName="projects/p1/sinks/app"))["status"] == "NOT_FOUND"


def test_writer_identities(sinks: Any) -> None:
    gcs = {"destination": "storage.googleapis.com/some-bucket"}
    assert new_sink(sinks, "unique", **gcs)["writerIdentity"] == AGENT
    assert new_sink(sinks, "legacy", unique=False, **gcs)["writerIdentity"] == LEGACY
    other = {"destination": "bigquery.googleapis.com/projects/p2/datasets/logs"}
    err = refused(sinks.create(parent="projects/p1", body={"name": "cross", "filter": "", **other}))
    assert err["status"] == "INVALID_ARGUMENT" and "uniqueWriterIdentity" in err["message"]
    assert new_sink(sinks, "cross", **other)["writerIdentity"] == AGENT
    downgrade = sinks.update(
        sinkName="projects/p1/sinks/unique", body={"name": "unique", **gcs, "filter": "x"}
    )
    assert refused(downgrade)["status"] == "INVALID_ARGUMENT"
    upgraded = sinks.update(
        sinkName="projects/p1/sinks/legacy",
        uniqueWriterIdentity=True,
        body={"name": "legacy", **gcs},
    ).execute()
    assert upgraded["writerIdentity"] == AGENT


def test_sink_validation(sinks: Any) -> None:
    for destination in (None, "", "s3://bucket", "logging.googleapis.com/projects/p1/buckets/x"):
        body = {"name": "bad", "destination": destination}
        err = refused(sinks.create(parent="projects/p1", body=body))
        assert err["status"] == "INVALID_ARGUMENT", destination
    for name in ("", "_x", "a b", "x" * 101):
        err = refused(
            sinks.create(parent="projects/p1", body={"name": name, "destination": BUCKET_DEST})
        )
        assert err["status"] == "INVALID_ARGUMENT", name
    new_sink(sinks)
    assert (
        refused(
            sinks.create(parent="projects/p1", body={"name": "app", "destination": BUCKET_DEST})
        )["status"]
        == "ALREADY_EXISTS"
    )
    for mask in ("writerIdentity", "name", "nope"):
        err = refused(
            sinks.patch(
                sinkName="projects/p1/sinks/app",
                updateMask=mask,
                uniqueWriterIdentity=True,
                body={},
            )
        )
        assert err["status"] == "INVALID_ARGUMENT", mask
    scope = refused(sinks.list(parent="projects/p1", filter="name=app"))
    assert scope["status"] == "INVALID_ARGUMENT"


def test_default_sinks(sinks: Any) -> None:
    default = sinks.get(sinkName="projects/p1/sinks/_Default").execute()
    assert default["destination"].endswith("/locations/global/buckets/_Default")
    assert "writerIdentity" not in default
    off = sinks.patch(
        sinkName="projects/p1/sinks/_Default", updateMask="disabled", body={"disabled": True}
    ).execute()
    assert off["disabled"] is True
    assert refused(sinks.delete(sinkName="projects/p1/sinks/_Default"))["status"] == (
        "FAILED_PRECONDITION"
    )
    required = sinks.patch(
        sinkName="projects/p1/sinks/_Required", updateMask="disabled", body={"disabled": True}
    )
    assert refused(required)["status"] == "FAILED_PRECONDITION"


def test_list_paginates(sinks: Any) -> None:
    for i in range(3):
        new_sink(sinks, f"s{i}")
    first = sinks.list(parent="projects/p1", pageSize=3).execute()
    rest = sinks.list(parent="projects/p1", pageSize=3, pageToken=first["nextPageToken"]).execute()
    names = [s["name"] for s in first["sinks"] + rest["sinks"]]
    assert names == ["_Default", "_Required", "s0", "s1", "s2"]
    assert "nextPageToken" not in rest


def test_handwritten_client_over_http(sandbox: RunningSandbox) -> None:
    client = cloud_logging.Client(
        project="p1",
        credentials=AnonymousCredentials(),
        _use_grpc=False,
        client_options={"api_endpoint": sandbox.providers["logging"].url},
    )
    sink = client.sink("errors", filter_="severity>=ERROR", destination=BUCKET_DEST)
    assert not sink.exists()
    sink.create(unique_writer_identity=True)  # sent as uniqueWriterIdentity=True
    assert sink.exists()
    with pytest.raises(exceptions.Conflict):
        sink.create(unique_writer_identity=True)
    sink.filter_ = "severity>=WARNING"
    sink.update(unique_writer_identity=True)
    fresh = client.sink("errors")
    fresh.reload()
    assert (fresh.filter_, fresh.destination) == ("severity>=WARNING", BUCKET_DEST)
    assert "errors" in [s.name for s in client.list_sinks()]
    sink.delete()
    with pytest.raises(exceptions.NotFound):
        fresh.reload()
    with http_client(sandbox.providers["logging"].control_url) as control:
        control.post("/faults", json={"method": "POST", "path": "/sinks$", "status": 503})
        with pytest.raises(exceptions.ServiceUnavailable):  # no retry in this client
            sink.create(unique_writer_identity=True)
        assert control.get("/requests").json()["by_route"]["POST /v2/projects/{project}/sinks"] == 3
