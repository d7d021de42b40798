"""The ``/_sandbox`` control plane: faults, latency, request counts, reset, rate limit."""

from __future__ import annotations

import time

import httpx
import pytest

from .helpers import new_app


def test_faults_fail_matching_requests_after_skip(api: httpx.Client, control: httpx.Client) -> None:
    fault = control.post(
        "/faults",
        json={"method": "GET", "path": "/projects$", "status": 503, "times": 2, "skip": 1},
    )
    assert fault.status_code == 201
    statuses = [api.get("/projects").status_code for _ in range(4)]
    assert statuses == [200, 503, 503, 200]
    assert api.post("/projects", json={"name": "p"}).status_code == 201  # other method
    assert control.get("/faults").json() == {"faults": []}


def test_fault_bodies_headers_and_clearing(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"path": "/servers", "status": 500})
    resp = api.get("/servers")
    assert (resp.status_code, resp.json()) == (500, {"message": "Server Error"})
    control.post(
        "/faults",
        json={"path": "/servers", "status": 429, "body": {"message": "slow down"}, "times": None},
    )
    for _ in range(2):
        limited = api.get("/servers")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert limited.json() == {"message": "slow down"}
    control.delete("/faults")
    assert api.get("/servers").status_code == 200


def test_fault_delay_times_a_client_out(api: httpx.Client, control: httpx.Client) -> None:
    control.post("/faults", json={"path": "/version", "delay": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        api.get("/version", timeout=0.2)
    assert api.get("/version").text == "4.3.11"


def test_bad_fault_specs_are_refused(control: httpx.Client) -> None:
    for spec in ({"path": "("}, {"status": 99}, {"path": "x"}, {"colour": 1}):
        resp = control.post("/faults", json=spec)
        assert resp.status_code == 400, spec
        assert "error" in resp.json()


def test_latency_is_added_to_api_calls_only(api: httpx.Client, control: httpx.Client) -> None:
    assert control.post("/latency", json={"seconds": 0.15}).json() == {"seconds": 0.15}
    start = time.perf_counter()
    api.get("/version")
    assert time.perf_counter() - start >= 0.15
    start = time.perf_counter()
    control.get("/requests")
    assert time.perf_counter() - start < 0.15
    control.post("/latency", json={"seconds": 0})


def test_request_counts_by_template(api: httpx.Client, control: httpx.Client, project: str) -> None:
    control.delete("/requests")
    first = new_app(api, project)
    second = new_app(api, project)
    api.get(f"/applications/{first}")
    api.get(f"/applications/{second}")
    api.get("/applications", params={"tag": "x"})
    assert control.get("/requests").json() == {
        "total": 5,
        "by_route": {
            "GET /api/v1/applications": 1,
            "GET /api/v1/applications/{uuid}": 2,
            "POST /api/v1/applications/public": 2,
        },
    }
    assert control.delete("/requests").json()["total"] == 0


def test_reset_wipes_data_but_keeps_token_and_server(
    api: httpx.Client, control: httpx.Client, project: str
) -> None:
    new_app(api, project)
    assert control.post("/reset").status_code == 200
    assert api.get("/projects").json() == []
    assert api.get("/applications").json() == []
    assert len(api.get("/servers").json()) == 1


def test_rate_limit_is_off_by_default_and_configurable(
    api: httpx.Client, control: httpx.Client
) -> None:
    assert control.get("/coolify/settings").json()["rate_limit_per_minute"] is None
    assert control.post("/coolify/settings", json={"rate_limit_per_minute": 3}).status_code == 200
    answers = [api.get("/version") for _ in range(4)]
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[0].headers["x-ratelimit-limit"] == "3"
    assert answers[2].headers["x-ratelimit-remaining"] == "0"
    assert answers[3].json() == {"message": "Too Many Attempts."}
    assert 1 <= int(answers[3].headers["retry-after"]) <= 60
    bad = control.post("/coolify/settings", json={"rate_limit_per_minute": 0})
    assert bad.status_code == 400
    control.post("/coolify/settings", json={"rate_limit_per_minute": None})
    assert api.get("/version").status_code == 200
