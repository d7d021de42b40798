"""``vibn keys``: workspace API keys for the HTTP API, shown once, stored hashed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from vibn.cli.base import (
    JsonOpt,
    WorkspaceOpt,
    err,
    errors_reported,
    fail,
    keys_app,
    out,
    print_json,
)
from vibn.specs.model import Name
from vibn.state import ApiKeyRecord
from vibn.state.records import KEY_SCOPES
from vibn.wiring import open_context


def _key_data(key: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "workspace": key.workspace,
        "scopes": list(key.scopes),
        "created_at": key.created_at.isoformat(),
        "expires_at": key.expires_at.isoformat() if key.expires_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
    }


def _print_new_key(token: str, key: ApiKeyRecord, as_json: bool, verb: str) -> None:
    if as_json:
        print_json({"key": token, **_key_data(key)})
        return
    out.print(token, markup=False)
    err.print(
        f"{verb} key {key.id} ({key.prefix}...) of workspace {key.workspace}, scopes "
        f"{', '.join(key.scopes)}. It is shown only now: keep it safe.",
        markup=False,
    )


@keys_app.command("create")
def keys_create(
    workspace: Annotated[
        str, typer.Option("--workspace", "-w", help="The key's workspace (created if new).")
    ],
    scopes: Annotated[
        str, typer.Option("--scopes", help=f"Comma-separated: {', '.join(KEY_SCOPES)}.")
    ],
    expires_in: Annotated[
        int | None, typer.Option("--expires-in", min=1, metavar="DAYS", help="Lifetime.")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="A label for people.")] = "",
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; it is printed once and cannot be shown again."""
    with errors_reported():
        wanted = sorted({s.strip() for s in scopes.split(",") if s.strip()})
        unknown = [s for s in wanted if s not in KEY_SCOPES]
        if unknown or not wanted:
            fail(
                f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
                f"known: {', '.join(KEY_SCOPES)}"
            )
        try:
            TypeAdapter(Name).validate_python(workspace)
        except ValidationError:
            fail(f"{workspace!r} is not a workspace name: lowercase letters, digits and '-'")
        expires_at = None
        if expires_in is not None:
            expires_at = datetime.now(UTC) + timedelta(days=expires_in)
        with open_context(need_providers=False) as ctx:
            token, key = ctx.store.create_api_key(
                workspace, scopes=wanted, name=name, expires_at=expires_at
            )
            ctx.store.audit("cli", workspace, "key.create", detail={"key_id": key.id})
        _print_new_key(token, key, as_json, "Created")


@keys_app.command("list")
def keys_list(workspace: WorkspaceOpt = "default", as_json: JsonOpt = False) -> None:
    """The workspace's keys: prefix, scopes, expiry, revocation (never the secret)."""
    with errors_reported(), open_context(need_providers=False) as ctx:
        keys = ctx.store.list_api_keys(workspace)
    if as_json:
        print_json([_key_data(k) for k in keys])
        return
    for k in keys:
        state = "live"
        if k.revoked_at:
            state = "revoked"
        elif k.expires_at:
            state = f"expires {k.expires_at:%Y-%m-%d}"
        out.print(f"{k.id}  {k.prefix}...  {k.name or '-'}  {','.join(k.scopes)}  {state}")


@keys_app.command("rotate")
def keys_rotate(
    key_id: Annotated[int, typer.Argument(metavar="ID", help="The key to replace.")],
    workspace: WorkspaceOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Replace a key by a new one with the same name, scopes and lifetime; revoke it."""
    with errors_reported(), open_context(need_providers=False) as ctx:
        old = next(
            (k for k in ctx.store.list_api_keys(workspace) if k.id == key_id and not k.revoked_at),
            None,
        )
        if old is None:
            fail(f"workspace {workspace} has no live key {key_id}")
        expires_at = None
        if old.expires_at is not None:
            expires_at = datetime.now(UTC) + (old.expires_at - old.created_at)
        token, key = ctx.store.create_api_key(
            workspace, scopes=old.scopes, name=old.name, expires_at=expires_at
        )
        ctx.store.revoke_api_key(workspace, key_id)
        ctx.store.audit(
            "cli", workspace, "key.rotate", detail={"key_id": key_id, "new_key_id": key.id}
        )
    _print_new_key(token, key, as_json, "Rotated: new")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(metavar="ID", help="The key to revoke.")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Revoke a key: requests with it are refused from now on."""
    with errors_reported(), open_context(need_providers=False) as ctx:
        if not ctx.store.revoke_api_key(workspace, key_id):
            fail(f"workspace {workspace} has no live key {key_id}")
        ctx.store.audit("cli", workspace, "key.revoke", detail={"key_id": key_id})
    err.print(f"Revoked key {key_id}.")
