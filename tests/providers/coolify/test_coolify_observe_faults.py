"""Contract: ownership filtering, the observe call budget, and transport faults
(injected through the emulator's ``/_sandbox/faults``) as the drivers see them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from vibn.providers.base import Observed, Scope
from vibn.providers.coolify import CoolifyProvider, RetryPolicy
from vibn.providers.errors import InvalidError
from vibn.sandbox.server import RunningSandbox

from .helpers import SCOPE, Coolify, Ctx, desired, project_props, web_props

APP = "coolify.application"
DB = "coolify.database"


def _db(project_uuid: str, name: str) -> dict[str, object]:
    return {
        "project_uuid": project_uuid,
        "environment_name": "production",
        "name": name,
        "engine": "postgresql",
        "image": "postgres:16-alpine",
    }


def test_observe_returns_only_the_scope_own_objects(coolify: Coolify, project: Observed) -> None:
    apps, dbs = coolify.drivers[APP], coolify.drivers[DB]
    mine = apps.create(desired("app.web-1", APP, web_props(project.provider_id)))
    apps.create(desired("app.web-1", APP, web_props(project.provider_id), stack="other"))
    apps.create(desired("app.web-1", APP, web_props(project.provider_id), ws="elsewhere"))
    my_db = dbs.create(desired("database.main", DB, _db(project.provider_id, "a")))
    dbs.create(desired("database.main", DB, _db(project.provider_id, "b"), stack="other"))
    coolify.provider.client.create_project("hand-made", "not vibn's")
    coolify.drivers["coolify.project"].create(
        desired("project", "coolify.project", project_props("other"), stack="other")
    )

    ctx = coolify.observe(upto=DB)
    assert [o.provider_id for o in ctx.seen[APP]] == [mine.provider_id]
    assert [o.provider_id for o in ctx.seen[DB]] == [my_db.provider_id]
    assert [o.provider_id for o in ctx.seen["coolify.project"]] == [project.provider_id]

    both = coolify.observe(Scope("default", frozenset({"mysaas", "other"})), upto=DB)
    assert {o.owner.stack for o in both.seen[APP]} == {"mysaas", "other"}
    assert len(both.seen["coolify.project"]) == 2


def test_observe_makes_one_list_call_per_kind(coolify: Coolify, project: Observed) -> None:
    for n in (1, 2):
        app = coolify.drivers[APP].create(
            desired(f"app.web-{n}", APP, web_props(project.provider_id, name=f"mysaas-web-{n}"))
        )
        coolify.drivers["coolify.envs"].create(
            desired(
                f"app.web-{n}.env",
                "coolify.envs",
                {"application_uuid": app.provider_id, "vars": {"N": str(n)}},
            )
        )
    database = coolify.drivers[DB].create(
        desired("database.main", DB, _db(project.provider_id, "m"))
    )
    coolify.drivers["coolify.backup"].create(
        desired(
            "database.main.backup",
            "coolify.backup",
            {
                "database_uuid": database.provider_id,
                "frequency": "0 3 * * *",
                "enabled": True,
                "retention_days": 7,
                "save_s3": False,
                "s3_storage_uuid": None,
            },
        )
    )
    coolify.clear_requests()
    ctx = coolify.observe()
    assert coolify.requests() == {
        "GET /api/v1/projects": 1,
        "GET /api/v1/projects/{uuid}/environments": 1,
        "GET /api/v1/applications": 1,
        "GET /api/v1/databases": 1,
        "GET /api/v1/applications/{uuid}/envs": 2,  # one per application: no list-all
    }
    assert len(ctx.seen["coolify.envs"]) == 2
    assert len(ctx.seen["coolify.backup"]) == 1


def test_a_500_is_retried_and_succeeds(coolify: Coolify, project: Observed) -> None:
    coolify.drivers[APP].create(desired("app.web-1", APP, web_props(project.provider_id)))
    coolify.fault(method="GET", path="/api/v1/applications$", status=500, times=1)
    coolify.calls.clear()
    [seen] = coolify.observe(upto=APP).seen[APP]
    assert seen.address == "app.web-1"
    assert [s for m, p, s in coolify.calls if p == "/applications"] == [500, 200]
    assert len(coolify.waits.seconds) == 1


def test_a_422_is_not_retried_and_carries_coolify_words(coolify: Coolify) -> None:
    coolify.fault(
        method="POST",
        path="/api/v1/projects$",
        status=422,
        body={"message": "Validation failed.", "errors": {"name": ["The name field is required."]}},
    )
    coolify.clear_requests()
    try:
        coolify.drivers["coolify.project"].create(
            desired("project", "coolify.project", project_props())
        )
    except InvalidError as err:
        assert err.resource == "project"
        assert err.status == 422
        assert err.message == "Validation failed. name: The name field is required."
        assert err.details == {"name": ["The name field is required."]}
    else:
        raise AssertionError("expected InvalidError")
    assert coolify.requests()["POST /api/v1/projects"] == 1
    assert coolify.waits.seconds == []


def test_emulator_validation_errors_surface_typed(coolify: Coolify, project: Observed) -> None:
    bad = desired("app.web-1", APP, web_props(project.provider_id, ports_exposes="http"))
    try:
        coolify.drivers[APP].create(bad)
    except InvalidError as err:
        assert err.resource == "app.web-1"
        assert "ports_exposes: The ports exposes field format is invalid." in err.message
    else:
        raise AssertionError("expected InvalidError")


def test_429_retry_after_is_honoured_and_capped(coolify: Coolify) -> None:
    coolify.fault(method="GET", path="/api/v1/databases$", status=429, headers={"Retry-After": "2"})
    coolify.fault(
        method="GET", path="/api/v1/databases$", status=429, headers={"Retry-After": "600"}
    )
    assert coolify.drivers[DB].observe(SCOPE, coolify.observe(upto="coolify.project")) == []
    assert coolify.waits.seconds == [2.0, 30.0]


def test_a_timeout_is_retried(sandbox: RunningSandbox) -> None:
    endpoint = sandbox.providers["coolify"]
    waits: list[float] = []
    provider = CoolifyProvider(
        endpoint.url,
        endpoint.token,
        timeout=0.3,
        retry=RetryPolicy(attempts=3, initial=0.01, sleep=waits.append),
    )
    with httpx.Client(base_url=endpoint.control_url) as control:
        control.post("/faults", json={"method": "GET", "path": "/servers$", "delay": 1.0})
    assert provider.server_uuid()
    assert len(waits) == 1
    provider.close()


def test_drivers_are_safe_to_share_between_threads(coolify: Coolify, project: Observed) -> None:
    driver = coolify.drivers[APP]

    def create(n: int) -> str:
        props = web_props(project.provider_id, name=f"mysaas-web-{n}")
        return driver.create(desired(f"app.web-{n}", APP, props)).provider_id

    with ThreadPoolExecutor(max_workers=6) as pool:
        created = set(pool.map(create, range(1, 7)))
    seen = coolify.observe(upto=APP).seen[APP]
    assert {o.provider_id for o in seen} == created
    assert {o.address for o in seen} == {f"app.web-{n}" for n in range(1, 7)}


def test_a_fresh_provider_finds_the_project_of_an_app_on_its_own(
    coolify: Coolify, project: Observed, sandbox: RunningSandbox
) -> None:
    want = desired("app.web-1", APP, web_props(project.provider_id))
    coolify.drivers[APP].create(want)
    endpoint = sandbox.providers["coolify"]
    fresh = CoolifyProvider(endpoint.url, endpoint.token)
    [seen] = fresh.drivers()[APP].observe(SCOPE, Ctx())  # no projects observed first
    assert seen.props == want.props
    fresh.close()
