"""Contract: the project and application drivers against the Coolify emulator.

Each test walks create -> observe -> update -> observe -> delete -> observe and
asserts that what is observed has exactly the desired props (so the planner's diff is
empty), through the real client.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from vibn.providers.base import Observed
from vibn.providers.errors import NotFoundError

from .helpers import (
    SCOPE,
    Coolify,
    desired,
    of,
    project_props,
    web_props,
)

APP = "coolify.application"


def eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    """Coolify deletes in a background job: wait for the effect."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_project_lifecycle(coolify: Coolify) -> None:
    driver = coolify.drivers["coolify.project"]
    want = desired("project", "coolify.project", project_props())
    created = driver.create(want)
    assert created.props == want.props
    assert created.outputs["uuid"] == created.provider_id

    [seen] = driver.observe(SCOPE, coolify.observe(upto="coolify.project"))
    assert seen.props == want.props
    assert (seen.address, seen.owner) == ("project", want.owner)

    renamed = desired("project", "coolify.project", project_props() | {"name": "vibn-x"})
    assert driver.update(renamed, seen).props == renamed.props
    [seen] = driver.observe(SCOPE, coolify.observe(upto="coolify.project"))
    assert seen.props == renamed.props

    driver.delete(seen)
    assert driver.observe(SCOPE, coolify.observe(upto="coolify.project")) == []
    driver.delete(seen)  # already gone: done


def test_web_app_lifecycle(coolify: Coolify, project: Observed) -> None:
    driver = coolify.drivers[APP]
    want = desired(
        "app.web-1",
        APP,
        web_props(
            project.provider_id,
            health_check={
                "enabled": True,
                "path": "/healthz",
                "port": 3000,
                "interval": 30,
                "timeout": 5,
                "retries": 3,
                "start_period": 10,
            },
            start_command="npm start",
        ),
    )
    created = driver.create(want)
    assert created.props == want.props
    assert created.outputs["fqdn"].startswith(f"http://{created.provider_id}.")

    [seen] = coolify.observe(upto=APP).seen[APP]
    assert seen.props == want.props
    assert seen.provider_id == created.provider_id
    assert seen.owner == want.owner

    changed = desired(
        "app.web-1",
        APP,
        dict(want.props)
        | {
            "git_branch": "release",
            "health_check": {"enabled": False},
            "domains": "https://shop.example.com,https://www.shop.example.com",
            "redirect": "non-www",  # www.shop.example.com redirects to the apex
            "start_command": None,
            "build_command": "npm run build",
        },
    )
    updated = driver.update(changed, seen)
    assert updated.props == changed.props
    [seen] = coolify.observe(upto=APP).seen[APP]
    assert seen.props == changed.props
    assert seen.outputs["fqdn"] == "https://shop.example.com,https://www.shop.example.com"

    # dropping the custom domains gives the app Coolify's generated one back
    back = desired("app.web-1", APP, dict(changed.props) | {"domains": None, "redirect": None})
    assert driver.update(back, seen).props == back.props
    [seen] = coolify.observe(upto=APP).seen[APP]
    assert seen.props == back.props
    assert seen.outputs["fqdn"].startswith(f"http://{seen.provider_id}.")

    driver.delete(seen)
    eventually(lambda: coolify.observe(upto=APP).seen[APP] == [])
    driver.delete(seen)  # 404: done


def test_worker_has_no_domain_and_no_port(coolify: Coolify, project: Observed) -> None:
    driver = coolify.drivers[APP]
    want = desired(
        "app.worker-1",
        APP,
        web_props(project.provider_id, name="mysaas-worker-1", ports_exposes=None),
    )
    created = driver.create(want)
    assert created.outputs["fqdn"] is None
    [seen] = coolify.observe(upto=APP).seen[APP]
    assert seen.props == want.props


def test_docker_image_app(coolify: Coolify, project: Observed) -> None:
    driver = coolify.drivers[APP]
    props = web_props(
        project.provider_id,
        git_repository=None,
        git_branch=None,
        build_pack="dockerimage",
        docker_image="ghcr.io/acme/shop:1.4.2",
        start_command="node server.js",
        ports_exposes="8080",
    )
    want = desired("app.web-1", APP, props)
    assert driver.create(want).props == want.props
    [seen] = coolify.observe(upto=APP).seen[APP]
    assert seen.props == want.props

    bumped = desired("app.web-1", APP, props | {"docker_image": "ghcr.io/acme/shop:1.5.0"})
    assert driver.update(bumped, seen).props == bumped.props
    [seen] = coolify.observe(upto=APP).seen[APP]
    assert seen.props["docker_image"] == "ghcr.io/acme/shop:1.5.0"


def test_replace_fields(coolify: Coolify) -> None:
    driver = coolify.drivers[APP]
    assert {"project_uuid", "environment_name", "build_pack"} <= driver.replace_fields
    assert not driver.data_bearing


def test_create_in_a_missing_project_names_the_resource(coolify: Coolify) -> None:
    want = desired("app.web-1", APP, web_props("nosuchproject000000000000"))
    with pytest.raises(NotFoundError) as caught:
        coolify.drivers[APP].create(want)
    assert caught.value.resource == "app.web-1"
    assert caught.value.message == "Project not found."
    assert "app.web-1" in str(caught.value)


def test_project_delete_waits_for_async_resource_deletion(
    coolify: Coolify, project: Observed
) -> None:
    apps = coolify.drivers[APP]
    app = apps.create(desired("app.web-1", APP, web_props(project.provider_id)))
    apps.delete(app)  # queued: the project still "has resources" for a moment
    coolify.drivers["coolify.project"].delete(project)
    assert coolify.drivers["coolify.project"].observe(SCOPE, coolify.observe()) == []


def test_duplicates_are_all_returned(coolify: Coolify, project: Observed) -> None:
    driver = coolify.drivers[APP]
    want = desired("app.web-1", APP, web_props(project.provider_id))
    first, second = driver.create(want), driver.create(want)
    seen = of(coolify.observe(upto=APP).seen[APP], "app.web-1")
    assert {o.provider_id for o in seen} == {first.provider_id, second.provider_id}
