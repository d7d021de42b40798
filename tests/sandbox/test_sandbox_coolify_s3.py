"""The Coolify emulator's ``/s3-storages`` routes and the backup runs that upload there,
against ``S3StoragesController``, ``DatabaseBackupJob`` and the published document."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import FakeClock, new_db, new_project

SECRET = "hmac-secret-never-shown-0123456789abcdef"


def s3_body(**over: Any) -> dict[str, Any]:
    body = {
        "name": "vibn-default-shop-backups",
        "description": "vibn:default/shop/backups.s3",
        "endpoint": "https://storage.googleapis.com",
        "bucket": "vibn-ws-default",
        "region": "northamerica-northeast1",
        "key": "GOOG1EXAMPLEACCESSID",
        "secret": SECRET,
    }
    return {**body, **over}


def new_s3(api: httpx.Client, **over: Any) -> str:
    resp = api.post("/s3-storages", json=s3_body(**over))
    assert resp.status_code == 201, resp.text
    return str(resp.json()["uuid"])


def test_create_answers_only_the_uuid_and_reads_never_show_credentials(api: httpx.Client) -> None:
    assert api.get("/s3-storages").json() == []
    created = api.post("/s3-storages", json=s3_body())
    assert created.status_code == 201
    assert set(created.json()) == {"uuid"} and len(created.json()["uuid"]) == 24
    uuid = created.json()["uuid"]
    got = api.get(f"/s3-storages/{uuid}")
    listed = api.get("/s3-storages")
    assert got.status_code == 200
    row = got.json()
    assert {"uuid", "name", "description", "endpoint", "bucket", "region", "is_usable"} <= set(row)
    assert {"team_id", "created_at", "updated_at"} <= set(row)
    assert not {"id", "key", "secret"} & set(row)
    assert (row["bucket"], row["is_usable"]) == ("vibn-ws-default", False)
    assert listed.json() == [row]
    for text in (created.text, got.text, listed.text):
        assert SECRET not in text and "GOOG1EXAMPLEACCESSID" not in text


def test_create_refuses_missing_unknown_and_malformed_fields(api: httpx.Client) -> None:
    missing = api.post("/s3-storages", json={"name": "x"})
    assert missing.status_code == 422
    assert missing.json() == {
        "message": "Validation failed.",
        "errors": {
            field: [f"The {field} field is required."]
            for field in ("endpoint", "bucket", "region", "key", "secret")
        },
    }
    extra = api.post("/s3-storages", json=s3_body(path="/backups"))
    assert extra.status_code == 422
    assert extra.json()["errors"] == {"path": ["This field is not allowed."]}
    for endpoint, message in (
        ("ftp://storage.googleapis.com", "The endpoint must use the http or https scheme."),
        ("not a url", "The endpoint must be a valid URL."),
        ("http://localhost:9000", "The endpoint must not point to localhost or internal hosts."),
        (
            "http://10.0.0.5:9000",
            "The endpoint must not point to private, reserved, loopback, or link-local addresses.",
        ),
    ):
        bad = api.post("/s3-storages", json=s3_body(endpoint=endpoint))
        assert bad.status_code == 422 and bad.json()["errors"] == {"endpoint": [message]}, endpoint
    for bucket in ("ab", "-bucket", "my..bucket", "192.168.1.1", 42):
        bad = api.post("/s3-storages", json=s3_body(bucket=bucket))
        assert bad.status_code == 422, bucket
        assert bad.json()["errors"]["bucket"][0].startswith("The bucket must be a valid S3")
    long_name = api.post("/s3-storages", json=s3_body(name="n" * 256, key=7))
    assert long_name.json()["errors"] == {
        "name": ["The name field must not be greater than 255 characters."],
        "key": ["The key field must be a string."],
    }
    assert api.get("/s3-storages").json() == []


def test_bodies_must_be_json(api: httpx.Client) -> None:
    form = api.post("/s3-storages", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert form.status_code == 400
    assert form.json()["error"] == "Content-Type must be application/json."
    assert api.post("/s3-storages", json={}).json()["error"] == "Empty JSON."


def test_update_validate_and_delete(api: httpx.Client) -> None:
    uuid = new_s3(api)
    patched = api.patch(f"/s3-storages/{uuid}", json={"bucket": "other-bucket", "secret": "s2"})
    assert patched.status_code == 200 and patched.json() == {"uuid": uuid}
    row = api.get(f"/s3-storages/{uuid}").json()
    assert row["bucket"] == "other-bucket" and "secret" not in row
    bad = api.patch(f"/s3-storages/{uuid}", json={"region": ["x"], "team_id": 3})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "region": ["The region field must be a string."],
        "team_id": ["This field is not allowed."],
    }
    # the body is validated before the storage is looked up, as in the controller
    assert api.patch("/s3-storages/nope", json={"bucket": "-"}).status_code == 422
    missing = api.patch("/s3-storages/nope", json={"bucket": "fine-bucket"})
    assert missing.status_code == 404 and missing.json() == {"message": "S3 storage not found."}

    valid = api.post(f"/s3-storages/{uuid}/validate")
    assert valid.status_code == 200
    assert valid.json() == {"valid": True, "message": "S3 storage connection is valid."}
    assert api.get(f"/s3-storages/{uuid}").json()["is_usable"] is True
    assert api.post("/s3-storages/nope/validate").status_code == 404

    assert api.delete(f"/s3-storages/{uuid}").json() == {"message": "S3 storage deleted."}
    assert api.get(f"/s3-storages/{uuid}").status_code == 404
    assert api.delete(f"/s3-storages/{uuid}").json() == {"message": "S3 storage not found."}


def test_routes_need_the_token(anonymous: httpx.Client) -> None:
    assert anonymous.get("/s3-storages").status_code == 401
    assert anonymous.post("/s3-storages/x/validate").json() == {"message": "Unauthenticated."}


def _backup_now(timed: httpx.Client, db: str, s3: str | None) -> str:
    body: dict[str, Any] = {"frequency": "daily", "backup_now": True}
    if s3 is not None:
        body.update(save_s3=True, s3_storage_uuid=s3)
    created = timed.post(f"/databases/{db}/backups", json=body)
    assert created.status_code == 201, created.text
    return str(created.json()["uuid"])


def _full_runs(timed: httpx.Client, db: str) -> list[dict[str, Any]]:
    (schedule,) = timed.get(f"/databases/{db}/backups").json()
    runs: list[dict[str, Any]] = schedule["executions"]
    return runs


def test_backup_now_uploads_under_the_databases_directory(
    timed: httpx.Client, clock: FakeClock
) -> None:
    db = new_db(timed, new_project(timed), name="shop-database")
    backup = _backup_now(timed, db, new_s3(timed))
    (run,) = timed.get(f"/databases/{db}/backups/{backup}/executions").json()["executions"]
    assert set(run) == {"uuid", "filename", "size", "created_at", "message", "status"}
    assert run["status"] == "running" and run["created_at"].endswith("+00:00")
    assert run["filename"].startswith(
        f"/data/coolify/backups/databases/root-team-0/shop-database-{db}/"
    )
    assert run["filename"].endswith(f"/pg-dump-postgres-{int(clock.now)}.dmp")
    assert _full_runs(timed, db)[0]["s3_uploaded"] is None  # not known while running
    clock.advance(1.0)
    (full,) = _full_runs(timed, db)
    assert (full["uuid"], full["status"], full["s3_uploaded"]) == (run["uuid"], "success", True)
    assert full["size"] > 0 and full["database_name"] == "postgres"
    again = timed.patch(f"/databases/{db}/backups/{backup}", json={"backup_now": True})
    assert again.status_code == 200
    runs = timed.get(f"/databases/{db}/backups/{backup}/executions").json()["executions"]
    assert len(runs) == 2 and runs[1]["uuid"] == run["uuid"]  # newest first


def test_local_only_schedule_records_no_upload(timed: httpx.Client, clock: FakeClock) -> None:
    db = new_db(timed, new_project(timed), "mysql", mysql_database="shop")
    _backup_now(timed, db, None)
    clock.advance(1.0)
    (run,) = _full_runs(timed, db)
    assert run["status"] == "success" and run["s3_uploaded"] is None
    assert run["filename"].endswith(f"/mysql-dump-shop-{int(clock.now - 1.0)}.dmp")


@pytest.mark.parametrize(
    ("listed", "dumped"), [("", ["all"]), ("shop:sessions,logs|crm", ["shop", "crm"])]
)
def test_mongo_dumps_are_archives_one_per_database(
    timed: httpx.Client, clock: FakeClock, listed: str, dumped: list[str]
) -> None:
    db = new_db(timed, new_project(timed), "mongodb")
    body = {"frequency": "daily", "backup_now": True, "databases_to_backup": listed}
    assert timed.post(f"/databases/{db}/backups", json=body).status_code == 201
    runs = _full_runs(timed, db)
    names = sorted(r["filename"].rsplit("/", 1)[1] for r in runs)
    assert names == sorted(f"mongo-dump-{n}-{int(clock.now)}.tar.gz" for n in dumped)


def test_deleting_a_storage_in_use_is_allowed_and_the_next_run_disables_s3(
    timed: httpx.Client, clock: FakeClock
) -> None:
    db = new_db(timed, new_project(timed))
    s3 = new_s3(timed)
    backup = _backup_now(timed, db, s3)
    clock.advance(1.0)
    assert timed.delete(f"/s3-storages/{s3}").status_code == 200  # no foreign key stops it
    (schedule,) = timed.get(f"/databases/{db}/backups").json()
    assert schedule["save_s3"] is True  # untouched until the next run
    again = timed.patch(f"/databases/{db}/backups/{backup}", json={"save_s3": True})
    assert again.json()["errors"] == {
        "s3_storage_uuid": ["The s3_storage_uuid field is required when save_s3 is true."]
    }
    timed.patch(f"/databases/{db}/backups/{backup}", json={"backup_now": True})
    clock.advance(1.0)
    (schedule,) = timed.get(f"/databases/{db}/backups").json()
    assert (schedule["save_s3"], schedule["s3_storage_id"]) == (False, None)
    latest, first = schedule["executions"]
    assert (latest["status"], latest["s3_uploaded"]) == ("success", False)
    assert latest["message"].startswith("Warning: S3 upload failed: S3 storage configuration")
    assert "S3 backup has been disabled for this schedule." in latest["message"]
    assert first["s3_uploaded"] is True
