"""``vibn secrets``: values a stack references with ``from: store``, encrypted at rest."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from vibn.cli.base import (
    JsonOpt,
    WorkspaceOpt,
    err,
    errors_reported,
    fail,
    out,
    print_json,
    secrets_app,
)
from vibn.wiring import open_context


@secrets_app.command("set")
def secrets_set(
    name: Annotated[str, typer.Argument(help="Secret name (what `from: store` refers to).")],
    value: Annotated[
        str | None, typer.Option("--value", help="The value (default: read from stdin).")
    ] = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Store a secret, encrypted at rest (AES-256-GCM)."""
    with errors_reported():
        if value is None:
            value = (
                typer.prompt("Value", hide_input=True)
                if sys.stdin.isatty()
                else sys.stdin.read().rstrip("\n")
            )
        if not value:
            fail("refusing to store an empty secret")
        with open_context(need_providers=False) as ctx:
            ctx.store.set_secret(workspace, name, value)
            ctx.store.audit("cli", workspace, "secret.set", detail={"name": name})
            err.print(f"Stored secret {name} in workspace {workspace}.")


@secrets_app.command("list")
def secrets_list(workspace: WorkspaceOpt = "default", as_json: JsonOpt = False) -> None:
    """List secret names (never values)."""
    with errors_reported():
        with open_context(need_providers=False) as ctx:
            names = ctx.store.list_secrets(workspace)
        if as_json:
            print_json(names)
        else:
            for n in names:
                out.print(n)


@secrets_app.command("delete")
def secrets_delete(name: str, workspace: WorkspaceOpt = "default") -> None:
    """Delete a stored secret."""
    with errors_reported(), open_context(need_providers=False) as ctx:
        if not ctx.store.delete_secret(workspace, name):
            fail(f"no secret {name} in workspace {workspace}")
        ctx.store.audit("cli", workspace, "secret.delete", detail={"name": name})
        err.print(f"Deleted secret {name}.")
