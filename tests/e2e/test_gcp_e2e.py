"""The Google Cloud sections end to end through the CLI: env injection on the Coolify
apps, drift noticed in the emulators, updates in place."""

from __future__ import annotations

import httpx

from .conftest import Cli
from .test_cli_flow import edit


def coolify_envs(cli: Cli, app_name: str) -> dict[str, str]:
    with cli.coolify as c:
        app = next(a for a in c.get("/applications").json() if a["name"] == app_name)
        return {e["key"]: e["value"] for e in c.get(f"/applications/{app['uuid']}/envs").json()}


def gcp(cli: Cli, api: str) -> httpx.Client:
    return httpx.Client(base_url=cli.sandbox.providers[api].url)


def test_storage_queue_and_cron_env_reach_the_coolify_apps(cli: Cli) -> None:
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    env = coolify_envs(cli, "mysaas-worker-2")
    assert env["STORAGE_BUCKET"] == "vibn-ws-default" and env["STORAGE_PREFIX"] == "mysaas/"
    assert env["STORAGE_ACCESS_KEY"].startswith("GOOG1")
    assert len(env["STORAGE_SECRET_KEY"]) == 40
    assert env["STORAGE_ENDPOINT"] == cli.sandbox.providers["storage"].url
    assert "/queues/vibn-mysaas-emails-" in env["QUEUE_EMAILS"]
    assert env["QUEUE_EMAILS_URL"].endswith("/tasks/emails")
    assert env["VIBN_CRON_TOKEN"]
    with gcp(cli, "scheduler") as s:
        jobs = s.get("/v1/projects/vibn-test/locations/northamerica-northeast1/jobs").json()
    job = next(j for j in jobs["jobs"] if j["name"].endswith("-nightly-cleanup"))
    assert job["httpTarget"]["uri"].endswith("/tasks/cleanup")
    assert job["httpTarget"]["headers"]["X-Vibn-Cron-Token"] == env["VIBN_CRON_TOKEN"]
    assert job["timeZone"] == "America/Toronto"
    r = cli("status", "mysaas", "--json")
    secrets_shown = r.stdout + cli("plan", "examples/saas.yaml").stdout
    assert env["STORAGE_SECRET_KEY"] not in secrets_shown


def test_deleted_queue_and_changed_lifecycle_are_drift(cli: Cli) -> None:
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    env = coolify_envs(cli, "mysaas-web-1")
    with gcp(cli, "tasks") as t:
        t.delete(f"/v2/{env['QUEUE_EMAILS']}").raise_for_status()
    with gcp(cli, "storage") as s:
        s.patch(
            "/storage/v1/b/vibn-ws-default",
            json={
                "lifecycle": {
                    "rule": [
                        {
                            "action": {"type": "Delete"},
                            "condition": {"age": 1, "matchesPrefix": ["mysaas/"]},
                        }
                    ]
                }
            },
        ).raise_for_status()
    r = cli("plan", "examples/saas.yaml", "--detailed-exitcode")
    assert r.code == 2
    assert "+ queue.emails" in r.stdout and "was deleted outside vibn" in r.stdout
    assert "~ storage.lifecycle" in r.stdout
    # re-creating a queue Cloud Tasks deleted moments ago is refused, clearly
    r = cli("apply", "examples/saas.yaml", "--auto-approve")
    assert r.code == 1 and "deleted recently" in r.stderr


def test_edits_update_in_place_and_destroy_keeps_the_shared_bucket(cli: Cli) -> None:
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    edit(cli, "retention_days: 30}", "retention_days: 60}")
    edit(cli, "max_attempts: 5,", "max_attempts: 7,")
    r = cli("plan", "examples/saas.yaml")
    assert "~ logs.bucket" in r.stdout and "~ queue.emails" in r.stdout
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    assert cli("plan", "examples/saas.yaml", "--detailed-exitcode").code == 0
    r = cli("destroy", "mysaas", "--confirm", "mysaas")
    assert r.code == 0, r.stderr
    assert "workspace.bucket is shared" in r.stderr
    with gcp(cli, "storage") as s:
        assert s.get("/storage/v1/b/vibn-ws-default").status_code == 200
    with gcp(cli, "tasks") as t:
        queues = t.get("/v2/projects/vibn-test/locations/northamerica-northeast1/queues").json()
    assert queues.get("queues", []) == []
