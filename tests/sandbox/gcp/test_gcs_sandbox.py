"""The Storage emulator under the sandbox's control plane, and across restarts.

Faults injected through ``/_sandbox/faults`` must reach vibn's driver the way a
real outage would reach google-cloud-storage: a 5xx or 429 is retried by the
client's own ``DEFAULT_RETRY`` (even ``buckets.insert``), a 4xx is not, and a
slow answer becomes a client timeout. A fault without a body answers in GCS's
error shape. The emulator's data survives a restart.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY

from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import client as http_client

FAST = DEFAULT_RETRY.with_delay(initial=0.01, maximum=0.02)
GCS_503 = {"error": {"code": 503, "message": "Try again", "errors": []}}


def gcs(url: str) -> storage.Client:
    return storage.Client(
        project="p1", credentials=AnonymousCredentials(), client_options={"api_endpoint": url}
    )


def fault(sandbox: RunningSandbox, **spec: object) -> None:
    with http_client(sandbox.providers["storage"].control_url) as control:
        assert control.post("/faults", json=spec).status_code == 201


def counts(sandbox: RunningSandbox) -> dict[str, int]:
    with http_client(sandbox.providers["storage"].control_url) as control:
        by_route: dict[str, int] = control.get("/requests").json()["by_route"]
        return by_route


def test_a_503_is_retried_by_the_client(sandbox: RunningSandbox) -> None:
    client = gcs(sandbox.providers["storage"].url)
    fault(sandbox, method="POST", path="^/storage/v1/b$", status=503, body=GCS_503)
    client.create_bucket("retried", retry=FAST)
    fault(sandbox, method="GET", path="^/storage/v1/b/retried$", status=503, times=2)
    assert client.get_bucket("retried", retry=FAST).name == "retried"
    seen = counts(sandbox)
    assert seen["POST /storage/v1/b"] == 2
    assert seen["GET /storage/v1/b/{bucket}"] == 3


def test_a_429_is_retried_and_a_persistent_503_gives_up(sandbox: RunningSandbox) -> None:
    client = gcs(sandbox.providers["storage"].url)
    client.create_bucket("b-one")
    fault(sandbox, method="GET", path="/b/b-one$", status=429)
    assert client.get_bucket("b-one", retry=FAST).name == "b-one"
    fault(sandbox, method="GET", path="/b/b-one$", status=503, times=None)
    with pytest.raises(exceptions.RetryError):
        client.get_bucket("b-one", retry=FAST.with_timeout(0.2))
    with pytest.raises(exceptions.ServiceUnavailable, match="Backend Error") as err:
        client.get_bucket("b-one", retry=None)
    assert err.value.errors == [
        {"message": "Backend Error", "domain": "global", "reason": "backendError"}
    ]


def test_a_4xx_fault_is_not_retried(sandbox: RunningSandbox) -> None:
    client = gcs(sandbox.providers["storage"].url)
    body = {"error": {"code": 403, "message": "Access denied.", "errors": []}}
    fault(sandbox, method="POST", path="^/storage/v1/b$", status=403, body=body)
    with pytest.raises(exceptions.Forbidden, match=r"Access denied\."):
        client.create_bucket("denied", retry=FAST)
    assert counts(sandbox)["POST /storage/v1/b"] == 1
    assert client.create_bucket("denied").name == "denied"


def test_a_slow_answer_is_a_client_timeout(sandbox: RunningSandbox) -> None:
    client = gcs(sandbox.providers["storage"].url)
    fault(sandbox, method="GET", path="^/storage/v1/b$", delay=2.0)
    with pytest.raises(requests.exceptions.ReadTimeout):
        list(client.list_buckets(timeout=0.2, retry=None))


def test_requests_are_counted_by_template(sandbox: RunningSandbox) -> None:
    client = gcs(sandbox.providers["storage"].url)
    bucket = client.create_bucket("counted")
    bucket.blob("a/b/c.txt").upload_from_string(b"x")
    bucket.blob("a/b/c.txt").delete()
    client.create_hmac_key("sa@p1.iam.gserviceaccount.com")
    seen = counts(sandbox)
    assert seen["POST /upload/storage/v1/b/{bucket}/o"] == 1
    assert seen["DELETE /storage/v1/b/{bucket}/o/{object}"] == 1
    assert seen["POST /storage/v1/projects/{project}/hmacKeys"] == 1


def test_data_survives_a_restart_and_reset_wipes_it(tmp_path: Path) -> None:
    state = tmp_path / "sb"
    with start_in_thread(state, names=["storage"]) as first:
        client = gcs(first.providers["storage"].url)
        bucket = client.bucket("kept")
        bucket.labels = {"vibn-stack": "demo"}
        client.create_bucket(bucket, location="northamerica-northeast1")
        key, _ = client.create_hmac_key("sa@p1.iam.gserviceaccount.com")
        url = first.providers["storage"].url
    saved = json.loads((state / "storage.json").read_text())
    assert "kept" in saved["buckets"]
    with start_in_thread(state, names=["storage"]) as second:
        assert second.providers["storage"].url == url
        client = gcs(url)
        got = client.get_bucket("kept")
        assert (got.labels, got.location) == ({"vibn-stack": "demo"}, "NORTHAMERICA-NORTHEAST1")
        assert client.get_hmac_key_metadata(key.access_id).state == "ACTIVE"
        with http_client(second.providers["storage"].control_url) as control:
            assert control.post("/reset").json() == {"reset": True, "emulator": "storage"}
        assert client.lookup_bucket("kept") is None


def test_hmac_create_is_not_retried_by_the_client(sandbox: RunningSandbox) -> None:
    client = gcs(sandbox.providers["storage"].url)
    fault(sandbox, method="POST", path="/hmacKeys$", status=503)
    with pytest.raises(exceptions.ServiceUnavailable):
        client.create_hmac_key("sa@p1.iam.gserviceaccount.com")
    assert counts(sandbox)["POST /storage/v1/projects/{project}/hmacKeys"] == 1
