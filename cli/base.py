"""What every vibn command shares: the typer apps, the two consoles (stdout for data,
stderr for people), JSON printing, and the one place where expected failures become a
clear message and exit code 1 instead of a traceback."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from vibn.config import ConfigError, Settings
from vibn.providers.errors import ProviderError
from vibn.reconciler.compile import SecretUnavailable
from vibn.reconciler.engine import EngineError
from vibn.reconciler.observe import ObserveError
from vibn.sandbox import SandboxError
from vibn.specs import SpecError
from vibn.state import LeaseHeld, StateError
from vibn.wiring import settings_here

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
keys_app = typer.Typer(help="Workspace API keys for the HTTP API.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")

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


def settings() -> Settings:
    return settings_here()
