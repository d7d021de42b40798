"""Refusals as problem details (every problem at once, with paths and a hint), limits,
quotas, the unexpected failure that leaks nothing, and the operator routes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from vibn.api import ApiSettings, Quotas

from .conftest import Api, events, example

YAML = {"Content-Type": "application/yaml"}

BAD = b"""apiVersion: vibn.dev/v1
kind: Stack
metadata: {name: hello}
spec:
  databases: [{name: db, engine: oracle}]
  storage: {location: us-east1}
  cron: [{name: c, schedule: '99 * * * *', path: /x}]
"""


def problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "instance", "hint", "errors"} <= body.keys()
    assert body["status"] == status and body["instance"] == response.request.url.path
    return body


def test_every_problem_of_a_document_at_once(shared_api: Api) -> None:
    c = shared_api.client(shared_api.key())
    found = problem(c.put("/v1/stacks/hello", content=BAD, headers=YAML), 422)
    paths = {e["path"] for e in found["errors"]}
    assert {
        "spec.databases[0].engine",
        "spec.storage.location",
        "spec.cron[0].schedule",
    } <= paths
    assert found["type"].endswith("/invalid-stack") and "schema" in found["hint"]
    syntax = problem(c.put("/v1/stacks/hello", content=b"spec: [unclosed", headers=YAML), 422)
    assert syntax["errors"][0]["line"] and "invalid YAML" in syntax["errors"][0]["message"]
    not_json = problem(c.put("/v1/stacks/hello", content=b"{oops", headers={}), 422)
    assert not_json["errors"]


@pytest.mark.parametrize(
    "send",
    [
        pytest.param(lambda c, body: c.put("/v1/stacks/big", content=body), id="content-length"),
        pytest.param(
            lambda c, body: c.put("/v1/stacks/big", content=iter([body[:1000], body[1000:]])),
            id="chunked",
        ),
    ],
)
def test_a_document_over_one_mebibyte_is_413(shared_api: Api, send: Callable[..., Any]) -> None:
    c = shared_api.client(shared_api.key(), **YAML)
    body = example("minimal.yaml") + b"#" * (1024 * 1024)
    assert problem(send(c, body), 413)["type"].endswith("/too-large")


def test_bad_requests_are_4xx_problems(shared_api: Api) -> None:
    c = shared_api.client(shared_api.key())
    media = problem(
        c.put("/v1/stacks/hello", content=b"x", headers={"Content-Type": "text/csv"}), 415
    )
    assert "application/yaml" in media["hint"]
    name = problem(c.get("/v1/stacks/Not_A_Name"), 422)
    assert name["errors"][0]["path"] == "path.name"
    body = problem(
        c.post(
            "/v1/stacks/hello/apply", content=b"{", headers={"Content-Type": "application/json"}
        ),
        422,
    )
    assert body["errors"]
    missing = problem(c.post("/v1/stacks/hello/apply", json={"plan": "x"}), 422)
    assert {e["path"] for e in missing["errors"]} >= {"body.plan_id"}
    assert problem(c.get("/v1/nowhere"), 404)["type"].endswith("/no-such-route")
    assert problem(c.patch("/v1/stacks/hello"), 405)
    assert (
        problem(c.get("/v1/audit", params={"limit": 0}), 422)["errors"][0]["path"] == "query.limit"
    )


def test_an_unexpected_failure_is_a_500_that_leaks_nothing(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("internal detail: password=hunter2")

    monkeypatch.setattr(api.engine, "plan", broken)
    response = api.client(api.key()).put(
        "/v1/stacks/hello", content=example("minimal.yaml"), headers=YAML
    )
    found = problem(response, 500)
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert found["type"].endswith("/internal")


@pytest.fixture
def quota_api(make_api: Callable[[ApiSettings], Api]) -> Iterator[Api]:
    quotas = Quotas(stacks=2, apps=2, databases=1, monthly_spend=10.0)
    yield make_api(ApiSettings(quotas=quotas, event_poll_seconds=0.05))


def test_quotas_refuse_at_plan_time_naming_each_one(quota_api: Api) -> None:
    c = quota_api.client(quota_api.key())
    over = problem(c.put("/v1/stacks/mysaas", content=example("saas.yaml"), headers=YAML), 422)
    assert over["type"].endswith("/quota-exceeded")
    assert {(e["quota"], e["path"]) for e in over["errors"]} == {
        ("apps", "spec.app.services"),
        ("databases", "spec.databases"),
        ("monthly_spend", "spec.domain"),  # the example buys its domain: over 10 CAD
    }
    assert "1" in next(e["message"] for e in over["errors"] if e["quota"] == "databases")
    assert c.get("/v1/stacks/mysaas").status_code == 404  # nothing was stored

    hello = example("minimal.yaml")
    assert c.put("/v1/stacks/hello", content=hello, headers=YAML).status_code == 201
    two = hello.replace(b"name: hello", b"name: hello-two")
    assert c.put("/v1/stacks/hello-two", content=two, headers=YAML).status_code == 201
    three = hello.replace(b"name: hello", b"name: hello-three")
    refused = problem(c.put("/v1/stacks/hello-three", content=three, headers=YAML), 422)
    assert [e["quota"] for e in refused["errors"]] == ["stacks"]

    # applied resources count: hello's one app, plus three more would be four
    plan_id = c.get("/v1/stacks/hello/plan").json()["plan_id"]
    accepted = c.post("/v1/stacks/hello/apply", json={"plan_id": plan_id}).json()
    events(c, accepted["links"]["events"])
    more = two.replace(b"ports: [3000]", b"ports: [3000]\n        replicas: 3")
    refused = problem(c.put("/v1/stacks/hello-two", content=more, headers=YAML), 422)
    assert [e["quota"] for e in refused["errors"]] == ["apps"]
    assert "4 applications" in refused["errors"][0]["message"]


def test_health_readiness_and_metrics(api: Api, tmp_path: Any) -> None:
    c = api.client()
    assert c.get("/healthz").json() == {"status": "ok"}
    ready = c.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"

    key = api.key()
    client = api.client(key)
    plan_id = client.put("/v1/stacks/hello", content=example("minimal.yaml"), headers=YAML).json()[
        "plan"
    ]["plan_id"]
    events(
        client,
        client.post("/v1/stacks/hello/apply", json={"plan_id": plan_id}).json()["links"]["events"],
    )
    client.get("/v1/stacks/nope")
    text = c.get("/metrics").text
    assert (
        'vibn_api_requests_total{method="PUT",route="/v1/stacks/{name}",status="201"} 1.0' in text
    )
    assert 'route="/v1/stacks/{name}",status="404"' in text
    assert 'vibn_api_apply_seconds_count{mode="apply",status="succeeded"} 1.0' in text
    assert "# HELP vibn_reconciles_total" in text  # the reconciler's registry
    assert "vibn_api_applies_in_flight 0.0" in text

    with sqlite3.connect(tmp_path / "state.db") as db:
        db.execute("UPDATE alembic_version SET version_num = '0001'")
    behind = problem(c.get("/readyz"), 503)
    assert "0001" in behind["detail"]


def test_openapi_describes_the_stack_body_security_and_problems(shared_api: Api) -> None:
    doc = shared_api.client().get("/openapi.json").json()
    put = doc["paths"]["/v1/stacks/{name}"]["put"]
    content = put["requestBody"]["content"]
    assert set(content) == {"application/yaml", "application/json"}
    assert "StackDocument" in doc["components"]["schemas"]
    assert "StackDocument.App" in doc["components"]["schemas"]
    assert put["security"] == [{"apiKey": []}]
    assert "application/problem+json" in put["responses"]["422"]["content"]
    assert "403" in put["responses"] and "401" in put["responses"]
    assert "#/$defs/" not in str(doc)


def test_monthly_spend_counts_purchases_net_of_refunds_not_top_ups(tmp_path: Any) -> None:
    from decimal import Decimal

    from vibn.api.quotas import spent_this_month
    from vibn.state import SecretBox, Store

    store = Store.open(f"sqlite:///{tmp_path / 's.db'}", SecretBox.generate())
    store.ledger_entry("w", Decimal("100"), "credit: invoice 1", "credit:w:invoice-1")
    store.ledger_entry("w", Decimal("-19.79"), "register a.com", "domain:w:a.com:register:0")
    store.ledger_entry("w", Decimal("-15.95"), "register b.ca", "domain:w:b.ca:register:0")
    store.ledger_entry("w", Decimal("15.95"), "refund: b.ca", "domain:w:b.ca:refund:0")
    assert spent_this_month(store, "w") == Decimal("19.79")
    store.close()
