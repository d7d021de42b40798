"""Storage emulator HMAC keys and bucket IAM, through the official clients.

vibn gives an app S3-style credentials (an HMAC key of a service account) and
makes a bucket publicly readable (``allUsers`` -> ``roles/storage.objectViewer``);
both go through google-cloud-storage, and the discovery client
(google-api-python-client) is checked to reach the same endpoints.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from vibn.sandbox.server import RunningSandbox

from ..helpers import client as http_client

SA = "app@p1.iam.gserviceaccount.com"


@pytest.fixture
def url(sandbox: RunningSandbox) -> str:
    return sandbox.providers["storage"].url


@pytest.fixture
def client(url: str) -> storage.Client:
    return storage.Client(
        project="p1", credentials=AnonymousCredentials(), client_options={"api_endpoint": url}
    )


@pytest.fixture
def raw(url: str) -> Iterator[httpx.Client]:
    with http_client(url) as c:
        yield c


def test_hmac_key_lifecycle(client: storage.Client, raw: httpx.Client) -> None:
    key, secret = client.create_hmac_key(SA)
    assert key.access_id.startswith("GOOG1E") and len(key.access_id) == 61
    assert len(secret) == 40 and len(base64.b64decode(secret)) == 30
    assert (key.state, key.service_account_email, key.project) == ("ACTIVE", SA, "p1")
    assert key.id == f"p1/{key.access_id}"
    got = client.get_hmac_key_metadata(key.access_id)
    assert got.state == "ACTIVE" and got.etag == key.etag
    raw_get = raw.get(f"/storage/v1/projects/p1/hmacKeys/{key.access_id}").json()
    assert "secret" not in raw_get and raw_get["kind"] == "storage#hmacKeyMetadata"

    with pytest.raises(exceptions.BadRequest, match=r"Cannot delete keys in ACTIVE state\."):
        got.delete()
    got.state = "INACTIVE"
    got.update()
    assert got.state == "INACTIVE" and got.etag != key.etag
    got.delete()
    assert client.get_hmac_key_metadata(key.access_id).state == "DELETED"
    assert list(client.list_hmac_keys(service_account_email=SA)) == []
    deleted = list(client.list_hmac_keys(service_account_email=SA, show_deleted_keys=True))
    assert [k.access_id for k in deleted] == [key.access_id]
    revive = raw.put(f"/storage/v1/projects/p1/hmacKeys/{key.access_id}", json={"state": "ACTIVE"})
    assert revive.status_code == 400
    got.state = "ACTIVE"
    with pytest.raises(exceptions.BadRequest, match="DELETED"):
        got.update()


def test_hmac_missing_key_and_bad_requests(client: storage.Client, raw: httpx.Client) -> None:
    with pytest.raises(exceptions.NotFound):
        client.get_hmac_key_metadata("GOOG1EMISSING")
    no_email = raw.post("/storage/v1/projects/p1/hmacKeys")
    assert no_email.status_code == 400
    assert no_email.json()["error"]["errors"][0]["reason"] == "required"
    key, _ = client.create_hmac_key(SA)
    bad_state = raw.put(f"/storage/v1/projects/p1/hmacKeys/{key.access_id}", json={"state": "X"})
    assert bad_state.status_code == 400
    stale = raw.put(
        f"/storage/v1/projects/p1/hmacKeys/{key.access_id}",
        json={"state": "INACTIVE", "etag": "stale"},
    )
    assert stale.status_code == 412
    other_project = raw.get(f"/storage/v1/projects/p2/hmacKeys/{key.access_id}")
    assert other_project.status_code == 404


def test_hmac_keys_per_service_account_are_capped_at_ten(client: storage.Client) -> None:
    keys = [client.create_hmac_key(SA)[0] for _ in range(10)]
    with pytest.raises(exceptions.BadRequest, match="maximum of 10 HMAC keys"):
        client.create_hmac_key(SA)
    client.create_hmac_key("other@p1.iam.gserviceaccount.com")
    keys[0].state = "INACTIVE"
    keys[0].update()
    with pytest.raises(exceptions.BadRequest):
        client.create_hmac_key(SA)
    keys[0].delete()
    client.create_hmac_key(SA)


def test_hmac_list_paginates(client: storage.Client, raw: httpx.Client) -> None:
    made = sorted(client.create_hmac_key(SA)[0].access_id for _ in range(5))
    pages = list(client.list_hmac_keys(max_results=None).pages)
    assert sorted(k.access_id for page in pages for k in page) == made
    first = raw.get("/storage/v1/projects/p1/hmacKeys", params={"maxResults": 3}).json()
    assert first["kind"] == "storage#hmacKeysMetadata" and len(first["items"]) == 3
    rest = raw.get(
        "/storage/v1/projects/p1/hmacKeys", params={"pageToken": first["nextPageToken"]}
    ).json()
    assert [k["accessId"] for k in first["items"] + rest["items"]] == made


def test_public_read_binding_round_trips(client: storage.Client) -> None:
    bucket = client.bucket("site")
    bucket.iam_configuration.uniform_bucket_level_access_enabled = True
    bucket = client.create_bucket(bucket, location="northamerica-northeast1")
    policy = bucket.get_iam_policy(requested_policy_version=3)
    assert policy.etag == "CAE="
    assert {b["role"] for b in policy.bindings} >= {"roles/storage.legacyBucketOwner"}
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})
    bucket.set_iam_policy(policy)
    again = client.bucket("site").get_iam_policy()
    viewers = [b for b in again.bindings if b["role"] == "roles/storage.objectViewer"]
    assert viewers == [{"role": "roles/storage.objectViewer", "members": {"allUsers"}}]
    assert client.get_bucket("site").metageneration == 2
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.set_iam_policy(policy)  # its etag is the one before the change


def test_public_access_prevention_refuses_public_members(client: storage.Client) -> None:
    bucket = client.create_bucket("private-site")
    bucket.iam_configuration.public_access_prevention = "enforced"
    bucket.patch()
    policy = bucket.get_iam_policy()
    policy.bindings.append({"role": "roles/storage.objectViewer", "members": {"allUsers"}})
    with pytest.raises(exceptions.PreconditionFailed, match="public access prevention"):
        bucket.set_iam_policy(policy)


def test_bad_policies_are_refused(client: storage.Client, raw: httpx.Client) -> None:
    client.create_bucket("b-iam")
    for binding in (
        {"role": "storage.objectViewer", "members": ["allUsers"]},
        {"role": "roles/storage.objectViewer", "members": ["someone"]},
    ):
        resp = raw.put("/storage/v1/b/b-iam/iam", json={"bindings": [binding]})
        assert resp.status_code == 400, binding
    missing = raw.get("/storage/v1/b/nope-bucket/iam")
    assert missing.status_code == 404


def test_discovery_client_reaches_iam_and_hmac(url: str, client: storage.Client) -> None:
    client.create_bucket("via-discovery")
    with build(
        "storage",
        "v1",
        static_discovery=True,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": url + "/storage/v1/"},
    ) as api:
        policy = api.buckets().getIamPolicy(bucket="via-discovery").execute()
        policy["bindings"].append({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
        saved = api.buckets().setIamPolicy(bucket="via-discovery", body=policy).execute()
        assert saved["etag"] == "CAI="
        made = api.projects().hmacKeys().create(projectId="p1", serviceAccountEmail=SA).execute()
        assert made["kind"] == "storage#hmacKey" and len(made["secret"]) == 40
        access_id = made["metadata"]["accessId"]
        with pytest.raises(HttpError) as err:
            api.projects().hmacKeys().delete(projectId="p1", accessId=access_id).execute()
    assert err.value.resp.status == 400
