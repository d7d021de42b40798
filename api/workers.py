"""Reconcile workers in the API's process: ``vibn serve --workers N``.

The daemon's workers (``reconciler.daemon.start_workers``) run as threads beside the
HTTP server, over the app's own store and engine (both serve many threads), and stop
with it: on shutdown they are told to stop, finish the stack in hand, and give their
leases back before the process exits.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from vibn.reconciler.daemon import start_workers
from vibn.reconciler.engine import Engine
from vibn.state import Store

from .service import Service

log = logging.getLogger("vibn.api.workers")


@dataclass(frozen=True)
class _Shared:
    """The app's store and engine, as a worker's context."""

    store: Store
    engine: Engine


class Workers:
    def __init__(self, threads: list[threading.Thread], stopping: threading.Event) -> None:
        self._threads = threads
        self._stopping = stopping

    @classmethod
    def start(cls, service: Service, count: int) -> Workers:
        stopping = threading.Event()
        if count <= 0:
            return cls([], stopping)

        @contextlib.contextmanager
        def context() -> Iterator[_Shared]:
            yield _Shared(service.store, service.engine)

        threads = start_workers(
            context,
            count,
            timedelta(seconds=service.settings.reconcile_interval_seconds),
            stopping,
            log=log.info,
        )
        log.info("%d reconcile worker(s) started", count)
        return cls(threads, stopping)

    def stop(self) -> None:
        """Stop the workers and wait for them (each finishes the stack in hand)."""
        self._stopping.set()
        for thread in self._threads:
            thread.join()
