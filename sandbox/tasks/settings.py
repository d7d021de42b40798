"""The Cloud Tasks emulator's run-time knobs (``/_sandbox/tasks/settings``).

Tombstone windows are settings because tests need both the faithful behaviour
(a deleted queue's name is held for days) and a way past it; the clock offset
(``/_sandbox/tasks/clock``, inherited) is the other way. Dispatch is off by
default so tests that only manage queues never send HTTP anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

from vibn.sandbox.gcp_rest import GcpSettings


@dataclass
class TasksSettings(GcpSettings):
    """``dispatch``: deliver tasks over HTTP with retries; ``dispatch_timeout`` caps a
    task's ``dispatchDeadline``; ``max_inflight`` bounds concurrent deliveries."""

    queue_tombstone_seconds: float = 3 * 86400.0
    task_tombstone_seconds: float = 3600.0
    dispatch: bool = False
    dispatch_timeout: float = 10.0
    max_inflight: int = 16
