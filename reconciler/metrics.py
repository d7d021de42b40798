"""Prometheus counters of the reconcile loop, in a registry of vibn's own.

The daemon counts here what an operator watches (visits by outcome, drift found and
corrected, errors); the API serves ``REGISTRY`` at ``/metrics`` and may register its own
metrics in it. A registry of our own, not the process-global default, keeps tests and
several in-process daemons from tripping over duplicate registrations.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry(auto_describe=True)

RECONCILES = Counter(
    "vibn_reconciles",
    "Stack visits by the reconcile daemon, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
DRIFT_FOUND = Counter(
    "vibn_drift_found",
    "Stack visits that found the providers no longer matching the applied revision.",
    registry=REGISTRY,
)
DRIFT_CORRECTED = Counter(
    "vibn_drift_corrected",
    "Drift the daemon corrected by applying the stack's plan.",
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "vibn_reconcile_errors",
    "Stack visits that failed (provider, plan or apply errors); retried with backoff.",
    registry=REGISTRY,
)
