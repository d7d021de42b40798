"""Application environment variables: create, preview twins, update by key, bulk upsert."""

from __future__ import annotations

import httpx

from .helpers import new_app

ENV_FIELDS = {
    "uuid",
    "key",
    "value",
    "real_value",
    "is_preview",
    "is_literal",
    "is_multiline",
    "is_shown_once",
    "is_runtime",
    "is_buildtime",
    "is_shared",
    "comment",
    "version",
    "created_at",
    "updated_at",
}


def test_create_lists_the_variable_and_its_preview_twin(api: httpx.Client, project: str) -> None:
    app = new_app(api, project)
    resp = api.post(f"/applications/{app}/envs", json={"key": "DATABASE_URL", "value": "pg://x"})
    assert resp.status_code == 201
    uuid = resp.json()["uuid"]
    envs = api.get(f"/applications/{app}/envs").json()
    assert [(e["key"], e["is_preview"]) for e in envs] == [
        ("DATABASE_URL", False),
        ("DATABASE_URL", True),
    ]
    prod = envs[0]
    assert prod["uuid"] == uuid
    assert set(prod) >= ENV_FIELDS
    assert "id" not in prod and "resourceable_id" not in prod
    assert (prod["value"], prod["real_value"]) == ("pg://x", "pg://x")
    assert (prod["is_runtime"], prod["is_buildtime"], prod["is_literal"]) == (True, True, False)


def test_duplicate_key_is_409_and_unknown_fields_422(api: httpx.Client, project: str) -> None:
    app = new_app(api, project)
    api.post(f"/applications/{app}/envs", json={"key": "A", "value": "1"})
    dup = api.post(f"/applications/{app}/envs", json={"key": "A", "value": "2"})
    assert dup.status_code == 409
    assert dup.json() == {
        "message": "Environment variable already exists. Use PATCH request to update it."
    }
    bad = api.post(f"/applications/{app}/envs", json={"key": "B", "secret": True})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {"secret": ["This field is not allowed."]}
    missing = api.get("/applications/nope/envs")
    assert (missing.status_code, missing.json()) == (404, {"message": "Application not found"})


def test_patch_matches_by_key(api: httpx.Client, project: str) -> None:
    app = new_app(api, project)
    api.post(f"/applications/{app}/envs", json={"key": "A", "value": "1"})
    resp = api.patch(
        f"/applications/{app}/envs", json={"key": "A", "value": "2", "is_literal": True}
    )
    assert resp.status_code == 201
    assert (resp.json()["key"], resp.json()["value"], resp.json()["is_literal"]) == ("A", "2", True)
    envs = api.get(f"/applications/{app}/envs").json()
    assert [(e["value"], e["is_preview"]) for e in envs] == [("2", False), ("1", True)]
    nope = api.patch(f"/applications/{app}/envs", json={"key": "ZZ", "value": "x"})
    assert (nope.status_code, nope.json()) == (404, {"message": "Environment variable not found."})


def test_bulk_upserts_by_key(api: httpx.Client, project: str) -> None:
    app = new_app(api, project)
    api.post(f"/applications/{app}/envs", json={"key": "KEEP", "value": "old"})
    resp = api.patch(
        f"/applications/{app}/envs/bulk",
        json={
            "data": [
                {"key": "KEEP", "value": "new"},
                {"key": "ADDED", "value": "x", "is_buildtime": False, "ignored_field": 1},
            ]
        },
    )
    assert resp.status_code == 201
    assert [(e["key"], e["value"]) for e in resp.json()] == [("KEEP", "new"), ("ADDED", "x")]
    prod = {e["key"]: e for e in api.get(f"/applications/{app}/envs").json() if not e["is_preview"]}
    assert prod["KEEP"]["value"] == "new"
    assert prod["ADDED"]["is_buildtime"] is False
    assert len(prod) == 2


def test_bulk_needs_data_and_valid_items(api: httpx.Client, project: str) -> None:
    app = new_app(api, project)
    empty = api.patch(f"/applications/{app}/envs/bulk", json={"data": []})
    assert (empty.status_code, empty.json()) == (400, {"message": "Bulk data is required."})
    bad = api.patch(f"/applications/{app}/envs/bulk", json={"data": [{"value": "no key"}]})
    assert bad.status_code == 422
    assert bad.json()["errors"] == {"key": ["The key field is required."]}


def test_delete_by_uuid(api: httpx.Client, project: str) -> None:
    app = new_app(api, project)
    uuid = api.post(f"/applications/{app}/envs", json={"key": "A", "value": "1"}).json()["uuid"]
    resp = api.delete(f"/applications/{app}/envs/{uuid}")
    assert (resp.status_code, resp.json()) == (200, {"message": "Environment variable deleted."})
    left = api.get(f"/applications/{app}/envs").json()
    assert [(e["key"], e["is_preview"]) for e in left] == [("A", True)]
    again = api.delete(f"/applications/{app}/envs/{uuid}")
    assert again.status_code == 404
