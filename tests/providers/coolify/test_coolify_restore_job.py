"""The restore job's parts: the presigned dump URL, the job's environment and script, and
the Docker-image application as the Coolify emulator holds it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from vibn.providers.base import Observed
from vibn.providers.coolify import restore_job
from vibn.providers.coolify.restore_job import Placement, S3Target
from vibn.sandbox.coolify import SERVER_UUID
from vibn.specs.values import Sensitive

from .helpers import STACK, Coolify, desired

DUMP = "/data/coolify/backups/databases/root-team-0/shop-db-abc/pg-dump-postgres-1790000000.dmp"


def test_presigning_matches_the_aws_signature_v4_example() -> None:
    url = restore_job.presign_get(
        "https://examplebucket.s3.amazonaws.com",
        "/test.txt",
        "us-east-1",
        "AKIAIOSFODNN7EXAMPLE",
        Sensitive("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        datetime(2013, 5, 24, tzinfo=UTC),
        86400,
    )
    assert url.endswith(
        "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )


def test_the_dump_url_is_path_style_in_the_bucket_and_holds_no_secret() -> None:
    target = S3Target(
        "https://storage.googleapis.com",
        "vibn-ws-default",
        "northamerica-northeast1",
        "GOOG1EXAMPLEACCESSID",
        Sensitive("hmac-secret"),
    )
    url = target.presigned_get(DUMP, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), 3600)
    assert url.startswith(f"https://storage.googleapis.com/vibn-ws-default{DUMP}?")
    assert "X-Amz-Credential=GOOG1EXAMPLEACCESSID%2F20260102%2Fnorthamerica-northeast1" in url
    assert "X-Amz-Date=20260102T030405Z&X-Amz-Expires=3600" in url
    assert "hmac-secret" not in url


def test_mysql_jobs_log_in_as_root() -> None:
    database = {"internal_db_url": "mysql://shop:pw@abc123:3306/shop", "mysql_root_password": "r"}
    env = restore_job.job_env(database, "mysql", "/d/mysql-dump-shop-1.dmp", "https://x")
    assert (env["VIBN_DB_HOST"], env["VIBN_DB_PORT"], env["VIBN_DB_NAME"]) == (
        "abc123",
        "3306",
        "shop",
    )
    assert (env["VIBN_DB_USER"], env["MYSQL_PWD"]) == ("root", "r")
    assert env["VIBN_DUMP_FILE"] == "mysql-dump-shop-1.dmp"


@pytest.mark.parametrize(
    ("engine", "loads"),
    [
        ("postgresql", "pg_restore --clean --if-exists"),
        ("mysql", '"$client" -h "$VIBN_DB_HOST"'),
        ("mariadb", "command -v mariadb || command -v mysql"),
        ("mongodb", "mongorestore --quiet --uri="),
    ],
)
def test_each_engine_has_a_script_that_stops_at_the_first_error(engine: str, loads: str) -> None:
    script = restore_job.script(engine)
    assert script.startswith("set -eu\n") and loads in script
    assert "&&" not in script  # set -e does not stop inside an && list
    assert "$VIBN_DUMP_URL" in script and script.rstrip().endswith('echo "vibn restore: done"')


def test_the_job_runs_the_databases_image_idle_with_the_dump_url(
    coolify: Coolify, project: Observed
) -> None:
    props = {
        "project_uuid": project.provider_id,
        "environment_name": "production",
        "name": f"{STACK}-db",
        "engine": "postgresql",
        "image": "postgres:16-alpine",
    }
    db = coolify.drivers["coolify.database"].create(
        desired("database.db", "coolify.database", props)
    )
    client = coolify.provider.client
    database = client.get_database(db.provider_id)
    placement = Placement(project.provider_id, "production", SERVER_UUID)
    app = restore_job.create(
        client, database, "postgresql", "backupuuid123", DUMP, "https://x/y?z=1", placement
    )
    got = client.get_application(app)
    assert (got["docker_registry_image_name"], got["docker_registry_image_tag"]) == (
        "postgres",
        "16-alpine",
    )
    assert got["custom_docker_run_options"] == restore_job.IDLE
    assert got["name"] == f"vibn-restore-{STACK}-db-backupuu"
    assert "vibn:" not in str(got["description"])  # no reconciler ever adopts a job
    assert got["status"] == "exited"  # nothing deployed yet
    env = {e["key"]: e for e in client.list_envs(app)}
    assert env["VIBN_DUMP_URL"]["value"] == "https://x/y?z=1"
    assert all(e["is_literal"] and not e["is_buildtime"] for e in env.values())
    assert env["DATABASE_URL"]["value"] == database["internal_db_url"]
    script = base64.b64decode(env["VIBN_RESTORE_SCRIPT"]["value"]).decode()
    assert script == restore_job.script("postgresql")
    restore_job.remove(client, app)
    restore_job.remove(client, app)  # twice is fine
