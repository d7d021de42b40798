"""Compiling the Google Cloud sections: addresses, ownership shapes, env injection."""

from __future__ import annotations

from vibn.reconciler.compile import compile_stack
from vibn.reconciler.compile_gcp import queue_id
from vibn.reconciler.graph import UNKNOWN, resolve
from vibn.reconciler.platform import Platform

from .fake import shop_stack
from .test_plan import fp, resolver

GCP = {
    "storage": {"lifecycle": [{"action": "delete", "age_days": 30, "prefix": "tmp/"}]},
    "cron": [
        {
            "name": "nightly-cleanup",
            "schedule": "0 3 * * *",
            "path": "/tasks/cleanup",
            "timezone": "America/Toronto",
        },
    ],
    "queues": [{"name": "emails", "max_attempts": 5, "max_dispatches_per_second": 10}],
    "logs": {"retention_days": 30},
}


def generated(var: str, source: str, key: str) -> str:
    return "tok" if source == "generated" else resolver(var, source, key)


def test_gcp_sections_compile_to_their_resources() -> None:
    graph = compile_stack(shop_stack(**GCP), generated, Platform(gcp_project="p1"))
    assert not graph.errors
    kinds = {a: r.kind for a, r in graph.resources.items() if r.kind.startswith("gcp.")}
    assert kinds == {
        "workspace.bucket": "gcp.bucket",
        "storage.lifecycle": "gcp.bucket_lifecycle",
        "storage.hmac_key": "gcp.hmac_key",
        "cron.nightly-cleanup": "gcp.scheduler_job",
        "queue.emails": "gcp.tasks_queue",
        "logs.bucket": "gcp.log_bucket",
        "logs.sink": "gcp.log_sink",
    }
    assert graph.resources["workspace.bucket"].shared
    rules = graph.resources["storage.lifecycle"].props["rules"]
    assert rules == [
        {"action": "Delete", "storage_class": None, "age_days": 30, "prefix": "shop/tmp/"}
    ]
    job = graph.resources["cron.nightly-cleanup"].props
    assert (
        job["name"]
        == "projects/p1/locations/northamerica-northeast1/jobs/vibn-default-shop-nightly-cleanup"
    )
    uri = resolve(job["uri"], lambda a: {"url": "https://x.example"}, fp)
    assert uri == "https://x.example/tasks/cleanup"
    assert resolve(job["uri"], lambda a: None, fp) is UNKNOWN


def test_the_app_receives_storage_queue_and_cron_env() -> None:
    graph = compile_stack(shop_stack(**GCP), generated, Platform(gcp_project="p1"))
    env = graph.resources["app.web-1.env"].props["vars"]
    assert env["STORAGE_BUCKET"] == "vibn-ws-default" and env["STORAGE_PREFIX"] == "shop/"
    assert {"STORAGE_ENDPOINT", "STORAGE_ACCESS_KEY", "STORAGE_SECRET_KEY"} <= set(env)
    assert env["QUEUE_EMAILS"].endswith("/queues/" + queue_id("default", "shop", "emails"))
    assert env["VIBN_CRON_TOKEN"].value == "tok"
    assert graph.resources["app.web-1.env"].dependencies() >= {"storage.hmac_key"}


def test_per_stack_bucket_and_public_read_on_shared_bucket() -> None:
    own = compile_stack(shop_stack(storage={"per_stack": True, "public_read": True}), generated)
    assert own.resources["storage.bucket"].props["name"] == "vibn-ws-default-shop"
    assert own.resources["storage.lifecycle"].props["scope"] == ""
    shared = compile_stack(shop_stack(storage={"public_read": True}), generated)
    assert any("spec.storage.public_read" in e for e in shared.errors)


def test_queue_ids_are_unambiguous() -> None:
    assert queue_id("ws", "a-b", "c") != queue_id("ws", "a", "b-c")
    assert queue_id("ws", "a", "b") == queue_id("ws", "a", "b")
