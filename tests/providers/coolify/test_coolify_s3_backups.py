"""The ``coolify.s3_storage`` driver and the backup operations (now, list, restore),
through the real client against the Coolify emulator."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from vibn.providers.base import Observed, Recorded, Scope
from vibn.providers.coolify import S3StorageDriver, Settle, backup_ops
from vibn.providers.coolify.backup_ops import Placement, S3Target
from vibn.providers.coolify.common import Shared
from vibn.providers.errors import ConflictError, InvalidError, NotFoundError, ProviderError
from vibn.sandbox.coolify import SERVER_UUID
from vibn.sandbox.server import RunningSandbox
from vibn.specs.values import Sensitive

from .helpers import SCOPE, STACK, WS, Coolify, Ctx, desired

KIND = "coolify.s3_storage"
ADDRESS = "backups.s3"
FAST = Settle(timeout=10.0, interval=0.05)


def s3_props(**over: Any) -> dict[str, Any]:
    props: dict[str, Any] = {
        "name": f"vibn-{WS}-{STACK}-backups",
        "endpoint": "https://storage.googleapis.com",
        "bucket": "vibn-ws-default",
        "region": "northamerica-northeast1",
        "key": "GOOG1EXAMPLEACCESSID",
        "secret": Sensitive("first-hmac-secret"),
    }
    return props | over


def record(obs: Observed, props: dict[str, Any], stack: str = STACK) -> Recorded:
    return Recorded(obs.address, obs.kind, obs.provider_id, props, dict(obs.outputs), (), stack)


def held(sandbox: RunningSandbox, uuid: str) -> dict[str, Any]:
    """The emulator's own row of a storage (the API never shows its credentials)."""
    data = json.loads((sandbox.state_dir / "coolify.json").read_text())
    row: dict[str, Any] = data["s3_storages"][uuid]
    return row


def observe(coolify: Coolify, records: list[Recorded], scope: Scope = SCOPE) -> list[Observed]:
    return coolify.drivers[KIND].observe(scope, Ctx(records={KIND: records}))


@pytest.fixture(autouse=True)
def brisk(coolify: Coolify) -> None:
    """Deployments, database starts and backup runs in tens of milliseconds."""
    fast = {
        "deployment_queue_seconds": 0.02,
        "deployment_run_seconds": 0.05,
        "database_start_seconds": 0.0,
        "backup_run_seconds": 0.05,
        "delete_delay_seconds": 0.05,
    }
    assert coolify.control.post("/coolify/settings", json=fast).status_code == 200


@pytest.fixture
def api(coolify_url: str, coolify_token: str) -> Iterator[httpx.Client]:
    """Coolify's API by hand, for what no driver does (someone else's storage, a stop)."""
    headers = {"Authorization": f"Bearer {coolify_token}"}
    with httpx.Client(base_url=coolify_url, headers=headers) as client:
        yield client


@pytest.fixture
def storage(coolify: Coolify) -> Observed:
    return coolify.drivers[KIND].create(desired(ADDRESS, KIND, s3_props()))


def test_create_marks_validates_and_writes_the_credentials(
    coolify: Coolify, sandbox: RunningSandbox, storage: Observed
) -> None:
    assert storage.props == s3_props() and storage.outputs == {"uuid": storage.provider_id}
    assert isinstance(storage.props["secret"], Sensitive)
    assert [(c.type, c.status) for c in storage.conditions] == [("Ready", "True")]
    row = held(sandbox, storage.provider_id)
    assert row["description"] == f"vibn:{WS}/{STACK}/{ADDRESS}"
    assert (row["key"], row["secret"], row["is_usable"]) == (
        "GOOG1EXAMPLEACCESSID",
        "first-hmac-secret",
        True,
    )
    assert coolify.requests()["POST /api/v1/s3-storages/{uuid}/validate"] == 1


def test_a_recorded_storage_observes_as_applied_so_the_plan_stays_noop(
    coolify: Coolify, storage: Observed
) -> None:
    coolify.clear_requests()
    (seen,) = observe(coolify, [record(storage, s3_props())])
    assert seen.props == s3_props() and seen.provider_id == storage.provider_id
    assert coolify.requests() == {"GET /api/v1/s3-storages": 1}
    # updating to the same props sends nothing but the re-read
    coolify.clear_requests()
    again = coolify.drivers[KIND].update(desired(ADDRESS, KIND, s3_props()), seen)
    assert again.props == s3_props()
    assert coolify.requests() == {"GET /api/v1/s3-storages/{uuid}": 1}


def test_a_rotated_hmac_key_is_a_change_and_update_writes_it(
    coolify: Coolify, sandbox: RunningSandbox, storage: Observed
) -> None:
    (seen,) = observe(coolify, [record(storage, s3_props())])
    rotated = s3_props(key="GOOG1ROTATED", secret=Sensitive("second-hmac-secret"))
    assert seen.props != rotated
    assert {k for k in rotated if rotated[k] != seen.props[k]} == {"key", "secret"}
    coolify.clear_requests()
    updated = coolify.drivers[KIND].update(desired(ADDRESS, KIND, rotated), seen)
    assert updated.props == rotated
    row = held(sandbox, storage.provider_id)
    assert (row["key"], row["secret"]) == ("GOOG1ROTATED", "second-hmac-secret")
    assert coolify.requests()["PATCH /api/v1/s3-storages/{uuid}"] == 1
    assert coolify.requests()["POST /api/v1/s3-storages/{uuid}/validate"] == 1


def test_unrecorded_credentials_are_unknown_and_get_resent(
    coolify: Coolify, sandbox: RunningSandbox, storage: Observed
) -> None:
    # a record of another storage (or none) says nothing about this one's credentials
    stale = Recorded(ADDRESS, KIND, "someotheruuid", s3_props(), {}, (), STACK)
    (seen,) = observe(coolify, [stale])
    assert (seen.props["key"], seen.props["secret"]) == (None, None)
    assert seen.props["bucket"] == "vibn-ws-default"
    coolify.drivers[KIND].update(desired(ADDRESS, KIND, s3_props()), seen)
    assert held(sandbox, storage.provider_id)["secret"] == "first-hmac-secret"


def test_a_renamed_storage_is_patched_with_the_name_alone(
    coolify: Coolify, sandbox: RunningSandbox, storage: Observed
) -> None:
    (seen,) = observe(coolify, [record(storage, s3_props())])
    renamed = s3_props(name="vibn-default-shop-backups-2")
    coolify.drivers[KIND].update(desired(ADDRESS, KIND, renamed), seen)
    row = held(sandbox, storage.provider_id)
    assert row["name"] == "vibn-default-shop-backups-2" and row["secret"] == "first-hmac-secret"


def test_only_the_scopes_storages_are_observed(
    coolify: Coolify, api: httpx.Client, storage: Observed
) -> None:
    driver = coolify.drivers[KIND]
    other = driver.create(desired(ADDRESS, KIND, s3_props(), stack="other"))
    foreign = driver.create(desired(ADDRESS, KIND, s3_props(), ws="elsewhere"))
    body = {**s3_props(secret="s"), "name": "someone-elses"}
    assert api.post("/s3-storages", json=body).status_code == 201
    assert [o.provider_id for o in observe(coolify, [])] == [storage.provider_id]
    both = Scope(WS, frozenset({STACK, "other"}))
    assert {o.provider_id for o in observe(coolify, [], both)} == {
        storage.provider_id,
        other.provider_id,
    }
    assert foreign.owner.workspace == "elsewhere"


def test_delete_removes_it_and_a_second_delete_is_fine(coolify: Coolify, storage: Observed) -> None:
    driver = coolify.drivers[KIND]
    driver.delete(storage)
    assert observe(coolify, []) == []
    driver.delete(storage)


def _failing_validation(coolify: Coolify, times: int | None) -> None:
    coolify.fault(
        method="POST",
        path="/api/v1/s3-storages/[^/]+/validate$",
        status=200,
        body={"valid": False, "message": "The AWS Access Key Id you provided does not exist."},
        times=times,
    )


def test_a_storage_that_never_validates_is_removed_and_the_reason_shown(
    coolify: Coolify,
) -> None:
    driver = S3StorageDriver(
        Shared(coolify.provider.client, settle=Settle(timeout=0.2, interval=0.05))
    )
    _failing_validation(coolify, None)
    with pytest.raises(InvalidError) as caught:
        driver.create(desired(ADDRESS, KIND, s3_props()))
    assert "Access Key Id you provided does not exist" in str(caught.value)
    assert caught.value.resource == ADDRESS and "first-hmac-secret" not in str(caught.value)
    assert observe(coolify, []) == []


def test_a_new_key_that_needs_a_moment_is_waited_for(coolify: Coolify) -> None:
    _failing_validation(coolify, 2)
    created = coolify.drivers[KIND].create(desired(ADDRESS, KIND, s3_props()))
    assert created.conditions[0].status == "True"
    assert coolify.requests()["POST /api/v1/s3-storages/{uuid}/validate"] == 3


# --- backup operations ----------------------------------------------------------------


def new_database(coolify: Coolify, project: Observed, engine: str = "postgresql") -> str:
    images = {"postgresql": "postgres:16-alpine", "clickhouse": "clickhouse/clickhouse-server"}
    props = {
        "project_uuid": project.provider_id,
        "environment_name": "production",
        "name": f"{STACK}-{engine}",
        "engine": engine,
        "image": images[engine],
    }
    db = coolify.drivers["coolify.database"].create(
        desired(f"database.{engine}", "coolify.database", props)
    )
    return db.provider_id


def new_schedule(coolify: Coolify, db: str, s3: str | None) -> str:
    props = {
        "database_uuid": db,
        "frequency": "0 3 * * *",
        "enabled": True,
        "retention_days": 7,
        "save_s3": s3 is not None,
        "s3_storage_uuid": s3,
    }
    return (
        coolify.drivers["coolify.backup"]
        .create(desired("database.db.backup", "coolify.backup", props))
        .provider_id
    )


def target() -> S3Target:
    props = s3_props()
    return S3Target(
        props["endpoint"], props["bucket"], props["region"], props["key"], props["secret"]
    )


def placement(project: Observed) -> Placement:
    return Placement(project.provider_id, "production", SERVER_UUID)


def restore(
    coolify: Coolify,
    project: Observed,
    db: str,
    schedule: str,
    backup: str,
    settle: Settle = FAST,
) -> backup_ops.RestoreResult:
    client = coolify.provider.client
    return backup_ops.restore(
        client, db, schedule, backup, target=target(), placement=placement(project), settle=settle
    )


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def backed_up(coolify: Coolify, project: Observed, storage: Observed) -> tuple[str, str]:
    """A running postgres database whose schedule uploads to ``storage``."""
    db = new_database(coolify, project)
    client = coolify.provider.client
    assert wait_until(lambda: str(client.get_database(db)["status"]).startswith("running"))
    return db, new_schedule(coolify, db, storage.provider_id)


def test_run_now_returns_the_new_run_and_list_shows_it_uploaded(
    coolify: Coolify, backed_up: tuple[str, str]
) -> None:
    db, schedule = backed_up
    client = coolify.provider.client
    assert backup_ops.list_backups(client, db, schedule) == []
    run = backup_ops.run_now(client, db, schedule, settle=FAST)
    assert run.status == "running" and db in (run.filename or "")
    done = backup_ops.wait_finished(client, db, schedule, run.uuid, settle=FAST)
    assert (done.status, done.s3_uploaded) == ("success", True) and done.size > 0
    second = backup_ops.run_now(client, db, schedule, settle=FAST)
    listed = backup_ops.list_backups(client, db, schedule)
    assert [e.uuid for e in listed] == [second.uuid, run.uuid]
    assert listed[1].to_json()["s3_uploaded"] is True


def test_run_now_on_a_missing_schedule_is_not_found(
    coolify: Coolify, backed_up: tuple[str, str]
) -> None:
    db, _ = backed_up
    with pytest.raises(NotFoundError, match="no backup schedule nope"):
        backup_ops.run_now(coolify.provider.client, db, "nope", settle=FAST)


def _finished_run(coolify: Coolify, db: str, schedule: str) -> backup_ops.BackupExecution:
    client = coolify.provider.client
    run = backup_ops.run_now(client, db, schedule, settle=FAST)
    return backup_ops.wait_finished(client, db, schedule, run.uuid, settle=FAST)


def _job_apps(coolify: Coolify) -> list[str]:
    apps = coolify.provider.client.list_applications()
    return [a["name"] for a in apps if str(a["name"]).startswith("vibn-restore-")]


def test_restore_runs_a_job_deploys_it_twice_and_deletes_it(
    coolify: Coolify, project: Observed, backed_up: tuple[str, str]
) -> None:
    db, schedule = backed_up
    run = _finished_run(coolify, db, schedule)
    coolify.clear_requests()
    result = restore(coolify, project, db, schedule, run.uuid)
    assert result.backup.uuid == run.uuid and result.database_uuid == db
    assert result.to_json()["status"] == "restored"
    counts = coolify.requests()
    assert counts["POST /api/v1/applications/dockerimage"] == 1
    assert counts["PATCH /api/v1/applications/{uuid}/envs/bulk"] == 1
    assert counts["POST /api/v1/applications/{uuid}/start"] == 2
    assert counts["PATCH /api/v1/applications/{uuid}"] == 1  # the pre-deployment command
    assert counts["DELETE /api/v1/applications/{uuid}"] == 1
    assert wait_until(lambda: _job_apps(coolify) == [])


def test_restore_refuses_unknown_running_and_failed_backups(
    coolify: Coolify, project: Observed, backed_up: tuple[str, str]
) -> None:
    db, schedule = backed_up
    client = coolify.provider.client
    with pytest.raises(NotFoundError, match="no backup nope"):
        restore(coolify, project, db, schedule, "nope")
    running = backup_ops.run_now(client, db, schedule, settle=FAST)
    with pytest.raises(InvalidError, match=f"backup {running.uuid} is 'running'"):
        restore(coolify, project, db, schedule, running.uuid)
    (config,) = client.list_backups(db)
    config["executions"] = [
        {**config["executions"][0], "status": "failed", "message": "dump failed"}
    ]
    coolify.fault(method="GET", path=f"/api/v1/databases/{db}/backups$", status=200, body=[config])
    with pytest.raises(InvalidError, match="only a successful backup can be restored"):
        restore(coolify, project, db, schedule, running.uuid)
    assert _job_apps(coolify) == []


def test_restore_refuses_a_backup_that_never_reached_the_bucket(
    coolify: Coolify, project: Observed
) -> None:
    db = new_database(coolify, project)
    schedule = new_schedule(coolify, db, None)
    run = _finished_run(coolify, db, schedule)
    with pytest.raises(InvalidError, match="never reached the bucket"):
        restore(coolify, project, db, schedule, run.uuid)


def test_restore_refuses_an_engine_it_cannot_load(
    coolify: Coolify, project: Observed, storage: Observed
) -> None:
    db = new_database(coolify, project, "clickhouse")
    schedule = new_schedule(coolify, db, storage.provider_id)
    run = _finished_run(coolify, db, schedule)
    assert run.status == "success"
    with pytest.raises(InvalidError, match="is a clickhouse dump; vibn restores mariadb, mongodb"):
        restore(coolify, project, db, schedule, run.uuid)


def test_restore_refuses_a_stopped_database(
    coolify: Coolify, api: httpx.Client, project: Observed, backed_up: tuple[str, str]
) -> None:
    db, schedule = backed_up
    run = _finished_run(coolify, db, schedule)
    assert api.post(f"/databases/{db}/stop").status_code == 200
    with pytest.raises(ConflictError, match="start it first"):
        restore(coolify, project, db, schedule, run.uuid)


def test_a_failed_restore_deployment_is_reported_and_the_job_deleted(
    coolify: Coolify, project: Observed, backed_up: tuple[str, str]
) -> None:
    db, schedule = backed_up
    run = _finished_run(coolify, db, schedule)
    armed: list[bool] = []

    def sleep(seconds: float) -> None:
        # while the idle deployment runs, make the next one (the restoring one) fail
        if not armed:
            resp = coolify.control.post("/coolify/deployments/fail", json={"times": 1})
            assert resp.status_code == 201
            armed.append(True)
        time.sleep(seconds)

    settle = Settle(timeout=10.0, interval=0.05, sleep=sleep)
    with pytest.raises(ProviderError, match=f"could not restore backup {run.uuid}") as caught:
        restore(coolify, project, db, schedule, run.uuid, settle=settle)
    assert "ended 'failed'" in str(caught.value)
    assert coolify.requests()["DELETE /api/v1/applications/{uuid}"] == 1
    assert wait_until(lambda: _job_apps(coolify) == [])
