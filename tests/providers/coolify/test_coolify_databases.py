"""Contract: databases and their scheduled backups, against the Coolify emulator."""

from __future__ import annotations

import time
from typing import Any

import pytest

from vibn.providers.base import Observed
from vibn.providers.coolify import image_for
from vibn.providers.errors import InvalidError
from vibn.specs.values import Sensitive

from .helpers import SCOPE, Coolify, desired

DB = "coolify.database"
BACKUP = "coolify.backup"


def db_props(project_uuid: str, engine: str = "postgresql", **over: Any) -> dict[str, Any]:
    return {
        "project_uuid": project_uuid,
        "environment_name": "production",
        "name": "mysaas-main",
        "engine": engine,
        "image": image_for(engine, None),
    } | over


def backup_props(database_uuid: str, **over: Any) -> dict[str, Any]:
    return {
        "database_uuid": database_uuid,
        "frequency": "0 3 * * *",
        "enabled": True,
        "retention_days": 7,
        "save_s3": False,
        "s3_storage_uuid": None,
    } | over


def test_image_defaults_and_versions() -> None:
    assert image_for("postgresql", None) == "postgres:16-alpine"
    assert image_for("postgresql", "15") == "postgres:15-alpine"
    assert image_for("postgresql", "15-alpine") == "postgres:15-alpine"
    assert image_for("mysql", "8.4") == "mysql:8.4"
    assert image_for("redis", None) == "redis:7.2"
    assert image_for("dragonfly", None).startswith("docker.dragonflydb.io/")
    with pytest.raises(ValueError, match="unknown database engine"):
        image_for("oracle", None)


def test_database_lifecycle(coolify: Coolify, project: Observed) -> None:
    driver = coolify.drivers[DB]
    assert driver.data_bearing
    assert {"engine", "project_uuid", "environment_name"} <= driver.replace_fields
    want = desired("database.main", DB, db_props(project.provider_id))
    created = driver.create(want)
    assert created.props == want.props
    url = created.outputs["internal_db_url"]
    assert isinstance(url, Sensitive)
    assert url.value.startswith("postgres://")
    assert created.provider_id in url.value
    assert "postgres://" not in repr(created)

    [seen] = coolify.observe(upto=DB).seen[DB]
    assert seen.props == want.props
    assert seen.outputs["internal_db_url"] == url
    assert seen.outputs["backup_configs"] == []

    bumped = desired("database.main", DB, db_props(project.provider_id, image="postgres:17-alpine"))
    coolify.clear_requests()
    assert driver.update(bumped, seen).props == bumped.props
    assert coolify.requests()["POST /api/v1/databases/{uuid}/restart"] == 1
    [seen] = coolify.observe(upto=DB).seen[DB]
    assert seen.props == bumped.props

    driver.delete(seen)
    deadline = time.monotonic() + 5
    while coolify.observe(upto=DB).seen[DB]:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    driver.delete(seen)  # 404: done


def test_backup_lifecycle(coolify: Coolify, project: Observed) -> None:
    database = coolify.drivers[DB].create(
        desired("database.main", DB, db_props(project.provider_id))
    )
    driver = coolify.drivers[BACKUP]
    want = desired("database.main.backup", BACKUP, backup_props(database.provider_id))
    created = driver.create(want)
    assert created.props == want.props

    coolify.clear_requests()
    [seen] = coolify.observe(upto=BACKUP).seen[BACKUP]
    assert not any(r.endswith("/backups") for r in coolify.requests())  # rode on GET /databases
    assert seen.props == want.props
    assert seen.provider_id == created.provider_id
    assert (seen.address, seen.owner.address) == ("database.main.backup",) * 2

    changed = desired(
        "database.main.backup",
        BACKUP,
        backup_props(database.provider_id, frequency="daily", retention_days=30, enabled=False),
    )
    assert driver.update(changed, seen).props == changed.props
    [seen] = coolify.observe(upto=BACKUP).seen[BACKUP]
    assert seen.props == changed.props

    driver.delete(seen)
    assert coolify.observe(upto=BACKUP).seen[BACKUP] == []
    driver.delete(seen)  # 404: done


def test_backups_fall_back_to_a_list_call_without_backup_configs(
    coolify: Coolify, project: Observed
) -> None:
    database = coolify.drivers[DB].create(
        desired("database.main", DB, db_props(project.provider_id))
    )
    coolify.drivers[BACKUP].create(
        desired("database.main.backup", BACKUP, backup_props(database.provider_id))
    )
    ctx = coolify.observe(upto=DB)
    ctx.seen[DB] = [database]  # as created: GET /databases/{uuid} carries no backup_configs
    [seen] = coolify.drivers[BACKUP].observe(SCOPE, ctx)
    assert seen.props == backup_props(database.provider_id)


def test_redis_backups_are_refused_naming_the_resource(coolify: Coolify, project: Observed) -> None:
    redis = coolify.drivers[DB].create(
        desired("database.cache", DB, db_props(project.provider_id, "redis", name="mysaas-cache"))
    )
    assert redis.props["engine"] == "redis"
    want = desired("database.cache.backup", BACKUP, backup_props(redis.provider_id))
    with pytest.raises(InvalidError) as caught:
        coolify.drivers[BACKUP].create(want)
    assert caught.value.resource == "database.cache.backup"
    assert "not supported for this database type" in caught.value.message
    assert caught.value.status == 422


@pytest.mark.parametrize("engine", ["mysql", "mariadb", "mongodb", "keydb", "clickhouse"])
def test_every_engine_observes_as_created(coolify: Coolify, project: Observed, engine: str) -> None:
    want = desired(
        f"database.{engine}", DB, db_props(project.provider_id, engine, name=f"s-{engine}")
    )
    coolify.drivers[DB].create(want)
    [seen] = coolify.observe(upto=DB).seen[DB]
    assert seen.props == want.props
    assert isinstance(seen.outputs["internal_db_url"], Sensitive)
