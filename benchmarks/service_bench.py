"""The long-running service's costs: a daemon drift sweep of many stacks, the API under
many concurrent agents, and the daemon's memory.

Figures, not assertions. ``python benchmarks/service_bench.py [--stacks 1000]
[--workspaces 100] [--latency 0.02] [--drift 5] [--agents 100] [--rounds 3]``.

(a) drift sweep: ``--stacks`` copies of examples/saas.yaml (23 resources: Coolify and
    Google Cloud) spread over ``--workspaces`` workspaces in the sandbox (built fast: see
    ``bench_world``), with ``--latency``
    added to every provider request. ``--drift`` of the copies are drifted on purpose (a
    worker's start command changed, or a cron job deleted). Then ``Daemon.run_once``
    with ``batch = --stacks`` is timed and its provider requests counted, and compared
    with a Terraform-style refresh: one GET per recorded resource from a thread pool of 10.
(b) the API (``vibn serve`` in its own process, SQLite) under ``--agents`` concurrent
    agents, each in its own workspace, each doing ``--rounds`` x (PUT ?dry_run=true, then
    PUT) of a distinct stack: p50/p99 latency and errors (see ``api_load``).
(c) peak RSS of the process that ran the sweep of (a) (a fresh child process; the sandbox
    runs in another process so its data is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from api_load import api_bench
from bench_world import (
    KEY,
    PROJECT,
    Controls,
    apply_template,
    clone_world,
    cpu_seconds,
    make_engine,
    rss_mib,
    sandbox_process,
    stack_name,
)

from vibn.reconciler.daemon import Daemon
from vibn.sandbox.info import ProviderEndpoint
from vibn.state import SecretBox, Store

# -- (a) + (c): the sweep, in a fresh process -----------------------------------------
REFRESH_PATHS = {
    "coolify.project": ("coolify", "/projects/{id}"),
    "coolify.application": ("coolify", "/applications/{id}"),
    "coolify.envs": ("coolify", "/applications/{id}/envs"),
    "coolify.deployment": ("coolify", "/deployments/{id}"),
    "coolify.database": ("coolify", "/databases/{id}"),
    "coolify.backup": ("coolify", "/databases/{database_uuid}/backups"),
    "coolify.s3_storage": ("coolify", "/s3-storages/{id}"),
    "gcp.bucket": ("storage", "/storage/v1/b/{id}"),
    "gcp.bucket_lifecycle": ("storage", "/storage/v1/b/{bucket}"),
    "gcp.hmac_key": ("storage", "/storage/v1/projects/" + PROJECT + "/hmacKeys/{id}"),
    "gcp.scheduler_job": ("scheduler", "/v1/{id}"),
    "gcp.tasks_queue": ("tasks", "/v2/{id}"),
    "gcp.log_bucket": ("logging", "/v2/{id}"),
    "gcp.log_sink": ("logging", "/v2/{id}"),
}


def refresh_like_terraform(
    store: Store,
    providers: Mapping[str, ProviderEndpoint],
    stacks: list[tuple[str, str]],
    parallelism: int,
) -> tuple[float, int, dict[int, int]]:
    """One GET per recorded resource, ``parallelism`` at a time: (wall, requests, statuses)."""
    calls: list[tuple[str, str]] = []
    for workspace, name in stacks:
        for r in store.resources(workspace, name):
            provider, template = REFRESH_PATHS[r.kind]
            values = {"id": r.provider_id, **{k: str(v) for k, v in r.props.items()}}
            calls.append((provider, template.format(**values)))
    local = threading.local()

    def get(call: tuple[str, str]) -> int:
        provider, path = call
        clients = getattr(local, "clients", None)
        if clients is None:
            clients = local.clients = {
                n: httpx.Client(
                    base_url=ep.url, headers={"Authorization": f"Bearer {ep.token}"}, timeout=60
                )
                for n, ep in providers.items()
            }
        return clients[provider].get(path).status_code

    statuses: dict[int, int] = {}
    t0 = time.perf_counter()
    with ThreadPoolExecutor(parallelism) as pool:
        for status in pool.map(get, calls):
            statuses[status] = statuses.get(status, 0) + 1
    return time.perf_counter() - t0, len(calls), statuses


def sweep_child(work: Path, providers_json: str, n: int, latency: float, sandbox_pid: int) -> None:
    """Run in a fresh process: one daemon sweep, then the Terraform-style refresh."""
    providers = {
        k: ProviderEndpoint(v["url"], v["token"], v["control_url"])
        for k, v in json.loads(providers_json).items()
    }
    with sqlite3.connect(work / "state.db") as db:  # every stack due, even with --reuse
        db.execute("UPDATE stacks SET next_reconcile_at = NULL, failures = 0")
    out: dict[str, Any] = {"rss_start_mib": rss_mib()}
    controls = Controls(providers)
    with ExitStack() as cleanup:
        store = Store.open(f"sqlite:///{work / 'state.db'}", SecretBox(KEY))
        cleanup.callback(store.close)
        engine = make_engine(providers, store, cleanup, env={})
        daemon = Daemon(store, engine, holder="bench:sweep", batch=n, jitter=0.0)
        controls.latency(latency)
        controls.reset_counts()
        out["rss_before_sweep_mib"] = rss_mib()
        t0, e0, c0 = time.perf_counter(), cpu_seconds(sandbox_pid), time.process_time()
        report = daemon.run_once()
        out["sweep_s"] = time.perf_counter() - t0
        out["sweep_cpu_s"] = time.process_time() - c0
        out["sweep_emulator_cpu_s"] = cpu_seconds(sandbox_pid) - e0
        out["rss_after_sweep_mib"] = rss_mib()
        counts = controls.counts()
        out["sweep_requests"] = sum(counts.values())
        out["sweep_routes"] = counts
        outcomes: dict[str, int] = {}
        for o in report.outcomes:
            outcomes[o.outcome] = outcomes.get(o.outcome, 0) + 1
        out["outcomes"] = outcomes
        out["claimed"] = len(report.claimed)
        out["not_in_sync"] = [o.line() for o in report.outcomes if o.outcome != "in_sync"][:12]

        controls.reset_counts()
        e0 = cpu_seconds(sandbox_pid)
        wall, calls, statuses = refresh_like_terraform(store, providers, list(report.claimed), 10)
        out["tf_emulator_cpu_s"] = cpu_seconds(sandbox_pid) - e0
        out["tf_s"] = wall
        out["tf_calls"] = calls
        out["tf_statuses"] = {str(k): v for k, v in statuses.items()}
        out["tf_requests"] = sum(controls.counts().values())
        out["resources"] = calls
    controls.latency(0)
    controls.close()
    out["rss_peak_mib"] = rss_mib()
    print("RESULT " + json.dumps(out), flush=True)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# -- main --------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per provider request")
    parser.add_argument("--drift", type=int, default=5, help="stacks drifted on purpose")
    parser.add_argument(
        "--workspaces", type=int, default=100, help="the stacks are spread over this many"
    )
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="dry-run + PUT pairs per agent")
    parser.add_argument("--coolify-only", action="store_true", help="drop the Google sections")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
    parser.add_argument(
        "--api-in-world",
        action="store_true",
        help="(b) in the sandbox of (a): the agents' stacks beside the --stacks others",
    )
    parser.add_argument(
        "--plain-sandbox",
        action="store_true",
        help="the emulators as they are (Coolify scans whole tables: slow at 1,000 stacks)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: use the world built there before"
    )
    parser.add_argument("--keep", type=Path, help="work here (and keep it) instead of a temp dir")
    parser.add_argument("--sweep-child", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--sandbox-pid", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sweep_child:
        sweep_child(
            Path(args.sweep_child[0]),
            args.sweep_child[1],
            args.stacks,
            args.latency,
            args.sandbox_pid,
        )
        return
    with ExitStack() as outer:
        if args.keep:
            work = args.keep
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(outer.enter_context(tempfile.TemporaryDirectory()))
        run(work, args)


def run(work: Path, args: argparse.Namespace) -> None:
    n = args.stacks
    drift = set(range(1, n, max(1, (n - 1) // max(1, args.drift))))
    chosen = sorted(drift)[: args.drift]
    kinds = {
        i: "cron" if k % 2 and not args.coolify_only else "start" for k, i in enumerate(chosen)
    }
    sections = "Coolify only" if args.coolify_only else "Coolify + GCP"
    print(f"building {n} stacks in {args.workspaces} workspaces ({sections})")
    t0 = time.perf_counter()
    if not (args.reuse and (work / "state.db").exists()):
        apply_template(work, args.coolify_only)
        clone_world(work, n, kinds, args.coolify_only, args.workspaces)
    build_s = time.perf_counter() - t0
    drifted = ", ".join(f"{stack_name(i)} ({k})" for i, k in kinds.items())
    print(f"  built in {build_s:.0f} s; drifted on purpose: {drifted}")
    sweep: dict[str, Any] = {}
    api: dict[str, Any] = {}
    with sandbox_process(work / "sandbox", not args.plain_sandbox) as (sandbox_pid, providers):
        if not args.skip_sweep:
            payload = json.dumps(
                {
                    k: {"url": v.url, "token": v.token, "control_url": v.control_url}
                    for k, v in providers.items()
                }
            )
            proc = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--sweep-child",
                    str(work),
                    payload,
                    "--stacks",
                    str(n),
                    "--latency",
                    str(args.latency),
                    "--sandbox-pid",
                    str(sandbox_pid),
                ],
                capture_output=True,
                text=True,
                timeout=3600,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
            if proc.returncode != 0 or not lines:
                print(proc.stdout[-3000:], proc.stderr[-5000:])
                raise SystemExit("the sweep process failed")
            sweep = json.loads(lines[-1][len("RESULT ") :])
    if not args.skip_api:
        # by default a sandbox of its own; --api-in-world: beside the sweep's stacks, so
        # every project-wide list the agents' plans make holds the whole world
        where = work / ("sandbox" if args.api_in_world else "api-sandbox")
        with sandbox_process(where, not args.plain_sandbox) as (pid, providers):
            api = api_bench(
                work / "api",
                providers,
                pid,
                agents=args.agents,
                rounds=args.rounds,
                latency=args.latency,
                coolify_only=args.coolify_only,
            )
    report(args, sweep, api, build_s)


def report(
    args: argparse.Namespace, s: dict[str, Any], api: dict[str, Any], build_s: float
) -> None:
    lat = f"{args.latency * 1000:.0f} ms"
    print()
    print(f"cores {os.cpu_count()}, injected latency {lat} per provider request")
    if s and not s["claimed"]:
        print("(a) the sweep claimed no stack (leases of an earlier run still live?)")
        s = {}
    if s:
        per_stack = s["resources"] / max(1, s["claimed"])
        print(
            f"\n(a) drift sweep of {s['claimed']} stacks, {s['resources']} resources "
            f"({per_stack:.0f} per stack) in {args.workspaces} workspaces, "
            f"{args.drift} drifted on purpose"
        )
        print(f"    outcomes: {s['outcomes']}")
        for line in s["not_in_sync"]:
            print(f"      {line}")
        print("    sweep requests by route:")
        for route, c in sorted(s["sweep_routes"].items(), key=lambda kv: -kv[1])[:14]:
            print(f"      {c:6d}  {route}")
        print(f"    terraform-style answers: {s['tf_statuses']}")
        print(
            f"    CPU: sweep process {s['sweep_cpu_s']:.1f} s; sandbox emulators "
            f"{s['sweep_emulator_cpu_s']:.1f} s during the sweep, "
            f"{s['tf_emulator_cpu_s']:.1f} s during the one-GET-per-resource refresh"
        )
    print()
    rows = []
    if s:
        rows += [
            (
                "daemon sweep (Daemon.run_once)",
                f"{s['sweep_s']:.1f} s",
                f"{s['sweep_requests']} req",
                f"{s['sweep_requests'] / s['claimed']:.2f} req/stack",
            ),
            (
                "one GET per resource, p=10",
                f"{s['tf_s']:.1f} s",
                f"{s['tf_requests']} req",
                f"{s['tf_requests'] / s['claimed']:.2f} req/stack",
            ),
            (
                "daemon peak RSS (c)",
                f"{s['rss_after_sweep_mib']:.0f} MiB",
                f"before sweep {s['rss_before_sweep_mib']:.0f} MiB",
                "",
            ),
        ]
    if api:
        for kind in ("dry_run", "put"):
            v = api["lat"][kind]
            rows.append(
                (
                    f"API PUT {'?dry_run=true' if kind == 'dry_run' else '(stores)'}",
                    f"p50 {pct(v, 50) * 1000:.0f} ms",
                    f"p99 {pct(v, 99) * 1000:.0f} ms",
                    f"{len(v)} ok",
                )
            )
        rows.append(
            (
                "API CPU seconds per PUT",
                f"server {api['server_cpu_s'] / max(1, api['puts']) * 1000:.0f} ms",
                f"emulators {api['sandbox_cpu_s'] / max(1, api['puts']) * 1000:.0f} ms",
                f"{api['provider_requests'] / max(1, api['puts']):.1f} provider req/PUT",
            )
        )
        n_err = sum(api["errors"].values())
        rows.append(
            (
                f"API {args.agents} agents x {args.rounds} rounds",
                f"{api['wall']:.1f} s wall",
                f"{n_err} errors",
                json.dumps(api["errors"]) if n_err else "",
            )
        )
    width = max(len(r[0]) for r in rows) if rows else 0
    for r in rows:
        print(f"{r[0]:<{width}}  {r[1]:>12}  {r[2]:>22}  {r[3]}")
    print(f"(world built in {build_s:.0f} s)")


if __name__ == "__main__":
    main()
