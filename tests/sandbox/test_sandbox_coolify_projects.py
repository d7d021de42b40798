"""Projects and environments: auto ``production``, lookups, and refusing to delete
a project that still holds resources."""

from __future__ import annotations

import httpx

from .helpers import FakeClock, new_app, new_db, new_project


def test_project_create_makes_a_production_environment(api: httpx.Client) -> None:
    resp = api.post("/projects", json={"name": "shop", "description": "vibn:w/s/a"})
    assert resp.status_code == 201
    uuid = resp.json()["uuid"]
    assert resp.json() == {"uuid": uuid}
    listed = api.get("/projects").json()
    assert listed == [{"id": 1, "uuid": uuid, "name": "shop", "description": "vibn:w/s/a"}]
    project = api.get(f"/projects/{uuid}").json()
    assert [e["name"] for e in project["environments"]] == ["production"]
    envs = api.get(f"/projects/{uuid}/environments").json()
    assert [set(e) for e in envs] == [{"id", "name", "uuid"}]


def test_environments_by_name_or_uuid_and_duplicates(api: httpx.Client, project: str) -> None:
    resp = api.post(f"/projects/{project}/environments", json={"name": "staging"})
    assert resp.status_code == 201
    staging = resp.json()["uuid"]
    again = api.post(f"/projects/{project}/environments", json={"name": "staging"})
    assert again.status_code == 409
    assert again.json() == {"message": "Environment with this name already exists."}
    by_name = api.get(f"/projects/{project}/staging").json()
    by_uuid = api.get(f"/projects/{project}/{staging}").json()
    assert by_name["uuid"] == by_uuid["uuid"] == staging
    assert by_name["applications"] == [] and by_name["postgresqls"] == []
    assert api.get(f"/projects/{project}/nope").json() == {"message": "Environment not found."}


def test_project_patch_and_404(api: httpx.Client, project: str) -> None:
    resp = api.patch(f"/projects/{project}", json={"name": "renamed", "description": "d"})
    assert resp.status_code == 201
    assert resp.json() == {"uuid": project, "name": "renamed", "description": "d"}
    assert api.get("/projects/missing").status_code == 404
    assert api.get("/projects/missing").json() == {"message": "Project not found."}


def test_project_with_resources_cannot_be_deleted_until_they_are_gone(
    timed: httpx.Client, clock: FakeClock
) -> None:
    project = new_project(timed)
    app = new_app(timed, project)
    db = new_db(timed, project)
    refused = timed.delete(f"/projects/{project}")
    assert refused.status_code == 400
    assert refused.json() == {"message": "Project has resources, so it cannot be deleted."}
    assert timed.delete(f"/applications/{app}").status_code == 200
    assert timed.delete(f"/databases/{db}").status_code == 200
    assert timed.delete(f"/projects/{project}").status_code == 400  # deletion still queued
    clock.advance(1.0)
    resp = timed.delete(f"/projects/{project}")
    assert resp.status_code == 200
    assert resp.json() == {"message": "Project deleted."}
    assert timed.get(f"/projects/{project}").status_code == 404
