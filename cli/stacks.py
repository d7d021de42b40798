"""The Terraform-style commands: validate, plan, apply, destroy, status, schema."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from vibn import __version__
from vibn.cli.base import (
    JsonOpt,
    WorkspaceOpt,
    app,
    err,
    errors_reported,
    fail,
    is_plan_file,
    out,
    print_json,
    read_source,
)
from vibn.render import Progress, render_plan, render_status
from vibn.specs import SpecError, json_schema, load_stack
from vibn.wiring import Context, open_context


@app.command()
def validate(
    file: Annotated[str, typer.Argument(help="Stack YAML/JSON, or - for stdin.")],
    as_json: JsonOpt = False,
) -> None:
    """Check a stack document: schema, residency, names, cron expressions."""
    try:
        stack = load_stack(read_source(file), source=file)
    except SpecError as exc:
        if as_json:
            print_json({"valid": False, "problems": [p.__dict__ for p in exc.problems]})
            raise typer.Exit(1) from None
        with errors_reported():
            raise
    if as_json:
        print_json({"valid": True, "stack": stack.metadata.name})
    else:
        err.print(f"[green]Valid:[/] stack {stack.metadata.workspace}/{stack.metadata.name}")


@app.command()
def plan(
    file: Annotated[str, typer.Argument(help="Stack YAML/JSON, or - for stdin.")],
    out_file: Annotated[str | None, typer.Option("-o", "--out", help="Save the plan here.")] = None,
    detailed_exitcode: Annotated[
        bool, typer.Option("--detailed-exitcode", help="Exit 0: no changes, 2: changes, 1: error.")
    ] = False,
    destroy: Annotated[bool, typer.Option("--destroy", help="Plan the stack's removal.")] = False,
    show_noop: Annotated[bool, typer.Option("--show-unchanged")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show what apply would do, without changing anything."""
    with errors_reported():
        stack = load_stack(read_source(file), source=file)
        with open_context() as ctx:
            planned = ctx.engine.plan(stack, destroy=destroy)
            data = planned.plan.to_json()
            if out_file:
                Path(out_file).write_text(json.dumps(data, indent=2) + "\n")
            if as_json:
                print_json(data)
            else:
                render_plan(data, out, show_noop=show_noop)
                if out_file:
                    err.print(
                        f"Saved plan to {out_file}; apply it exactly with: vibn apply {out_file}"
                    )
            if planned.plan.errors:
                raise typer.Exit(1)
            if detailed_exitcode and planned.plan.has_changes:
                raise typer.Exit(2)


def _approve(prompt: str, auto_approve: bool) -> None:
    if auto_approve:
        return
    if not sys.stdin.isatty():
        fail("no terminal to ask for approval; pass --auto-approve (or apply a saved plan file)")
    answer = typer.prompt(f"{prompt} Only 'yes' will be accepted", default="", show_default=False)
    if answer.strip() != "yes":
        fail("apply cancelled")


def _report(result: Any, as_json: bool, verb: str) -> None:
    if as_json:
        print_json(
            {
                "apply_id": result.apply_id,
                "status": result.status,
                "error": result.error,
                "failed": result.failed,
                "rolled_back": result.rolled_back,
                "rollback_failed": result.rollback_failed,
                "warnings": result.warnings,
            }
        )
    for warning in result.warnings:
        err.print(f"[yellow]Warning:[/] {warning}")
    if not result.ok:
        fail(result.error or f"{verb} failed")
    if not as_json:
        err.print(f"[green]{verb.capitalize()} complete.[/] (apply {result.apply_id})")


@app.command()
def apply(
    file: Annotated[str, typer.Argument(help="Stack YAML/JSON, a saved plan (JSON), or -.")],
    auto_approve: Annotated[bool, typer.Option("--auto-approve", help="Do not ask.")] = False,
    confirm: Annotated[
        str | None, typer.Option("--confirm", help="Stack name: allows deleting data.")
    ] = None,
    lock_timeout: Annotated[
        float, typer.Option("--lock-timeout", help="Seconds to wait for the stack's lock.")
    ] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Make the providers match the stack (or apply a saved plan exactly)."""
    with errors_reported():
        data = read_source(file)
        saved = is_plan_file(data)
        with open_context() as ctx:
            if saved is None:
                stack = load_stack(data, source=file)
                planned = ctx.engine.plan(stack)
                plan_json = planned.plan.to_json()
                if not as_json:
                    render_plan(plan_json, err)
                if planned.plan.errors:
                    raise typer.Exit(1)
                if not planned.plan.has_changes:
                    if as_json:
                        print_json({"status": "noop", "plan_id": planned.plan.plan_id})
                    return
                _approve("Apply these changes?", auto_approve)
            else:
                plan_json = saved
                stack_name = plan_json["stack"]["name"]
            stack_name = plan_json["stack"]["name"]
            result = ctx.engine.apply(
                plan_json,
                confirm=confirm == stack_name,
                wait=lock_timeout,
                on_event=None if as_json else Progress(err),
            )
            _report(result, as_json, "apply")


@app.command()
def destroy(
    stack_name: Annotated[str, typer.Argument(metavar="STACK", help="Name of the stack.")],
    confirm: Annotated[
        str | None, typer.Option("--confirm", help="Repeat the stack's name to destroy it.")
    ] = None,
    workspace: WorkspaceOpt = "default",
    lock_timeout: Annotated[float, typer.Option("--lock-timeout")] = 0.0,
    as_json: JsonOpt = False,
) -> None:
    """Delete everything the stack owns (registered domains are kept)."""
    with errors_reported():
        if confirm != stack_name:
            fail(f"destroying deletes data; confirm with --confirm {stack_name}")
        with open_context() as ctx:
            record = ctx.store.get_stack(workspace, stack_name)
            if record is None:
                fail(f"no stack {workspace}/{stack_name} in the state store")
            stack = load_stack(json.dumps(record.document), source=f"{stack_name} (stored)")
            planned = ctx.engine.plan(stack, destroy=True)
            if not as_json:
                render_plan(planned.plan.to_json(), err)
            result = ctx.engine.apply(
                planned.plan.to_json(),
                confirm=True,
                wait=lock_timeout,
                on_event=None if as_json else Progress(err),
            )
            _report(result, as_json, "destroy")


def status_data(ctx: Context, workspace: str, name: str) -> dict[str, Any]:
    record = ctx.store.get_stack(workspace, name)
    if record is None:
        fail(f"no stack {workspace}/{name} in the state store")
    last = ctx.store.last_apply(workspace, name)
    resources = ctx.store.resources(workspace, name)
    return {
        "workspace": workspace,
        "name": name,
        "revision": record.revision,
        "status": record.status,
        "status_message": record.status_message,
        "serial": record.serial,
        "lineage": record.lineage,
        "last_apply": None
        if last is None
        else {
            "id": last.id,
            "kind": last.kind,
            "status": last.status,
            "plan_id": last.plan_id,
            "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            "error": last.error,
            "summary": last.summary,
        },
        "resources": [
            {
                "address": r.address,
                "kind": r.kind,
                "provider_id": r.provider_id,
                "conditions": [c.to_dict() for c in r.conditions],
            }
            for r in resources
        ],
    }


@app.command()
def status(
    stack_name: Annotated[str, typer.Argument(metavar="STACK")],
    workspace: WorkspaceOpt = "default",
    refresh: Annotated[
        bool, typer.Option("--refresh/--no-refresh", help="Advance pending conditions first.")
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Resources, provider ids, conditions and the last apply of a stack."""
    with errors_reported(), open_context(need_providers=refresh) as ctx:
        if ctx.store.get_stack(workspace, stack_name) is None:
            fail(f"no stack {workspace}/{stack_name} in the state store")
        if refresh:
            ctx.engine.refresh_conditions(workspace, stack_name)
        data = status_data(ctx, workspace, stack_name)
        if as_json:
            print_json(data)
        else:
            render_status(data, out)


@app.command()
def schema() -> None:
    """Print the stack document's JSON Schema (for editors' YAML language servers)."""
    print_json(json_schema())


@app.command()
def version() -> None:
    """Print vibn's version."""
    out.print(__version__)
