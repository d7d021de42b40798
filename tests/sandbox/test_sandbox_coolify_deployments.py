"""Deployments progress by wall time; applications follow; faults make them fail."""

from __future__ import annotations

import httpx

from .helpers import FakeClock, new_app, new_db, new_project


def _status(api: httpx.Client, deployment: str) -> str:
    return str(api.get(f"/deployments/{deployment}").json()["status"])


def test_deployment_progresses_and_the_app_runs(timed: httpx.Client, clock: FakeClock) -> None:
    app = new_app(timed, new_project(timed), name="web")
    resp = timed.post(f"/applications/{app}/start")
    assert resp.status_code == 200
    assert resp.json()["message"] == "Deployment request queued."
    dep = resp.json()["deployment_uuid"]
    assert _status(timed, dep) == "queued"
    assert [d["deployment_uuid"] for d in timed.get("/deployments").json()] == [dep]
    clock.advance(0.15)
    assert _status(timed, dep) == "in_progress"
    assert timed.get(f"/applications/{app}").json()["status"] == "exited"
    clock.advance(0.4)
    row = timed.get(f"/deployments/{dep}").json()
    assert row["status"] == "finished"
    assert row["application_name"] == "web" and row["is_api"] is True
    assert timed.get("/deployments").json() == []
    assert timed.get(f"/applications/{app}").json()["status"] == "running:healthy"
    stop = timed.post(f"/applications/{app}/stop")
    assert stop.json() == {"message": "Application stopping request queued."}
    assert timed.get(f"/applications/{app}").json()["status"] == "exited"


def test_instant_deploy_on_create_and_per_app_history(
    timed: httpx.Client, clock: FakeClock
) -> None:
    project = new_project(timed)
    app = new_app(timed, project, instant_deploy=True)
    restart = timed.post(f"/applications/{app}/restart").json()
    assert restart["message"] == "Restart request queued."
    history = timed.get(f"/deployments/applications/{app}").json()
    assert history["count"] == 2
    first, second = history["deployments"][1], history["deployments"][0]
    assert second["deployment_uuid"] == restart["deployment_uuid"] and second["restart_only"]
    clock.advance(0.6)
    assert (
        _status(timed, first["deployment_uuid"]),
        _status(timed, second["deployment_uuid"]),
    ) == (
        "finished",
        "in_progress",
    )
    page = timed.get(f"/deployments/applications/{app}", params={"skip": 1, "take": 1}).json()
    assert page["count"] == 2
    assert [d["deployment_uuid"] for d in page["deployments"]] == [first["deployment_uuid"]]


def test_failure_hook_fails_the_next_deployment(timed: httpx.Client, clock: FakeClock) -> None:
    app = new_app(timed, new_project(timed))
    control = timed.base_url.copy_with(path="/_sandbox/coolify/deployments/fail")
    hook = timed.post(control, json={"times": 1})
    assert hook.status_code == 201
    failed = timed.post(f"/applications/{app}/start").json()["deployment_uuid"]
    clock.advance(1.0)
    assert _status(timed, failed) == "failed"
    assert timed.get(f"/applications/{app}").json()["status"] == "exited"
    ok = timed.post(f"/applications/{app}/start").json()["deployment_uuid"]
    clock.advance(1.0)
    assert _status(timed, ok) == "finished"


def test_cancel(timed: httpx.Client, clock: FakeClock) -> None:
    app = new_app(timed, new_project(timed))
    dep = timed.post(f"/applications/{app}/start").json()["deployment_uuid"]
    resp = timed.post(f"/deployments/{dep}/cancel")
    assert resp.json() == {
        "message": "Deployment cancelled successfully.",
        "deployment_uuid": dep,
        "status": "cancelled-by-user",
    }
    clock.advance(1.0)
    assert _status(timed, dep) == "cancelled-by-user"
    again = timed.post(f"/deployments/{dep}/cancel")
    assert again.status_code == 400
    assert again.json() == {
        "message": "Deployment cannot be cancelled. Current status: cancelled-by-user"
    }
    assert timed.get("/deployments/nope").json() == {"message": "Deployment not found."}


def test_deploy_by_uuid_and_by_tag(api: httpx.Client, project: str) -> None:
    app = new_app(api, project, name="web", tags=["vibn-ws"])
    db = new_db(api, project, name="main", tags=["vibn-ws"])
    by_uuid = api.post("/deploy", params={"uuid": app}).json()["deployments"]
    assert by_uuid[0]["message"] == "Application web deployment queued."
    assert by_uuid[0]["resource_uuid"] == app and "deployment_uuid" in by_uuid[0]
    by_tag = api.post("/deploy", json={"tag": "vibn-ws"}).json()["deployments"]
    assert [d["resource_uuid"] for d in by_tag] == [app, db]
    assert "deployment_uuid" not in by_tag[1]
    assert api.get(f"/databases/{db}").json()["status"] != "exited"
    cases = [
        ({}, 400, "You must provide uuid or tag."),
        ({"uuid": app, "tag": "x"}, 400, "You can only use uuid or tag, not both."),
        ({"uuid": "nope"}, 404, "No resources found."),
    ]
    for params, status, message in cases:
        resp = api.post("/deploy", params=params)
        assert (resp.status_code, resp.json()) == (status, {"message": message})
