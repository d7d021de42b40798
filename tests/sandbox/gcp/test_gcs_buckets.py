"""Storage emulator buckets, driven through google-cloud-storage and raw HTTP.

What vibn's bucket driver will rely on: location/labels/lifecycle/UBLA kept from
create, merge-patch of labels (a removed label is sent as null), metageneration
preconditions, the 409s and 404s surfacing as google-api-core exceptions, real
pagination, and the client's ``STORAGE_EMULATOR_HOST`` override.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from vibn.sandbox.server import RunningSandbox

from ..helpers import client as http_client

SA = "sa@p1.iam.gserviceaccount.com"


def gcs(url: str, project: str = "p1") -> storage.Client:
    return storage.Client(
        project=project, credentials=AnonymousCredentials(), client_options={"api_endpoint": url}
    )


@pytest.fixture
def url(sandbox: RunningSandbox) -> str:
    return sandbox.providers["storage"].url


@pytest.fixture
def client(url: str) -> storage.Client:
    return gcs(url)


@pytest.fixture
def raw(url: str) -> Iterator[httpx.Client]:
    with http_client(url) as c:
        yield c


def new_bucket(client: storage.Client, name: str = "app-bucket", **labels: str) -> storage.Bucket:
    bucket = client.bucket(name)
    bucket.labels = {"vibn-stack": "demo", **labels}
    bucket.add_lifecycle_delete_rule(age=30)
    bucket.iam_configuration.uniform_bucket_level_access_enabled = True
    bucket.storage_class = "STANDARD"
    return client.create_bucket(bucket, location="northamerica-northeast1")


def test_create_keeps_location_labels_lifecycle_and_ubla(client: storage.Client) -> None:
    new_bucket(client, team="web")
    got = client.get_bucket("app-bucket")
    assert got.location == "NORTHAMERICA-NORTHEAST1"
    assert got.location_type == "region"
    assert got.storage_class == "STANDARD"
    assert got.labels == {"vibn-stack": "demo", "team": "web"}
    assert [dict(r) for r in got.lifecycle_rules] == [
        {"action": {"type": "Delete"}, "condition": {"age": 30}}
    ]
    assert got.iam_configuration.uniform_bucket_level_access_enabled is True
    assert got.iam_configuration.bucket_policy_only_enabled is True
    assert got.iam_configuration.public_access_prevention == "inherited"
    assert got.metageneration == 1
    assert got.etag == "CAE="
    assert got.project_number is not None and got.time_created is not None
    assert got.id == "app-bucket"


def test_default_location_is_us_multi_region(client: storage.Client) -> None:
    bucket = client.create_bucket("plain-bucket")
    assert (bucket.location, bucket.location_type) == ("US", "multi-region")
    assert bucket.labels == {}
    assert bucket.iam_configuration.uniform_bucket_level_access_enabled is False


def test_patch_removes_a_label_with_null_and_bumps_metageneration(
    client: storage.Client, raw: httpx.Client
) -> None:
    bucket = new_bucket(client, team="web")
    bucket.labels = {"vibn-stack": "demo2"}
    bucket.patch()
    assert bucket.labels == {"vibn-stack": "demo2"}
    assert bucket.metageneration == 2
    sent = raw.patch("/storage/v1/b/app-bucket", json={"labels": {"vibn-stack": None, "a": "b"}})
    assert sent.status_code == 200
    assert sent.json()["labels"] == {"a": "b"}
    assert sent.json()["metageneration"] == "3"
    assert sent.json()["etag"] == "CAM="


def test_patch_lifecycle_versioning_and_ubla(client: storage.Client) -> None:
    bucket = new_bucket(client)
    bucket.clear_lifecycle_rules()
    bucket.add_lifecycle_set_storage_class_rule("NEARLINE", age=60, matches_prefix=["logs/"])
    bucket.versioning_enabled = True
    bucket.iam_configuration.uniform_bucket_level_access_enabled = False
    bucket.patch()
    got = client.get_bucket("app-bucket")
    assert [dict(r) for r in got.lifecycle_rules] == [
        {
            "action": {"type": "SetStorageClass", "storageClass": "NEARLINE"},
            "condition": {"age": 60, "matchesPrefix": ["logs/"]},
        }
    ]
    assert got.versioning_enabled is True
    assert got.iam_configuration.uniform_bucket_level_access_enabled is False
    assert got.iam_configuration.bucket_policy_only_enabled is False
    got.clear_lifecycle_rules()
    got.patch()
    assert list(client.get_bucket("app-bucket").lifecycle_rules) == []


def test_metageneration_precondition(client: storage.Client) -> None:
    bucket = new_bucket(client)
    bucket.labels = {"a": "1"}
    bucket.patch(if_metageneration_match=1)
    bucket.labels = {"a": "2"}
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.patch(if_metageneration_match=1)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.delete(if_metageneration_match=1)


def test_duplicate_names_are_conflicts_across_the_global_namespace(
    client: storage.Client, url: str
) -> None:
    new_bucket(client)
    with pytest.raises(exceptions.Conflict, match="you already own it"):
        new_bucket(client)
    with pytest.raises(exceptions.Conflict, match="The requested bucket name is not available"):
        gcs(url, "p2").create_bucket("app-bucket")


def test_missing_and_invalid_buckets(client: storage.Client) -> None:
    with pytest.raises(exceptions.NotFound, match=r"The specified bucket does not exist\."):
        client.get_bucket("nope-bucket")
    assert client.lookup_bucket("nope-bucket") is None
    for name in ("Bad_Name", "goog-bucket", "ab", "192.168.1.1", "a" * 64):
        with pytest.raises(exceptions.BadRequest, match="Invalid bucket name"):
            client.create_bucket(name)
    with pytest.raises(exceptions.BadRequest, match="location constraint is not valid"):
        client.create_bucket("ok-bucket", location="moon-base1!")


def test_list_paginates_by_project_and_prefix(
    client: storage.Client, url: str, raw: httpx.Client
) -> None:
    for i in range(5):
        client.create_bucket(f"app-{i}")
    client.create_bucket("other-x")
    gcs(url, "p2").create_bucket("app-of-p2")
    pages = list(client.list_buckets(prefix="app-", page_size=2).pages)
    assert [[b.name for b in page] for page in pages] == [
        ["app-0", "app-1"],
        ["app-2", "app-3"],
        ["app-4"],
    ]
    first = raw.get("/storage/v1/b", params={"project": "p1", "maxResults": 4}).json()
    assert first["kind"] == "storage#buckets" and len(first["items"]) == 4
    rest = raw.get(
        "/storage/v1/b", params={"project": "p1", "pageToken": first["nextPageToken"]}
    ).json()
    assert [b["name"] for b in rest["items"]] == ["app-4", "other-x"]
    assert "nextPageToken" not in rest
    empty = raw.get("/storage/v1/b", params={"project": "nobody"}).json()
    assert empty == {"kind": "storage#buckets"}


def test_delete_refuses_a_bucket_that_holds_objects(client: storage.Client) -> None:
    bucket = new_bucket(client)
    blob = bucket.blob("dir/a b.txt")
    blob.upload_from_string(b"hello", content_type="text/plain")
    assert [b.name for b in client.list_blobs("app-bucket")] == ["dir/a b.txt"]
    assert bucket.blob("dir/a b.txt").download_as_bytes() == b"hello"
    with pytest.raises(exceptions.Conflict, match=r"The bucket you tried to delete is not empty\."):
        bucket.delete()
    blob.delete()
    bucket.delete()
    assert client.lookup_bucket("app-bucket") is None


def test_media_upload_and_object_listing_over_raw_http(
    client: storage.Client, raw: httpx.Client
) -> None:
    client.create_bucket("objs")
    for name in ("a/1", "a/2", "b", "download"):
        put = raw.post(
            "/upload/storage/v1/b/objs/o",
            params={"uploadType": "media", "name": name},
            content=b"x",
            headers={"content-type": "application/octet-stream"},
        )
        assert put.status_code == 200, put.text
    listed = raw.get("/storage/v1/b/objs/o", params={"delimiter": "/"}).json()
    assert listed["prefixes"] == ["a/"]
    assert [i["name"] for i in listed["items"]] == ["b", "download"]
    meta = raw.get("/storage/v1/b/objs/o/download").json()
    assert meta["kind"] == "storage#object" and meta["size"] == "1"
    assert raw.get("/storage/v1/b/objs/o/b", params={"alt": "media"}).content == b"x"
    assert raw.delete("/storage/v1/b/objs/o/a%2F1").status_code == 204
    assert raw.delete("/storage/v1/b/objs/o/a%2F1").status_code == 404


def test_error_shapes_are_gcs_shapes(client: storage.Client, raw: httpx.Client) -> None:
    missing = raw.get("/storage/v1/b/nope-bucket", params={"prettyPrint": "false"})
    message = "The specified bucket does not exist."
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "code": 404,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": "notFound"}],
        }
    }
    no_project = raw.post("/storage/v1/b", json={"name": "x-bucket"})
    assert no_project.status_code == 400
    assert no_project.json()["error"]["errors"][0]["reason"] == "required"
    assert no_project.json()["error"]["message"] == "Required parameter: project"
    new_bucket(client)
    dup = raw.post("/storage/v1/b", params={"project": "p1"}, json={"name": "app-bucket"})
    assert dup.status_code == 409
    assert dup.json()["error"]["errors"][0]["reason"] == "conflict"
    stale = raw.patch(
        "/storage/v1/b/app-bucket", params={"ifMetagenerationMatch": "9"}, json={"labels": {}}
    )
    assert stale.status_code == 412
    assert stale.json()["error"]["errors"][0]["reason"] == "conditionNotMet"
    bad_json = raw.post("/storage/v1/b", params={"project": "p1"}, content=b"{nope")
    assert bad_json.json()["error"]["errors"][0]["reason"] == "parseError"


def test_invalid_labels_and_lifecycle_are_refused(raw: httpx.Client) -> None:
    cases: list[dict[str, Any]] = [
        {"labels": {"Upper": "x"}},
        {"labels": {"ok": "Has Space"}},
        {"lifecycle": {"rule": [{"action": {"type": "Explode"}, "condition": {"age": 1}}]}},
        {"lifecycle": {"rule": [{"action": {"type": "Delete"}, "condition": {}}]}},
        {"storageClass": "SUPERCOLD"},
        {"iamConfiguration": {"publicAccessPrevention": "sometimes"}},
    ]
    for i, extra in enumerate(cases):
        resp = raw.post(
            "/storage/v1/b", params={"project": "p1"}, json={"name": f"bad-{i}", **extra}
        )
        assert resp.status_code == 400, (extra, resp.text)
        assert resp.json()["error"]["errors"][0]["reason"] == "invalid"


def test_location_cannot_change(client: storage.Client, raw: httpx.Client) -> None:
    new_bucket(client)
    resp = raw.patch("/storage/v1/b/app-bucket", json={"location": "US"})
    assert resp.status_code == 400
    same = raw.patch("/storage/v1/b/app-bucket", json={"location": "northamerica-northeast1"})
    assert same.status_code == 200


def test_storage_emulator_host_env(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", url)
    client = storage.Client(project="p1")
    client.create_bucket("via-env", location="northamerica-northeast2")
    assert client.get_bucket("via-env").location == "NORTHAMERICA-NORTHEAST2"
    assert [b.name for b in client.list_buckets()] == ["via-env"]


def test_full_update_replaces_the_writable_fields(
    client: storage.Client, raw: httpx.Client
) -> None:
    bucket = new_bucket(client, team="web")
    bucket.labels = {"only": "this"}
    bucket.update()
    got = client.get_bucket("app-bucket")
    assert got.labels == {"only": "this"} and got.metageneration == 2
    assert got.location == "NORTHAMERICA-NORTHEAST1"
    bare = raw.put("/storage/v1/b/app-bucket", json={"name": "app-bucket"}).json()
    assert "labels" not in bare and "lifecycle" not in bare
    assert bare["iamConfiguration"]["uniformBucketLevelAccess"] == {"enabled": False}
    wrong = raw.put("/storage/v1/b/app-bucket", json={"name": "other-bucket"})
    assert wrong.status_code == 400


def test_projection_fields_and_not_modified(client: storage.Client, raw: httpx.Client) -> None:
    client.create_bucket("acl-bucket")
    new_bucket(client)
    full = raw.get("/storage/v1/b/acl-bucket", params={"projection": "full"}).json()
    assert [a["role"] for a in full["acl"]] == ["OWNER", "OWNER", "READER"]
    assert full["owner"]["entity"].startswith("project-owners-")
    assert "acl" not in raw.get("/storage/v1/b/acl-bucket").json()
    ubla = raw.get("/storage/v1/b/app-bucket", params={"projection": "full"}).json()
    assert "acl" not in ubla and "owner" in ubla
    trimmed = raw.get("/storage/v1/b", params={"project": "p1", "fields": "items(name)"}).json()
    assert trimmed == {"items": [{"name": "acl-bucket"}, {"name": "app-bucket"}]}
    same = raw.get("/storage/v1/b/app-bucket", params={"ifMetagenerationNotMatch": "1"})
    assert same.status_code == 304
