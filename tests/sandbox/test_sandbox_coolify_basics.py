"""Transport-level behaviour of the Coolify emulator: auth, health, body rules, 404s."""

from __future__ import annotations

import httpx
import pytest

from vibn.sandbox.coolify import SERVER_UUID


def test_missing_or_wrong_token_is_unauthenticated(
    anonymous: httpx.Client, coolify_token: str
) -> None:
    assert anonymous.get("/projects").json() == {"message": "Unauthenticated."}
    for header in ("Bearer nope", f"Token {coolify_token}", ""):
        resp = anonymous.get("/projects", headers={"Authorization": header})
        assert resp.status_code == 401
        assert resp.json() == {"message": "Unauthenticated."}


def test_health_needs_no_token_and_answers_plain_ok(anonymous: httpx.Client) -> None:
    for path in ("/api/health", "/api/v1/health"):
        resp = anonymous.get(anonymous.base_url.copy_with(path=path))
        assert resp.status_code == 200
        assert resp.text == "OK"


def test_version_is_plain_text(api: httpx.Client) -> None:
    resp = api.get("/version")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert resp.text == "4.3.11"


def test_unknown_route_is_the_fallback_404_even_without_a_token(anonymous: httpx.Client) -> None:
    resp = anonymous.get("/no-such-thing")
    assert resp.status_code == 404
    assert resp.json()["message"] == "Not found."


def test_servers_list_the_one_usable_localhost(api: httpx.Client) -> None:
    servers = api.get("/servers").json()
    assert [s["uuid"] for s in servers] == [SERVER_UUID]
    assert servers[0]["name"] == "localhost"
    assert servers[0]["settings"]["is_usable"] is True
    assert servers[0]["settings"]["is_reachable"] is True
    one = api.get(f"/servers/{SERVER_UUID}").json()
    assert one["uuid"] == SERVER_UUID and one["settings"]["is_usable"] is True
    assert api.get("/servers/abc").json() == {"message": "Server not found."}


@pytest.mark.parametrize(
    ("content", "headers", "error"),
    [
        (
            b'{"name": "x"}',
            {"Content-Type": "text/plain"},
            "Content-Type must be application/json.",
        ),
        (b"{not json", {"Content-Type": "application/json"}, "Invalid JSON."),
        (b"[]", {"Content-Type": "application/json"}, "Invalid JSON."),
        (b"{}", {"Content-Type": "application/json"}, "Empty JSON."),
    ],
)
def test_write_bodies_must_be_json(
    api: httpx.Client, content: bytes, headers: dict[str, str], error: str
) -> None:
    resp = api.post("/projects", content=content, headers=headers)
    assert resp.status_code == 400
    assert resp.json() == {"message": "Invalid request.", "error": error}


def test_unknown_fields_and_missing_required_fields_are_422(api: httpx.Client) -> None:
    resp = api.post("/projects", json={"name": "p", "colour": "red"})
    assert resp.status_code == 422
    assert resp.json() == {
        "message": "Validation failed.",
        "errors": {"colour": ["This field is not allowed."]},
    }
    resp = api.post("/projects", json={"description": "no name"})
    assert resp.status_code == 422
    assert resp.json()["errors"] == {"name": ["The name field is required."]}


def test_uuids_are_24_lowercase_alphanumerics(api: httpx.Client) -> None:
    uuid = api.post("/projects", json={"name": "p"}).json()["uuid"]
    assert len(uuid) == 24 and uuid.isalnum() and uuid == uuid.lower()
