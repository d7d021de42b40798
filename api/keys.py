"""The workspace's API keys over HTTP, for a key with ``keys:admin``.

A new or rotated key's secret is in the answer once and never again (the store keeps its
hash). Rotating issues a key with the same name, scopes and lifetime and revokes the old
one, so an agent replaces its credentials without an operator. Keys of other workspaces
are not found, like their stacks.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from vibn.state import ApiKeyRecord, Store
from vibn.state.records import Scope

from .auth import Caller, Require
from .problems import PROBLEM_RESPONSE, ApiProblem
from .service import Service, get_service
from .views import key_view

router = APIRouter(prefix="/v1/keys", tags=["keys"])

KeyId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The key's id.")]


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scopes: list[Scope] = Field(min_length=1, description="What the key may do.")
    name: str = Field("", max_length=100, pattern=r"^[\w .:@/+-]*$", description="A label.")
    expires_in_days: int | None = Field(None, ge=1, le=3650, description="Default: never.")


def rotate_key(store: Store, workspace: str, key_id: int) -> tuple[str, ApiKeyRecord] | None:
    """A new key like ``key_id`` (same name, scopes and lifetime), the old one revoked;
    None when the workspace has no such unrevoked key."""
    old = next(
        (k for k in store.list_api_keys(workspace) if k.id == key_id and k.revoked_at is None),
        None,
    )
    if old is None:
        return None
    expires_at = None
    if old.expires_at is not None:
        expires_at = datetime.now(UTC) + (old.expires_at - old.created_at)
    token, new = store.create_api_key(
        workspace, scopes=old.scopes, name=old.name, expires_at=expires_at
    )
    store.revoke_api_key(workspace, key_id)
    return token, new


def _no_key(key_id: int) -> ApiProblem:
    return ApiProblem(
        404,
        "not-found",
        f"this workspace has no live key {key_id}",
        title="No such key",
        hint="GET /v1/keys lists the workspace's keys.",
    )


@router.post("", status_code=201, summary="Create a key (its secret is shown once)")
def create_key(
    body: KeyCreate,
    caller: Caller = Depends(Require("keys:admin")),
    service: Service = Depends(get_service),
) -> dict[str, Any]:
    expires_at = None
    if body.expires_in_days is not None:
        expires_at = datetime.now(UTC) + timedelta(days=body.expires_in_days)
    with service.audited(caller, "key.create", None) as entry:
        token, record = service.store.create_api_key(
            caller.workspace,
            scopes=sorted(set(body.scopes)),
            name=body.name,
            expires_at=expires_at,
        )
        entry.detail = {"key_id": record.id, "prefix": record.prefix, "scopes": body.scopes}
    return {"key": token, **key_view(record)}


@router.get("", summary="The workspace's keys (never their secrets)")
def list_keys(
    caller: Caller = Depends(Require("keys:admin")),
    service: Service = Depends(get_service),
) -> dict[str, Any]:
    return {"keys": [key_view(k) for k in service.store.list_api_keys(caller.workspace)]}


@router.post(
    "/{key_id}/rotate",
    status_code=201,
    summary="Replace a key with a new one; the old one is revoked",
    responses={404: PROBLEM_RESPONSE},
)
def rotate(
    key_id: KeyId,
    caller: Caller = Depends(Require("keys:admin")),
    service: Service = Depends(get_service),
) -> dict[str, Any]:
    with service.audited(caller, "key.rotate", None) as entry:
        entry.detail = {"key_id": key_id}
        rotated = rotate_key(service.store, caller.workspace, key_id)
        if rotated is None:
            raise _no_key(key_id)
        token, record = rotated
        entry.detail["new_key_id"] = record.id
    return {"key": token, "replaces": key_id, **key_view(record)}


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke a key",
    responses={404: PROBLEM_RESPONSE},
)
def revoke(
    key_id: KeyId,
    caller: Caller = Depends(Require("keys:admin")),
    service: Service = Depends(get_service),
) -> Response:
    with service.audited(caller, "key.revoke", None) as entry:
        entry.detail = {"key_id": key_id}
        if not service.store.revoke_api_key(caller.workspace, key_id):
            raise _no_key(key_id)
    return Response(status_code=204)
