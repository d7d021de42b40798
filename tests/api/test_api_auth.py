"""Every authentication case on every route: no key, a malformed header, an unknown,
expired or revoked key (401), a key without the route's scope (403 naming it), and a key
of another workspace (404: the stack's existence never leaks)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from vibn.api.auth import SCOPES
from vibn.specs import digest, load_stack

from .conftest import ALL_SCOPES, Api, example, past


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    scope: str
    #: another workspace's key gets 404 (the path names one of this workspace's objects)
    private: bool = True
    body: dict[str, Any] | None = None
    content: bytes | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path.split('?')[0]}"


ROUTES = [
    Route("GET", "/v1/stacks", "stacks:read", private=False),
    Route("PUT", "/v1/stacks/hello", "stacks:write", private=False, content=b"{}"),
    Route("GET", "/v1/stacks/hello", "stacks:read"),
    Route("DELETE", "/v1/stacks/hello?confirm=hello", "stacks:delete"),
    Route("GET", "/v1/stacks/hello/plan", "stacks:read"),
    Route("GET", "/v1/stacks/hello/revisions", "stacks:read"),
    Route("GET", "/v1/stacks/hello/events?timeout=0.1", "stacks:read"),
    Route("POST", "/v1/stacks/hello/apply", "stacks:apply", body={"plan_id": "0123456789abcdef"}),
    Route("GET", "/v1/audit", "audit:read", private=False),
    Route("GET", "/v1/keys", "keys:admin", private=False),
    Route("POST", "/v1/keys", "keys:admin", private=False, body={"scopes": ["stacks:read"]}),
    Route("POST", "/v1/keys/{key_id}/rotate", "keys:admin"),
    Route("DELETE", "/v1/keys/{key_id}", "keys:admin"),
]


@dataclass
class World:
    api: Api
    target_key_id: int
    keys: dict[str, str]
    client: httpx.Client


@pytest.fixture(scope="module")
def world(shared_api: Api) -> Iterator[World]:
    store = shared_api.store
    stack = load_stack(example("minimal.yaml"))
    store.put_revision(
        "default", "hello", stack.model_dump(mode="json", by_alias=True), digest(stack)
    )
    _, target = store.create_api_key("default", scopes=["stacks:read"], name="target")
    revoked, record = store.create_api_key("default", scopes=ALL_SCOPES)
    store.revoke_api_key("default", record.id)
    yield World(
        shared_api,
        target.id,
        {
            "unknown": "vibn_" + "x" * 43,
            "expired": shared_api.key(expires_at=past()),
            "revoked": revoked,
            "other workspace": shared_api.key(workspace="other"),
        },
        shared_api.client(),
    )


def call(world: World, route: Route, **headers: str) -> Any:
    path = route.path.format(key_id=world.target_key_id)
    return world.client.request(
        route.method, path, json=route.body, content=route.content, headers=headers
    )


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    assert problem["type"].startswith("https://vibn.dev/problems/")
    assert problem["title"] and problem["detail"] and problem["instance"]
    return problem


@pytest.mark.parametrize("route", ROUTES, ids=str)
@pytest.mark.parametrize("case", ["no key", "not bearer", "unknown", "expired", "revoked"], ids=str)
def test_without_a_live_key_every_route_is_401(world: World, route: Route, case: str) -> None:
    headers = {}
    if case == "not bearer":
        headers["Authorization"] = "Basic dXNlcjpwYXNz"
    elif case != "no key":
        headers["Authorization"] = f"Bearer {world.keys[case]}"
    problem = assert_problem(call(world, route, **headers), 401)
    assert "Bearer" in problem["hint"]
    response = call(world, route, **headers)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_without_the_scope_every_route_is_403_naming_it(world: World, route: Route) -> None:
    key = world.api.key(*(s for s in ALL_SCOPES if s != route.scope))
    problem = assert_problem(call(world, route, Authorization=f"Bearer {key}"), 403)
    assert problem["scope"] == route.scope
    assert route.scope in problem["detail"] and route.scope in problem["hint"]


@pytest.mark.parametrize("route", [r for r in ROUTES if r.private], ids=str)
def test_another_workspaces_objects_are_not_found(world: World, route: Route) -> None:
    other = f"Bearer {world.keys['other workspace']}"
    assert_problem(call(world, route, Authorization=other), 404)


def test_another_workspace_sees_none_of_this_ones_stacks_keys_or_audit(world: World) -> None:
    c = world.api.client(world.keys["other workspace"])
    assert c.get("/v1/stacks").json() == {"workspace": "other", "stacks": []}
    assert all(k["workspace"] == "other" for k in c.get("/v1/keys").json()["keys"])
    principal = "key:" + world.keys["other workspace"][:12]
    assert {e["principal"] for e in c.get("/v1/audit").json()["events"]} == {principal}
    problem = assert_problem(
        c.put(
            "/v1/stacks/hello",
            content=example("minimal.yaml").replace(
                b"name: hello", b"name: hello\n  workspace: default"
            ),
            headers={"Content-Type": "application/yaml"},
        ),
        422,
    )
    assert [e["path"] for e in problem["errors"]] == ["metadata.workspace"]
    own = world.api.client(world.api.key())
    assert [s["name"] for s in own.get("/v1/stacks").json()["stacks"]] == ["hello"]


def test_buying_a_domain_needs_domains_write(world: World) -> None:
    body = (
        example("minimal.yaml")
        .replace(b"name: hello", b"name: shop")
        .replace(b"spec:\n", b"spec:\n  domain: {name: example-shop.ca, register: true}\n")
    )
    writer = world.api.client(world.api.key())
    put = writer.put("/v1/stacks/shop", content=body, headers={"Content-Type": "application/yaml"})
    assert put.status_code == 201, put.text
    plan_id = put.json()["plan"]["plan_id"]
    without = world.api.client(world.api.key(*(s for s in ALL_SCOPES if s != "domains:write")))
    problem = assert_problem(without.post("/v1/stacks/shop/apply", json={"plan_id": plan_id}), 403)
    assert problem["scope"] == "domains:write"
    # with the scope, the purchase goes ahead (the float pays; the plan showed the price)
    assert put.json()["plan"]["charges"][0]["what"] == "register example-shop.ca for 1 year"
    accepted = writer.post("/v1/stacks/shop/apply", json={"plan_id": plan_id})
    assert accepted.status_code == 202, accepted.text


def test_the_scope_vocabulary_is_the_documented_one() -> None:
    assert set(SCOPES) == set(ALL_SCOPES)
