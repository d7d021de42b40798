"""The long-running side: ``vibn daemon`` (reconcile workers) and ``vibn serve`` (the
HTTP API for agents, with optional workers)."""

from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta
from typing import Annotated

import typer
import uvicorn

from vibn.cli.base import (
    app,
    err,
    errors_reported,
)
from vibn.reconciler.daemon import start_workers
from vibn.wiring import open_context


@app.command()
def daemon(
    workers: Annotated[int, typer.Option("--workers", min=1, help="Reconcile threads.")] = 1,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=0.1,
            envvar="VIBN_RECONCILE_INTERVAL",
            help="Seconds between visits of a stack (with jitter; failing stacks back off).",
        ),
    ] = 300.0,
    once: Annotated[
        bool, typer.Option("--once", help="Visit every stack that is due once, then exit.")
    ] = False,
    batch: Annotated[
        int, typer.Option("--batch", min=1, help="Stacks a worker claims per sweep.")
    ] = 10,
    lease_ttl: Annotated[
        float,
        typer.Option(
            "--lease-ttl",
            min=1.0,
            help="Seconds a claim lasts unless renewed: how soon a dead replica's stacks move on.",
        ),
    ] = 120.0,
) -> None:
    """Keep applied stacks true: find drift, correct it (or report it), until stopped."""
    with errors_reported():
        with open_context(need_providers=False):
            pass  # settings and database checked (and migrated) once, before any worker
        stop = threading.Event()
        restore = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                restore[sig] = signal.signal(sig, lambda *_: stop.set())
        threads = start_workers(
            open_context,
            workers,
            timedelta(seconds=interval),
            stop,
            once=once,
            log=lambda line: err.print(line, markup=False, highlight=False),
            batch=batch,
            lease_ttl=timedelta(seconds=lease_ttl),
        )
        try:
            while any(t.is_alive() for t in threads):
                for thread in threads:
                    thread.join(0.2)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
            for sig, handler in restore.items():
                signal.signal(sig, handler)
        err.print("Daemon stopped." if not once else "Every due stack visited.")


# -- serve ---------------------------------------------------------------------------
@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8080,
    workers: Annotated[
        int,
        typer.Option("--workers", min=0, help="Reconcile threads beside the API (0: none)."),
    ] = 1,
    interval: Annotated[
        float,
        typer.Option(
            "--interval",
            min=0.1,
            envvar="VIBN_RECONCILE_INTERVAL",
            help="Seconds between the workers' visits of a stack.",
        ),
    ] = 300.0,
) -> None:
    """Run the HTTP API for agents (and reconcile workers) until interrupted."""
    with errors_reported():
        with open_context(need_providers=False):
            pass  # settings and database checked (and migrated) before serving
        # vibn.api is a sibling layer the CLI does not import: uvicorn loads the app
        # factory by name, and it reads these like the rest of the configuration
        os.environ["VIBN_SERVE_WORKERS"] = str(workers)
        os.environ["VIBN_RECONCILE_INTERVAL"] = str(interval)
        uvicorn.run(
            "vibn.api.server:app_from_environment",
            factory=True,
            host=host,
            port=port,
            log_level="info",
        )
