"""The pieces of a daemon sweep that are not the visit itself: holding the claimed leases
while the batch is worked through, and saying what drifted in a few words.

Kept apart from ``daemon`` so the visit logic there reads on its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from vibn.state import StateError, Store, stack_lease_key

from .plan import ActionType, Plan


def drift_actions(plan: Plan) -> list[dict[str, Any]]:
    """The changing actions of a plan, small enough for an event."""
    return [
        {
            "address": a.address,
            "action": a.action.value,
            "reason": a.reason,
            "paths": [c.path for c in a.changes][:20],
        }
        for a in plan.actions
        if a.action is not ActionType.NOOP
    ]


def describe_drift(plan: Plan) -> str:
    """``2 to update, 1 to create: app.web-1.env, app.worker-1, …`` for status messages."""
    summary: Mapping[str, int] = plan.summary()
    verbs = [f"{n} to {kind}" for kind, n in summary.items() if n and kind != "noop"]
    addresses = [a.address for a in plan.actions if a.action is not ActionType.NOOP]
    shown = ", ".join(addresses[:5]) + (", …" if len(addresses) > 5 else "")
    return f"{', '.join(verbs)}: {shown}"


class HeldLeases:
    """The leases a sweep claimed: renewed in the background until each is released.

    A stack waits in the batch while earlier ones are visited (and corrected, which may
    take a while); renewing every held lease every ``ttl / 3`` keeps them all ours. A
    lease that cannot be renewed (it expired and someone else took it) is dropped, and
    its stack skipped. Leaving the block releases whatever is still held.
    """

    def __init__(
        self, store: Store, holder: str, ttl: timedelta, stacks: list[tuple[str, str]]
    ) -> None:
        self._store = store
        self._holder = holder
        self._ttl = ttl
        self._held = {stack_lease_key(ws, name) for ws, name in stacks}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"leases {holder}", daemon=True)

    def __enter__(self) -> HeldLeases:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            left, self._held = sorted(self._held), set()
        for key in left:
            with contextlib.suppress(StateError):  # else it expires on its own
                self._store.release_lease(key, self._holder)

    def holds(self, workspace: str, name: str) -> bool:
        with self._lock:
            return stack_lease_key(workspace, name) in self._held

    def release(self, workspace: str, name: str) -> None:
        key = stack_lease_key(workspace, name)
        with self._lock:
            if key not in self._held:
                return
            self._held.discard(key)
        with contextlib.suppress(StateError):  # else it expires on its own
            self._store.release_lease(key, self._holder)

    def _renew(self) -> None:
        every = max(0.5, self._ttl.total_seconds() / 3)
        while not self._stop.wait(every):
            with self._lock:
                keys = sorted(self._held)
            for key in keys:
                try:
                    self._store.renew_lease(key, self._holder, self._ttl)
                except StateError:
                    with self._lock:
                        self._held.discard(key)
