"""Contract: env vars and deployments of an application, against the Coolify emulator."""

from __future__ import annotations

import logging
import time

import pytest

from vibn.providers.base import Observed, Recorded
from vibn.specs.values import Sensitive

from .helpers import SCOPE, Coolify, desired, web_props

ENVS = "coolify.envs"
DEPLOY = "coolify.deployment"


@pytest.fixture
def app(coolify: Coolify, project: Observed) -> Observed:
    return coolify.drivers["coolify.application"].create(
        desired("app.web-1", "coolify.application", web_props(project.provider_id))
    )


def test_env_lifecycle_with_sensitive_values(
    coolify: Coolify, app: Observed, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    driver = coolify.drivers[ENVS]
    secret = "sk_live_0123456789"
    want = desired(
        "app.web-1.env",
        ENVS,
        {
            "application_uuid": app.provider_id,
            "vars": {"NODE_ENV": "production", "STRIPE_KEY": Sensitive(secret), "A": "1"},
        },
    )
    created = driver.create(want)
    assert created.props["vars"]["STRIPE_KEY"] == Sensitive(secret)  # still wrapped

    [seen] = coolify.observe(upto=ENVS).seen[ENVS]
    assert seen.address == "app.web-1.env"
    assert seen.owner.address == "app.web-1.env"
    assert seen.provider_id == app.provider_id
    assert seen.props == {
        "application_uuid": app.provider_id,
        "vars": {"NODE_ENV": "production", "STRIPE_KEY": secret, "A": "1"},
    }

    changed = desired(
        "app.web-1.env",
        ENVS,
        {
            "application_uuid": app.provider_id,
            "vars": {"NODE_ENV": "staging", "STRIPE_KEY": Sensitive(secret), "B": "x\ny"},
        },
    )
    coolify.clear_requests()
    driver.update(changed, seen)
    calls = coolify.requests()
    assert calls["PATCH /api/v1/applications/{uuid}/envs/bulk"] == 1  # one upsert
    assert calls["DELETE /api/v1/applications/{uuid}/envs/{env_uuid}"] == 1  # "A" only
    [seen] = coolify.observe(upto=ENVS).seen[ENVS]
    assert seen.props["vars"] == {"NODE_ENV": "staging", "STRIPE_KEY": secret, "B": "x\ny"}

    driver.delete(seen)
    assert coolify.observe(upto=ENVS).seen[ENVS] == []
    assert secret not in caplog.text


def test_envs_of_a_deleted_app_are_done(coolify: Coolify, app: Observed) -> None:
    driver = coolify.drivers[ENVS]
    want = desired("app.web-1.env", ENVS, {"application_uuid": app.provider_id, "vars": {"A": "1"}})
    created = driver.create(want)
    coolify.drivers["coolify.application"].delete(app)
    time.sleep(0.3)  # the emulator's asynchronous delete has run
    driver.delete(created)


def _record(observed: Observed) -> Recorded:
    return Recorded(
        observed.address,
        observed.kind,
        observed.provider_id,
        observed.props,
        observed.outputs,
        observed.conditions,
    )


def _ready(observed: Observed) -> tuple[str, str]:
    [ready] = [c for c in observed.conditions if c.type == "Ready"]
    return ready.status, ready.reason


def test_deployment_progresses_to_deployed(coolify: Coolify, app: Observed) -> None:
    driver = coolify.drivers[DEPLOY]
    want = desired(
        "app.web-1.deploy", DEPLOY, {"application_uuid": app.provider_id, "trigger": "sha256:1"}
    )
    started = driver.create(want)
    assert _ready(started) == ("False", "Deploying")
    assert started.props == want.props

    record = _record(started)
    deadline = time.monotonic() + 5
    while True:
        [seen] = coolify.observe(records={DEPLOY: [record]}).seen[DEPLOY]
        if _ready(seen) == ("True", "Deployed") or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert _ready(seen) == ("True", "Deployed")
    assert seen.props == want.props
    assert seen.owner.stack == "mysaas"

    # settled: observing again asks Coolify nothing about it
    coolify.clear_requests()
    coolify.observe(records={DEPLOY: [_record(seen)]})
    assert not any("/deployments/" in route for route in coolify.requests())

    again = desired(
        "app.web-1.deploy", DEPLOY, {"application_uuid": app.provider_id, "trigger": "sha256:2"}
    )
    redeployed = driver.update(again, seen)
    assert redeployed.provider_id != seen.provider_id
    assert _ready(redeployed) == ("False", "Deploying")
    driver.delete(redeployed)  # cancels the one in flight
    [cancelled] = coolify.observe(records={DEPLOY: [_record(redeployed)]}).seen[DEPLOY]
    assert _ready(cancelled) == ("False", "DeployFailed")


def test_failed_deployment_says_so(coolify: Coolify, app: Observed) -> None:
    resp = coolify.control.post("/coolify/deployments/fail", json={"times": 1})
    assert resp.status_code == 201
    driver = coolify.drivers[DEPLOY]
    want = desired(
        "app.web-1.deploy", DEPLOY, {"application_uuid": app.provider_id, "trigger": "t"}
    )
    record = _record(driver.create(want))
    deadline = time.monotonic() + 5
    while True:
        [seen] = coolify.observe(records={DEPLOY: [record]}).seen[DEPLOY]
        if _ready(seen)[1] != "Deploying" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert _ready(seen) == ("False", "DeployFailed")
    [ready] = seen.conditions
    assert "failed" in ready.message


def test_deployments_of_vanished_apps_are_not_observed(coolify: Coolify, app: Observed) -> None:
    driver = coolify.drivers[DEPLOY]
    want = desired(
        "app.web-1.deploy", DEPLOY, {"application_uuid": app.provider_id, "trigger": "t"}
    )
    record = _record(driver.create(want))
    orphan = Recorded("app.web-2.deploy", DEPLOY, "gone", {"application_uuid": "nosuchapp"}, {}, ())
    seen = driver.observe(SCOPE, coolify.observe(records={DEPLOY: [record, orphan]}))
    assert [o.address for o in seen] == ["app.web-1.deploy"]
