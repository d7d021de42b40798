"""Databases of every flavour, their URLs and states; backups and S3 destinations."""

from __future__ import annotations

import re

import httpx
import pytest

from .helpers import FakeClock, new_db, new_project, placement

URLS = {
    "postgresql": r"postgres://postgres:\w{64}@{u}:5432/postgres",
    "mysql": r"mysql://mysql:\w{64}@{u}:3306/default",
    "mariadb": r"mysql://mariadb:\w{64}@{u}:3306/default",
    "mongodb": r"mongodb://root:\w{64}@{u}:27017/\?directConnection=true",
    "redis": r"redis://default:\w{64}@{u}:6379/0",
    "keydb": r"redis://:\w{64}@{u}:6379/0",
    "dragonfly": r"redis://:\w{64}@{u}:6379/0",
    "clickhouse": r"clickhouse://default:\w{64}@{u}:9000/default",
}
BACKUPS = {"postgresql", "mysql", "mariadb", "mongodb", "clickhouse"}


@pytest.mark.parametrize("flavor", sorted(URLS))
def test_create_each_flavour(api: httpx.Client, project: str, flavor: str) -> None:
    resp = api.post(f"/databases/{flavor}", json={**placement(project), "tags": ["vibn-ws"]})
    assert resp.status_code == 201
    uuid = resp.json()["uuid"]
    assert set(resp.json()) == {"uuid", "internal_db_url"}
    assert re.fullmatch(URLS[flavor].replace("{u}", uuid), resp.json()["internal_db_url"])
    (listed,) = api.get("/databases").json()
    assert listed["database_type"] == f"standalone-{flavor}"
    assert listed["status"] == "exited"
    assert listed["internal_db_url"] == resp.json()["internal_db_url"]
    assert listed["backup_configs"] == [] and listed["image"]
    assert "id" not in listed
    backup = api.post(f"/databases/{uuid}/backups", json={"frequency": "daily"})
    if flavor in BACKUPS:
        assert backup.status_code == 201
    else:
        assert backup.status_code == 422
        assert backup.json() == {
            "message": "Scheduled backups are not supported for this database type."
        }


def test_given_credentials_and_public_port(api: httpx.Client, project: str) -> None:
    body = {
        **placement(project),
        "postgres_user": "app",
        "postgres_password": "s3cret",
        "postgres_db": "shop",
        "is_public": True,
        "public_port": 15432,
        "description": "vibn:w/s/database.main",
    }
    resp = api.post("/databases/postgresql", json=body).json()
    assert resp["internal_db_url"] == f"postgres://app:s3cret@{resp['uuid']}:5432/shop"
    assert resp["external_db_url"] == "postgres://app:s3cret@127.0.0.1:15432/shop"
    db = api.get(f"/databases/{resp['uuid']}").json()
    assert (db["postgres_db"], db["is_public"], db["description"]) == (
        "shop",
        True,
        "vibn:w/s/database.main",
    )


def test_other_flavour_fields_and_bad_values_are_refused(api: httpx.Client, project: str) -> None:
    resp = api.post(
        "/databases/redis",
        json={**placement(project), "postgres_user": "x", "public_port": 80, "redis_conf": "%%"},
    )
    assert resp.status_code == 422
    assert resp.json()["errors"] == {
        "public_port": ["The public port field must be at least 1024."],
        "postgres_user": ["This field is not allowed."],
    }
    conf = api.post("/databases/redis", json={**placement(project), "redis_conf": "%%"})
    assert conf.json() == {
        "message": "Validation failed.",
        "errors": {"redis_conf": "The redis_conf should be base64 encoded."},
    }


def test_patch_start_stop_delete(timed: httpx.Client, clock: FakeClock) -> None:
    db = new_db(timed, new_project(timed))
    patched = timed.patch(f"/databases/{db}", json={"name": "main", "limits_memory": "512m"})
    assert patched.json() == {"message": "Database updated."}
    refused = timed.patch(f"/databases/{db}", json={"mysql_user": "x"})
    assert refused.json()["errors"] == {"mysql_user": ["This field is not allowed."]}
    assert timed.post(f"/databases/{db}/stop").json() == {"message": "Database is already stopped."}
    assert timed.post(f"/databases/{db}/start").json() == {
        "message": "Database starting request queued."
    }
    assert timed.get(f"/databases/{db}").json()["status"] == "starting:unknown"
    clock.advance(0.3)
    got = timed.get(f"/databases/{db}").json()
    assert (got["status"], got["name"], got["limits_memory"]) == ("running:healthy", "main", "512m")
    assert timed.post(f"/databases/{db}/start").status_code == 400
    assert timed.post(f"/databases/{db}/stop").status_code == 200
    assert timed.get(f"/databases/{db}").json()["status"] == "exited"
    gone = timed.delete(f"/databases/{db}")
    assert gone.json() == {"message": "Database deletion request queued."}
    clock.advance(0.3)
    assert timed.get(f"/databases/{db}").json() == {"message": "Database not found."}


def test_backup_rules_and_executions(timed: httpx.Client, clock: FakeClock) -> None:
    db = new_db(timed, new_project(timed))
    bad = timed.post(f"/databases/{db}/backups", json={"frequency": "sometimes", "timeout": 5})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {
        "timeout": ["The timeout field must be at least 60."],
        "frequency": ["Invalid cron expression or frequency format."],
    }
    no_s3 = timed.post(f"/databases/{db}/backups", json={"frequency": "daily", "save_s3": True})
    assert "s3_storage_uuid" in no_s3.json()["errors"]
    s3 = timed.post(
        "/s3-storages",
        json={
            "name": "backups",
            "endpoint": "https://storage.googleapis.com",
            "bucket": "acme-backups",
            "region": "northamerica-northeast1",
            "key": "GOOG1",
            "secret": "shh",
        },
    )
    assert s3.status_code == 201
    body = {
        "frequency": "0 3 * * *",
        "save_s3": True,
        "s3_storage_uuid": s3.json()["uuid"],
        "backup_now": True,
    }
    created = timed.post(f"/databases/{db}/backups", json=body)
    assert created.status_code == 201
    assert created.json()["message"] == "Backup configuration created successfully."
    backup = created.json()["uuid"]
    (listed,) = timed.get(f"/databases/{db}/backups").json()
    assert (listed["frequency"], listed["save_s3"], listed["databases_to_backup"]) == (
        "0 3 * * *",
        True,
        "postgres",
    )
    runs = timed.get(f"/databases/{db}/backups/{backup}/executions").json()["executions"]
    assert [r["status"] for r in runs] == ["running"]
    clock.advance(1.0)
    runs = timed.get(f"/databases/{db}/backups/{backup}/executions").json()["executions"]
    assert runs[0]["status"] == "success" and runs[0]["size"] > 0
    patched = timed.patch(f"/databases/{db}/backups/{backup}", json={"frequency": "hourly"})
    assert patched.status_code == 200
    assert timed.get(f"/databases/{db}/backups").json()[0]["frequency"] == "hourly"
    deleted = timed.delete(f"/databases/{db}/backups/{backup}")
    assert deleted.json() == {"message": "Backup configuration and all executions deleted."}
    assert timed.get(f"/databases/{db}/backups").json() == []


def test_s3_storage_crud(api: httpx.Client) -> None:
    missing = api.post("/s3-storages", json={"name": "x"})
    assert missing.status_code == 422
    assert set(missing.json()["errors"]) == {"endpoint", "bucket", "region", "key", "secret"}
    body = {
        "name": "b",
        "endpoint": "https://s3.example.com",
        "bucket": "bucket-1",
        "region": "ca-central-1",
        "key": "k",
        "secret": "s",
    }
    uuid = api.post("/s3-storages", json=body).json()["uuid"]
    got = api.get(f"/s3-storages/{uuid}").json()
    assert (got["bucket"], got["region"], got["is_usable"]) == ("bucket-1", "ca-central-1", False)
    assert "id" not in got
    assert api.patch(f"/s3-storages/{uuid}", json={"bucket": "bucket-2"}).json() == {"uuid": uuid}
    assert api.get("/s3-storages").json()[0]["bucket"] == "bucket-2"
    assert api.delete(f"/s3-storages/{uuid}").json() == {"message": "S3 storage deleted."}
    assert api.get(f"/s3-storages/{uuid}").json() == {"message": "S3 storage not found."}
