"""An agent's journey over real HTTP against the Coolify sandbox: PUT (YAML and JSON),
dry run, If-Match, apply by plan id, following events, status, stale plans, destroy."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import yaml

from vibn.api import ApiSettings

from .conftest import Api, events, example

YAML = {"Content-Type": "application/yaml"}
JSON = {"Content-Type": "application/json"}


def held(api: Api) -> dict[str, list[str]]:
    c = api.coolify
    return {
        "applications": sorted(a["name"] for a in c.get("/applications").json()),
        "databases": sorted(d["name"] for d in c.get("/databases").json()),
    }


def eventually(check: Any, timeout: float = 5.0) -> bool:
    """Coolify deletes in a background job: what it holds settles a moment later."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def follow(api: Api, key: str, accepted: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Follow an accepted apply's events to their end; they must end with the apply."""
    stream = events(api.client(key), accepted["links"]["events"])
    assert stream[-1] == ("end", {"reason": "apply finished"}), stream[-3:]
    assert stream[-2][0] == "apply.finished"
    assert stream[-2][1]["apply_id"] == accepted["apply_id"]
    return stream


def test_three_calls_from_idea_to_a_live_stack(api: Api) -> None:
    key = api.key()
    c = api.client(key)
    body = example("saas.yaml")

    dry = c.put("/v1/stacks/mysaas", params={"dry_run": "true"}, content=body, headers=YAML)
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["revision"] == 0
    assert dry.json()["plan"]["summary"]["create"] == 30
    assert c.get("/v1/stacks/mysaas").status_code == 404  # a dry run stores nothing

    put = c.put("/v1/stacks/mysaas", content=body, headers=YAML)
    assert put.status_code == 201, put.text
    answer = put.json()
    assert answer["revision"] == 1 and answer["created"] is True
    assert put.headers["ETag"] == '"1"'
    assert answer["plan"]["plan_id"] == dry.json()["plan"]["plan_id"]
    assert {a["address"] for a in answer["plan"]["actions"]} >= {"app.web-1", "database.database"}
    assert "sk_test_api" not in put.text and "api-session" not in put.text
    assert answer["links"]["apply"] == "/v1/stacks/mysaas/apply"

    applied = c.post("/v1/stacks/mysaas/apply", json={"plan_id": answer["plan"]["plan_id"]})
    assert applied.status_code == 202, applied.text
    assert applied.json()["status"] == "accepted"
    stream = follow(api, key, applied.json())
    names = [name for name, _ in stream]
    assert names[0] == "apply.accepted"
    assert names.count("action.started") == 30 and names.count("action.succeeded") == 30
    assert stream[-2][1]["status"] == "succeeded"
    assert [d["id"] for _, d in stream[:-1]] == sorted(d["id"] for _, d in stream[:-1])

    status = c.get("/v1/stacks/mysaas").json()
    assert status["status"] == "applied" and status["revision"] == 1
    assert status["last_apply"]["status"] == "succeeded"
    assert status["last_apply"]["id"] == stream[-2][1]["run_id"]
    by_address = {r["address"]: r for r in status["resources"]}
    assert by_address["app.web-1"]["provider_id"]
    assert status["document"]["metadata"]["workspace"] == "default"
    assert held(api) == {
        "applications": ["mysaas-web-1", "mysaas-worker-1", "mysaas-worker-2"],
        "databases": ["mysaas-cache", "mysaas-database"],
    }

    again = c.put("/v1/stacks/mysaas", content=body, headers=YAML)
    assert again.status_code == 200 and again.json()["created"] is False
    assert again.json()["revision"] == 1
    assert again.json()["plan"]["actions"] == []
    assert [r["number"] for r in c.get("/v1/stacks/mysaas/revisions").json()["revisions"]] == [1]

    refreshed = c.get("/v1/stacks/mysaas", params={"refresh": "true"})
    assert refreshed.status_code == 200 and refreshed.headers["ETag"] == '"1"'
    deploy = next(r for r in refreshed.json()["resources"] if r["address"] == "app.web-1.deploy")
    assert deploy["conditions"] and deploy["conditions"][0]["type"] == "Ready"

    summary = c.get("/v1/stacks/mysaas/plan", params={"format": "summary"})
    assert summary.status_code == 200 and summary.json()["changes"] == {}
    assert len(summary.content) < 400

    listed = c.get("/v1/stacks").json()
    assert [s["name"] for s in listed["stacks"]] == ["mysaas"]


def test_json_body_if_match_and_revisions(api: Api) -> None:
    c = api.client(api.key())
    document = yaml.safe_load(example("minimal.yaml"))
    first = c.put("/v1/stacks/hello", content=json.dumps(document), headers=JSON)
    assert first.status_code == 201, first.text

    document["spec"]["env"] = {"LOG_LEVEL": "debug"}
    second = c.put(
        "/v1/stacks/hello", content=json.dumps(document), headers=JSON | {"If-Match": '"1"'}
    )
    assert second.status_code == 201 and second.json()["revision"] == 2

    document["spec"]["env"] = {"LOG_LEVEL": "warn"}
    stale = c.put(
        "/v1/stacks/hello", content=json.dumps(document), headers=JSON | {"If-Match": "1"}
    )
    assert stale.status_code == 412
    assert stale.headers["content-type"] == "application/problem+json"
    assert stale.json()["current_revision"] == 2 and "If-Match: 2" in stale.json()["hint"]

    same = c.put("/v1/stacks/hello", content=json.dumps(document), headers=JSON | {"If-Match": "2"})
    assert same.status_code == 201 and same.json()["revision"] == 3
    star = c.put("/v1/stacks/hello", content=json.dumps(document), headers=JSON | {"If-Match": "*"})
    assert star.status_code == 200 and star.json()["revision"] == 3
    fresh = c.put(
        "/v1/stacks/hello-two",
        content=json.dumps(document).replace('"hello"', '"hello-two"'),
        headers=JSON | {"If-Match": "*"},
    )
    assert fresh.status_code == 412
    bad = c.put("/v1/stacks/hello", content=json.dumps(document), headers=JSON | {"If-Match": "x"})
    assert bad.status_code == 400

    revisions = c.get("/v1/stacks/hello/revisions", params={"documents": "true"}).json()
    assert [r["number"] for r in revisions["revisions"]] == [1, 2, 3]
    assert revisions["revisions"][2]["document"]["spec"]["env"] == {"LOG_LEVEL": "warn"}


def test_a_plan_made_before_the_stack_or_the_providers_moved_is_refused(api: Api) -> None:
    c = api.client(api.key())
    body = example("minimal.yaml")
    old = c.put("/v1/stacks/hello", content=body, headers=YAML).json()["plan"]["plan_id"]
    edited = body.replace(b"ports: [3000]", b"ports: [3000]\n        replicas: 2")
    new = c.put("/v1/stacks/hello", content=edited, headers=YAML).json()["plan"]["plan_id"]

    refused = c.post("/v1/stacks/hello/apply", json={"plan_id": old})
    assert refused.status_code == 409, refused.text
    assert refused.json()["type"].endswith("/stale-plan")
    assert "GET /v1/stacks/{name}/plan" in refused.json()["hint"]

    # the providers move: the plan made before no longer describes what apply would do
    c.post("/v1/stacks/hello/apply", json={"plan_id": new})
    events(c, "/v1/stacks/hello/events?follow=apply")
    planned = c.get("/v1/stacks/hello/plan").json()
    assert planned["summary"]["create"] == 0
    app_id = next(
        r["provider_id"]
        for r in c.get("/v1/stacks/hello").json()["resources"]
        if r["address"] == "app.web-2"
    )
    coolify = api.coolify
    assert coolify.delete(f"/applications/{app_id}").status_code == 200
    assert eventually(lambda: coolify.get(f"/applications/{app_id}").status_code == 404)
    moved = c.post("/v1/stacks/hello/apply", json={"plan_id": planned["plan_id"]})
    assert moved.status_code == 409 and "stale" in moved.json()["detail"]

    unknown = c.post("/v1/stacks/hello/apply", json={"plan_id": "0123456789abcdef"})
    assert unknown.status_code == 404 and unknown.json()["type"].endswith("/unknown-plan")


def test_lease_held_by_another_apply_is_a_conflict_naming_it(api: Api) -> None:
    c = api.client(api.key())
    plan_id = c.put("/v1/stacks/hello", content=example("minimal.yaml"), headers=YAML).json()[
        "plan"
    ]["plan_id"]
    with api.engine.lease("default", "hello", "cli:elsewhere:4242"):
        locked = c.post("/v1/stacks/hello/apply", json={"plan_id": plan_id})
        gone = c.delete("/v1/stacks/hello", params={"confirm": "hello"})
    assert locked.status_code == 409, locked.text
    assert locked.json()["holder"] == "cli:elsewhere:4242"
    assert "cli:elsewhere:4242" in locked.json()["detail"]
    assert gone.status_code == 409


def test_destroy_needs_the_name_and_runs_like_an_apply(api: Api) -> None:
    key = api.key()
    c = api.client(key)
    plan_id = c.put("/v1/stacks/mysaas", content=example("saas.yaml"), headers=YAML).json()["plan"][
        "plan_id"
    ]
    follow(api, key, c.post("/v1/stacks/mysaas/apply", json={"plan_id": plan_id}).json())

    unconfirmed = c.delete("/v1/stacks/mysaas")
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["errors"][0]["path"] == "query.confirm"
    assert "?confirm=mysaas" in unconfirmed.json()["hint"]
    assert c.delete("/v1/stacks/mysaas", params={"confirm": "other"}).status_code == 422

    gone = c.delete("/v1/stacks/mysaas", params={"confirm": "mysaas"})
    assert gone.status_code == 202, gone.text
    summary = gone.json()["plan"]["summary"]
    # everything but the shared workspace bucket is deleted; the paid domain is detached
    assert gone.json()["mode"] == "destroy" and summary["delete"] == 28
    assert summary["detach"] == 1
    stream = follow(api, key, gone.json())
    assert stream[-2][1]["status"] == "succeeded"
    assert eventually(lambda: held(api) == {"applications": [], "databases": []})
    assert c.get("/v1/stacks/mysaas").json()["status"] == "destroyed"
    assert c.delete("/v1/stacks/mysaas", params={"confirm": "mysaas"}).status_code == 404


def test_a_replacement_of_data_needs_confirm_in_the_apply_body(api: Api) -> None:
    key = api.key()
    c = api.client(key)
    body = example("saas.yaml")
    first = c.put("/v1/stacks/mysaas", content=body, headers=YAML).json()["plan"]["plan_id"]
    follow(api, key, c.post("/v1/stacks/mysaas/apply", json={"plan_id": first}).json())
    cache = b'    - name: cache\n      engine: redis\n      version: "7"\n'
    dropped = body.replace(cache + b"      backups: {enabled: false}\n", b"")
    assert dropped != body
    plan_id = c.put("/v1/stacks/mysaas", content=dropped, headers=YAML).json()["plan"]["plan_id"]
    refused = c.post("/v1/stacks/mysaas/apply", json={"plan_id": plan_id})
    assert refused.status_code == 422, refused.text
    assert "database.cache" in refused.json()["detail"]
    assert refused.json()["type"].endswith("/confirmation-required")
    accepted = c.post("/v1/stacks/mysaas/apply", json={"plan_id": plan_id, "confirm": "mysaas"})
    assert accepted.status_code == 202
    assert follow(api, key, accepted.json())[-2][1]["status"] == "succeeded"
    assert eventually(lambda: held(api)["databases"] == ["mysaas-database"])


def test_events_resume_after_last_event_id_and_end_on_timeout(api: Api) -> None:
    key = api.key()
    c = api.client(key)
    plan_id = c.put("/v1/stacks/hello", content=example("minimal.yaml"), headers=YAML).json()[
        "plan"
    ]["plan_id"]
    everything = follow(
        api, key, c.post("/v1/stacks/hello/apply", json={"plan_id": plan_id}).json()
    )
    middle = everything[3][1]["id"]
    rest = events(c, "/v1/stacks/hello/events?timeout=0.3", **{"Last-Event-ID": str(middle)})
    assert rest[-1] == ("end", {"reason": "timeout"})
    assert [d["id"] for _, d in rest[:-1]] == [d["id"] for _, d in everything[4:-1]]
    assert c.get("/v1/stacks/hello/events", headers={"Last-Event-ID": "abc"}).status_code == 400


def test_one_apply_per_stack_and_a_bounded_queue(make_api: Any) -> None:
    api = make_api(ApiSettings(apply_queue=1, event_poll_seconds=0.05))
    key = api.key()
    c = api.client(key)
    with httpx.Client(base_url=api.sandbox.providers["coolify"].control_url) as control:
        control.post("/latency", json={"seconds": 0.1}).raise_for_status()
    hello = example("minimal.yaml")
    two = hello.replace(b"name: hello", b"name: hello-two")
    first = c.put("/v1/stacks/hello", content=hello, headers=YAML).json()["plan"]["plan_id"]
    second = c.put("/v1/stacks/hello-two", content=two, headers=YAML).json()["plan"]["plan_id"]

    running = c.post("/v1/stacks/hello/apply", json={"plan_id": first})
    assert running.status_code == 202
    again = c.post("/v1/stacks/hello/apply", json={"plan_id": first})
    assert again.status_code == 409, again.text
    assert again.json()["apply_id"] == running.json()["apply_id"]
    busy = c.post("/v1/stacks/hello-two/apply", json={"plan_id": second})
    assert busy.status_code == 503 and busy.headers["Retry-After"]
    follow(api, key, running.json())
    later = c.post("/v1/stacks/hello-two/apply", json={"plan_id": second})
    assert later.status_code == 202, later.text
    assert follow(api, key, later.json())[-2][1]["status"] == "succeeded"
