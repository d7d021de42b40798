"""Prometheus metrics of the API: requests by route and status, applies and their length.

Each app gets its own registry, so several apps in one process (tests, benchmarks) never
collide; ``/metrics`` renders it together with the reconciler's registry (reconciles,
drift found and corrected, errors) and the process-wide default one (process collectors).
"""

from __future__ import annotations

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from vibn.reconciler.metrics import REGISTRY as RECONCILER_REGISTRY

CONTENT_TYPE = CONTENT_TYPE_LATEST


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "vibn_api_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "vibn_api_request_seconds",
            "Time to answer an HTTP request (to the first byte of a stream).",
            ["method", "route"],
            registry=self.registry,
        )
        self.apply_seconds = Histogram(
            "vibn_api_apply_seconds",
            "Duration of applies and destroys run by the API, by mode and outcome.",
            ["mode", "status"],
            buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
            registry=self.registry,
        )
        self.applies_in_flight = Gauge(
            "vibn_api_applies_in_flight",
            "Applies accepted by this process and not finished yet.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The text exposition of this app's, the reconciler's and the process's metrics."""
        return b"".join(generate_latest(r) for r in (self.registry, RECONCILER_REGISTRY, REGISTRY))
