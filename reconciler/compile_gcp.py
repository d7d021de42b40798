"""Compile the Google Cloud sections — storage, cron, queues, logs — into resources,
and into the env vars the app receives from them.

Ownership on Google Cloud takes three forms, chosen by what each API can carry:
buckets have labels; Scheduler jobs, log buckets and sinks have a description (the
``vibn:`` marker); Tasks queues have neither, so their ids embed a short hash of
(workspace, stack, name) that a driver can verify. The workspace bucket
(``vibn-ws-{workspace}``) is shared by every stack of the workspace: each stack owns
only its lifecycle rules (scoped to its own ``{stack}/`` prefix) and its HMAC key.
"""

from __future__ import annotations

from typing import Any

from vibn.providers.gcp.tasks import queue_id
from vibn.specs.model import CronJob, Queue, Stack
from vibn.specs.values import Sensitive

from .graph import Graph, Join, Ref, Resource
from .platform import Platform

GCS_ACTION = {"delete": "Delete", "set_storage_class": "SetStorageClass"}


def env_key(name: str) -> str:
    return name.upper().replace("-", "_")


def web_url(stack: Stack, service: str | None) -> Ref | None:
    """The URL output of the web service (replica 1) that cron jobs and queues call."""
    app = stack.spec.app
    if app is None:
        return None
    webs = [s for s in app.services if s.type == "web" and s.replicas > 0]
    chosen = next((s for s in webs if s.name == service), None) if service else None
    chosen = chosen or (webs[0] if webs else None)
    return None if chosen is None else Ref(f"app.{chosen.name}-1", "url")


def bucket_props(name: str, location: str, public_read: bool, versioning: bool) -> dict[str, Any]:
    """A ``gcp.bucket``'s props: uniform access, standard class, the given location."""
    return {
        "name": name,
        "location": location.upper(),
        "storage_class": "STANDARD",
        "uniform_access": True,
        "public_read": public_read,
        "versioning": versioning,
    }


def compile_storage(graph: Graph, stack: Stack, platform: Platform) -> dict[str, Any]:
    """Bucket, lifecycle rules and HMAC key; returns the env vars they give the app."""
    storage = stack.spec.storage
    if storage is None:
        return {}
    ws, name = stack.metadata.workspace, stack.metadata.name
    shared = storage.bucket is None and not storage.per_stack
    bucket = storage.bucket or (f"vibn-ws-{ws}" if shared else f"vibn-ws-{ws}-{name}")
    address = "workspace.bucket" if shared else "storage.bucket"
    if shared and storage.public_read:
        graph.errors.append(
            "spec.storage.public_read: the workspace bucket is shared by every stack of "
            f"workspace {ws}; set storage.per_stack: true for a public bucket of its own"
        )
    graph.add(
        Resource(
            address,
            "gcp.bucket",
            bucket_props(bucket, storage.location, storage.public_read, storage.versioning),
            section="storage",
            shared=shared,
        )
    )
    scope = f"{name}/" if shared else ""
    rules = [
        {
            "action": GCS_ACTION[rule.action],
            "storage_class": rule.storage_class,
            "age_days": rule.age_days,
            "prefix": scope + (rule.prefix or ""),
        }
        for rule in storage.lifecycle
    ]
    graph.add(
        Resource(
            "storage.lifecycle",
            "gcp.bucket_lifecycle",
            {"bucket": Ref(address, "name"), "scope": scope, "rules": rules},
            section="storage",
        )
    )
    graph.add(
        Resource(
            "storage.hmac_key",
            "gcp.hmac_key",
            {"service_account": platform.storage_service_account},
            section="storage",
            depends_on=frozenset({address}),
        )
    )
    return {
        "STORAGE_ENDPOINT": platform.storage_endpoint,
        "STORAGE_BUCKET": bucket,
        "STORAGE_PREFIX": scope,
        "STORAGE_ACCESS_KEY": Ref("storage.hmac_key", "access_id"),
        "STORAGE_SECRET_KEY": Ref("storage.hmac_key", "secret"),
    }


def compile_cron(
    graph: Graph, stack: Stack, platform: Platform, token: Sensitive | None
) -> dict[str, Any]:
    """One Scheduler job per entry, calling the app with the stack's cron token."""
    ws, name = stack.metadata.workspace, stack.metadata.name
    for i, job in enumerate(stack.spec.cron):
        target = web_url(stack, job.service)
        if target is None:
            graph.errors.append(f"spec.cron[{i}]: cron jobs call the app: add a web service")
            continue
        graph.add(
            Resource(
                f"cron.{job.name}",
                "gcp.scheduler_job",
                _job_props(ws, name, job, platform, target, token),
                section="cron",
            )
        )
    return {"VIBN_CRON_TOKEN": token} if stack.spec.cron and token is not None else {}


def _job_props(
    ws: str, stack: str, job: CronJob, platform: Platform, target: Ref, token: Sensitive | None
) -> dict[str, Any]:
    parent = f"projects/{platform.gcp_project}/locations/{job.location}"
    return {
        "name": f"{parent}/jobs/vibn-{ws}-{stack}-{job.name}",
        "schedule": job.schedule,
        "time_zone": job.timezone,
        "uri": Join((target, job.path)),
        "http_method": job.method,
        "headers": {"X-Vibn-Cron-Token": token} if token is not None else {},
        "paused": job.paused,
        "retry_count": job.retry_count,
        "attempt_deadline": "180s",
    }


def compile_queues(graph: Graph, stack: Stack, platform: Platform) -> dict[str, Any]:
    """One Tasks queue per entry; the app learns each queue's path and worker URL."""
    ws, name = stack.metadata.workspace, stack.metadata.name
    env: dict[str, Any] = {}
    for i, queue in enumerate(stack.spec.queues):
        target = web_url(stack, queue.service)
        if target is None:
            graph.errors.append(f"spec.queues[{i}]: queues dispatch to the app: add a web service")
            continue
        path = _queue_path(platform, ws, name, queue)
        graph.add(
            Resource(
                f"queue.{queue.name}",
                "gcp.tasks_queue",
                {
                    "name": path,
                    "max_attempts": queue.max_attempts,
                    "max_dispatches_per_second": float(queue.max_dispatches_per_second),
                    "max_concurrent_dispatches": queue.max_concurrent_dispatches,
                    "min_backoff": f"{queue.min_backoff_seconds:g}s",
                    "max_backoff": f"{queue.max_backoff_seconds:g}s",
                },
                section="queues",
            )
        )
        env[f"QUEUE_{env_key(queue.name)}"] = path
        env[f"QUEUE_{env_key(queue.name)}_URL"] = Join(
            (target, queue.path or f"/tasks/{queue.name}")
        )
    return env


def _queue_path(platform: Platform, ws: str, stack: str, queue: Queue) -> str:
    return (
        f"projects/{platform.gcp_project}/locations/{queue.location}/queues/"
        f"{queue_id(ws, stack, queue.name)}"
    )


def compile_logs(graph: Graph, stack: Stack, platform: Platform) -> dict[str, Any]:
    """A log bucket with the asked retention, and a sink routing the stack's logs to it."""
    logs = stack.spec.logs
    if logs is None:
        return {}
    ws, name = stack.metadata.workspace, stack.metadata.name
    bucket_id = f"vibn.{ws}.{name}.logs"
    parent = f"projects/{platform.gcp_project}/locations/{logs.location}"
    graph.add(
        Resource(
            "logs.bucket",
            "gcp.log_bucket",
            {"name": f"{parent}/buckets/{bucket_id}", "retention_days": logs.retention_days},
            section="logs",
        )
    )
    graph.add(
        Resource(
            "logs.sink",
            "gcp.log_sink",
            {
                "name": f"projects/{platform.gcp_project}/sinks/vibn.{ws}.{name}",
                "destination": Join(("logging.googleapis.com/", Ref("logs.bucket", "name"))),
                "filter": f'labels."vibn-workspace"="{ws}" AND labels."vibn-stack"="{name}"',
            },
            section="logs",
        )
    )
    return {"VIBN_LOG_LABELS": f"vibn-workspace={ws},vibn-stack={name}"}
