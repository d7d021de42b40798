"""The ``vibn`` command line: validate, plan, apply, destroy, status, secrets, sandbox.

Terraform's habits where they fit: ``plan -o`` saves a plan that ``apply plan.json``
applies exactly (no question asked), ``--detailed-exitcode`` tells "changes" from
"nothing to do", data-bearing deletes need ``--confirm STACK``. ``--json`` output goes to
stdout alone; logs and progress go to stderr. No user ever sees a traceback: every
expected failure is a one-line (or one-line-per-problem) message and exit code 1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from vibn import __version__
from vibn.config import ConfigError, Settings, load_settings
from vibn.providers.coolify import CoolifyProvider
from vibn.providers.errors import ProviderError
from vibn.reconciler.compile import SecretUnavailable
from vibn.reconciler.engine import Engine, EngineError
from vibn.reconciler.observe import ObserveError
from vibn.render import Progress, render_plan, render_status
from vibn.sandbox import SandboxError
from vibn.sandbox import manager as sandbox
from vibn.specs import SpecError, json_schema, load_stack
from vibn.state import LeaseHeld, SecretBox, StateError, Store

app = typer.Typer(
    name="vibn",
    help="Declarative infrastructure for agent-built SaaS products, kept in Canada.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
secrets_app = typer.Typer(
    help="Secrets a stack references with `from: store`.", no_args_is_help=True
)
sandbox_app = typer.Typer(help="The local emulators of every provider.", no_args_is_help=True)
app.add_typer(secrets_app, name="secrets")
app.add_typer(sandbox_app, name="sandbox")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace of the stack.")]

EXPECTED_ERRORS = (
    SpecError,
    ConfigError,
    EngineError,
    ObserveError,
    LeaseHeld,
    StateError,
    ProviderError,
    SecretUnavailable,
    SandboxError,
    OSError,
)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]Error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


@contextmanager
def errors_reported() -> Iterator[None]:
    """Turn every expected failure into a clear message and exit code 1."""
    try:
        yield
    except typer.Exit:
        raise
    except SpecError as exc:
        err.print(f"[red]Error:[/] the stack document is invalid ({len(exc.problems)} problem(s)):")
        for problem in exc.problems:
            err.print(f"  {problem.path}: {problem.message}", markup=False)
        raise typer.Exit(1) from None
    except EXPECTED_ERRORS as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as exc:
        if os.environ.get("VIBN_DEBUG"):
            raise
        fail(f"internal error: {type(exc).__name__}: {exc} (set VIBN_DEBUG=1 for details)")


@dataclass
class Context:
    settings: Settings
    store: Store
    engine: Engine


def settings() -> Settings:
    return load_settings(Path.cwd(), os.environ)


@contextmanager
def open_context(*, need_providers: bool = True) -> Iterator[Context]:
    """Settings, the state store and the engine for one command; closed afterwards."""
    cfg = settings()
    box = SecretBox.from_env_or_file(cfg.secrets_key, cfg.key_file)
    with ExitStack() as cleanup:
        store = Store.open(cfg.database_url, box)
        cleanup.callback(store.close)
        drivers = {}
        if need_providers:
            if cfg.coolify is not None:
                provider = CoolifyProvider(
                    cfg.coolify.url, cfg.coolify.token, server_uuid=cfg.coolify.server_uuid
                )
            else:
                info = sandbox.ensure_running(cfg.sandbox_dir)
                endpoint = info.providers["coolify"]
                provider = CoolifyProvider(endpoint.url, endpoint.token)
            cleanup.callback(provider.close)
            drivers = dict(provider.drivers())
        engine = Engine(
            store, drivers, box.derive_key(b"vibn plan fingerprints"), parallelism=cfg.parallelism
        )
        yield Context(cfg, store, engine)


def read_source(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(2 * 1024 * 1024)
    p = Path(path)
    if not p.is_file():
        fail(f"{path}: no such file")
    return p.read_bytes()


def is_plan_file(data: bytes) -> dict[str, Any] | None:
    """The saved plan in ``data``, or None if it is a stack document."""
    if not data.lstrip().startswith(b"{"):
        return None
    try:
        doc = json.loads(data)
    except ValueError:
        return None
    if isinstance(doc, dict) and "format_version" in doc and "content_digest" in doc:
        return doc
    return None


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


# -- commands ------------------------------------------------------------------------
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


# -- secrets -------------------------------------------------------------------------
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


# -- sandbox -------------------------------------------------------------------------
def _sandbox_call(fn: Callable[[Path], T]) -> T:
    with errors_reported():
        return fn(settings().sandbox_dir)
    raise AssertionError("unreachable")


@sandbox_app.command("up")
def sandbox_up(as_json: JsonOpt = False) -> None:
    """Start the local emulators (kept running, data under .vibn/sandbox)."""
    info = _sandbox_call(sandbox.up)
    if as_json:
        print_json(info.to_json())
    else:
        for name, ep in info.providers.items():
            err.print(f"{name}: {ep.url}")


@sandbox_app.command("down")
def sandbox_down() -> None:
    """Stop the emulators (their data is kept)."""
    _sandbox_call(sandbox.down)
    err.print("Sandbox stopped.")


@sandbox_app.command("reset")
def sandbox_reset() -> None:
    """Wipe the emulators' data."""
    _sandbox_call(sandbox.reset)
    err.print("Sandbox data wiped.")


@sandbox_app.command("status")
def sandbox_status(as_json: JsonOpt = False) -> None:
    """Per provider: the emulator's base URL and the credentials it accepts."""
    info = _sandbox_call(sandbox.status)
    if as_json:
        print_json(info.to_json() if info else {"running": False, "providers": {}})
        return
    if info is None:
        err.print("Sandbox is not running (vibn sandbox up starts it).")
        return
    for name, ep in info.providers.items():
        out.print(f"{name}: {ep.url}  token={ep.token}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
