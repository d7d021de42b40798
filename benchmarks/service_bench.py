"""The long-running service's costs: a daemon drift sweep of many stacks, the API under
many concurrent agents, and the daemon's memory.

Figures, not assertions. ``python benchmarks/service_bench.py [--stacks 1000]
[--latency 0.02] [--drift 5] [--agents 100] [--rounds 3]``.

(a) drift sweep: ``--stacks`` copies of examples/saas.yaml (21 resources: 13 Coolify, 8
    Google Cloud) in the sandbox, with ``--latency`` added to every provider request. The
    world is built fast: ONE stack is applied through the engine, then its provider objects
    are cloned (new uuids, names and queue hashes) in the emulators' data files and its
    records, revision, successful apply and captured secrets are cloned in vibn's store.
    ``--drift`` of the copies are drifted on purpose (a worker's start command changed,
    or a cron job deleted). Then ``Daemon.run_once`` with ``batch = --stacks`` is timed and
    its provider requests counted, and compared with a Terraform-style refresh: one GET per
    recorded resource from a thread pool of 10.
(b) the API (uvicorn in a thread, SQLite) under ``--agents`` concurrent agents, each in its
    own workspace, each doing ``--rounds`` x (PUT ?dry_run=true, then PUT) of a distinct
    stack: p50/p99 latency and errors.
(c) peak RSS of the process that ran the sweep of (a) (a fresh child process; the sandbox
    runs in another process so its data is not counted).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import secrets
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from vibn.config import load_settings  # noqa: E402
from vibn.providers.gcp.tasks import queue_id  # noqa: E402
from vibn.reconciler.daemon import Daemon  # noqa: E402
from vibn.reconciler.engine import Engine  # noqa: E402
from vibn.reconciler.graph import _hashable  # noqa: E402
from vibn.sandbox.info import ProviderEndpoint  # noqa: E402
from vibn.specs import digest, load_stack  # noqa: E402
from vibn.specs.values import Sensitive  # noqa: E402
from vibn.state import SecretBox, Store  # noqa: E402
from vibn.wiring import build_drivers, sandbox_environment  # noqa: E402

EXAMPLE = HERE.parent / "examples" / "saas.yaml"
WORKSPACE = "default"
PROJECT = "vibn-bench"
KEY = b"\x07" * 32
FINGERPRINT = b"b" * 32
TEMPLATE = "s00000"
ALNUM = string.ascii_lowercase + string.digits
GCP_SECTIONS = ("storage", "cron", "queues", "logs")
SANDBOX_START_TIMEOUT = 60.0


def stack_name(i: int) -> str:
    return f"s{i:05d}"


def document(name: str, coolify_only: bool) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    doc["metadata"]["name"] = name
    doc["metadata"]["workspace"] = WORKSPACE
    # the cloner copies Coolify and Google Cloud objects only: registrations, zones and
    # SES identities are per-stack reads it does not reproduce (see apply_bench for them)
    for section in ("domain", "email"):
        doc["spec"].pop(section, None)
    if coolify_only:
        for section in GCP_SECTIONS:
            doc["spec"].pop(section, None)
    return doc


# -- engine over a sandbox ----------------------------------------------------------
def make_engine(
    providers: Mapping[str, ProviderEndpoint], store: Store, cleanup: ExitStack, **kw: Any
) -> Engine:
    """An engine wired as the daemon wires one, every provider at the sandbox."""
    cfg = load_settings(Path(tempfile.gettempdir()), sandbox_environment(providers, PROJECT))
    drivers, platform = build_drivers(cfg, cleanup, "bench-registrar-profiles")
    return Engine(store, drivers, FINGERPRINT, platform=platform, **kw)


class Controls:
    """Every emulator's control plane (latency, request counts)."""

    def __init__(self, providers: Mapping[str, ProviderEndpoint]) -> None:
        self.clients = {n: httpx.Client(base_url=ep.control_url) for n, ep in providers.items()}

    def each(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        out = {}
        for name, client in self.clients.items():
            r = client.request(method, path, **kw)
            r.raise_for_status()
            out[name] = r.json() if r.content else {}
        return out

    def latency(self, seconds: float) -> None:
        self.each("POST", "/latency", json={"seconds": seconds})

    def reset_counts(self) -> None:
        self.each("DELETE", "/requests")

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for name, answer in self.each("GET", "/requests").items():
            for route, n in answer["by_route"].items():
                out[f"{name} {route}"] = out.get(f"{name} {route}", 0) + int(n)
        return out

    def close(self) -> None:
        for c in self.clients.values():
            c.close()


@contextmanager
def sandbox_process(
    directory: Path, indexed: bool
) -> Iterator[tuple[int, dict[str, ProviderEndpoint]]]:
    """The sandbox in its own process (its data is not the daemon's memory)."""
    directory.mkdir(parents=True, exist_ok=True)
    info = directory / "sandbox.json"
    info.unlink(missing_ok=True)
    log = open(directory / "sandbox.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            *([str(HERE / "indexed_sandbox.py")] if indexed else ["-m", "vibn.sandbox.server"]),
            "--dir",
            str(directory),
        ],
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + SANDBOX_START_TIMEOUT
        while not info.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start; see {directory / 'sandbox.log'}")
            time.sleep(0.1)
        data = json.loads(info.read_text())
        yield (
            proc.pid,
            {
                name: ProviderEndpoint(p["url"], p["token"], p["control_url"])
                for name, p in data["providers"].items()
            },
        )
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


# -- building the world ---------------------------------------------------------------
def apply_template(work: Path, coolify_only: bool) -> None:
    """Apply one stack through the engine, and wait for its deployments to settle."""
    from vibn.sandbox.server import start_in_thread

    stack = load_stack(json.dumps(document(TEMPLATE, coolify_only)).encode())
    with start_in_thread(work / "sandbox") as sandbox, ExitStack() as cleanup:
        store = Store.open(f"sqlite:///{work / 'state.db'}", SecretBox(KEY))
        cleanup.callback(store.close)
        store.set_secret(WORKSPACE, "SESSION_SECRET", "bench")
        engine = make_engine(sandbox.providers, store, cleanup, env={"STRIPE_API_KEY": "sk_b"})
        result = engine.apply(engine.plan(stack).plan.to_json())
        if not result.ok:
            raise RuntimeError(f"template apply failed: {result.error}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            engine.refresh_conditions(WORKSPACE, TEMPLATE)
            conds = [c for r in store.resources(WORKSPACE, TEMPLATE) for c in r.conditions]
            if all(c.status == "True" for c in conds):
                break
            time.sleep(0.2)


class Renamer:
    """Text substitutions that turn the template stack's objects into stack ``name``'s."""

    def __init__(self, name: str, uuids: list[str], access_ids: list[str], queues: list[str]):
        self.map: dict[str, str] = {}
        for u in uuids:
            self.map[u] = "".join(secrets.choice(ALNUM) for _ in range(len(u)))
        for a in access_ids:
            tail = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in a[5:])
            self.map[a] = a[:5] + tail
        for q in queues:
            self.map[queue_id(WORKSPACE, TEMPLATE, q)] = queue_id(WORKSPACE, name, q)
        self.map[TEMPLATE] = name
        keys = sorted(self.map, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(k) for k in keys))

    def text(self, s: str) -> str:
        return self._re.sub(lambda m: self.map[m.group(0)], s)

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, Sensitive):
            return Sensitive(self.text(v.value))
        if isinstance(v, dict):
            return {self.text(k): self.value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        return v


def trigger(app_props: Mapping[str, Any], env_vars: Mapping[str, Any]) -> str:
    """A deployment's ``trigger`` as ``reconciler.graph.Digest`` computes it."""
    hashable = _hashable([dict(app_props), dict(env_vars)], lambda v: v.fingerprint(FINGERPRINT))
    text = json.dumps(hashable, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def clone_world(work: Path, n: int, drift: Mapping[int, str], coolify_only: bool) -> None:
    """Copy the template stack's provider objects and vibn records ``n - 1`` times."""
    sdir = work / "sandbox"
    cool = json.loads((sdir / "coolify.json").read_text())
    uuids = [u for t in cool if isinstance(cool[t], dict) for u in cool[t] if len(u) == 24]
    gcs = json.loads((sdir / "storage.json").read_text())
    access_ids = list(gcs.get("hmac_keys", {}))
    queues = [q["name"] for q in document(TEMPLATE, coolify_only)["spec"].get("queues", [])]
    sched = json.loads((sdir / "scheduler.json").read_text())
    tasks = json.loads((sdir / "tasks.json").read_text())
    logs = json.loads((sdir / "logging.json").read_text())
    tables = [t for t in cool if isinstance(cool[t], dict) and t != "ids"]
    template = {t: list(cool[t].values()) for t in tables}
    per_table = {t: len(rows) for t, rows in template.items()}
    tmpl_jobs = {k: v for k, v in sched["jobs"].items() if TEMPLATE in k}
    tmpl_queues = {k: v for k, v in tasks["queues"].items() if TEMPLATE in k}
    tmpl_lbuckets = {k: v for k, v in logs["buckets"].items() if TEMPLATE in k}
    tmpl_sinks = {k: v for k, v in logs["sinks"].items() if TEMPLATE in k}
    tmpl_hmac = dict(gcs.get("hmac_keys", {}))
    rules = []
    for b in gcs.get("buckets", {}).values():
        rules = [r for r in b.get("lifecycle", {}).get("rule", []) if TEMPLATE in json.dumps(r)]

    store = Store.open(f"sqlite:///{work / 'state.db'}", SecretBox(KEY))
    try:
        record = store.get_stack(WORKSPACE, TEMPLATE)
        assert record is not None
        resources = store.resources(WORKSPACE, TEMPLATE)
        tmpl_secrets = {
            s: store.get_secret(WORKSPACE, s)
            for s in store.list_secrets(WORKSPACE)
            if s.startswith(TEMPLATE + "/")
        }
        t0 = time.perf_counter()
        for i in range(1, n):
            name = stack_name(i)
            ren = Renamer(name, uuids, access_ids, queues)
            # Coolify: every row of every table, with fresh uuids and shifted numeric ids
            for t, rows in template.items():
                for row in rows:
                    new = json.loads(ren.text(json.dumps(row)))
                    for key in ("id", "environment_id", "project_id", "database_id"):
                        if key in new and isinstance(new[key], int):
                            table = {
                                "environment_id": "environments",
                                "project_id": "projects",
                                "database_id": "databases",
                            }.get(key, t)
                            new[key] += i * per_table[table]
                    for key in ("resourceable_id", "application_id"):
                        if key in new and str(new[key]).isdigit():
                            owner = (
                                "applications"
                                if new.get("resourceable_type", "").endswith("Application")
                                or key == "application_id"
                                else "databases"
                            )
                            shifted = int(new[key]) + i * per_table[owner]
                            new[key] = shifted if isinstance(new[key], int) else str(shifted)
                    if (
                        drift.get(i) == "start"
                        and t == "applications"
                        and new.get("start_command") == "node worker.js"
                        and new["name"].endswith("worker-1")
                    ):
                        new["start_command"] = "node drifted.js"
                    cool[t][new["uuid"] if "uuid" in new else new["deployment_uuid"]] = new
            for kind, rows, target in (
                ("jobs", tmpl_jobs, sched["jobs"]),
                ("queues", tmpl_queues, tasks["queues"]),
                ("buckets", tmpl_lbuckets, logs["buckets"]),
                ("sinks", tmpl_sinks, logs["sinks"]),
                ("hmac", tmpl_hmac, gcs.get("hmac_keys", {})),
            ):
                for k, v in rows.items():
                    if kind == "jobs" and drift.get(i) == "cron" and k.endswith("-sync"):
                        continue  # drift: a cron job deleted
                    target[ren.text(k)] = ren.value(v)
            for b in gcs.get("buckets", {}).values():
                if rules:
                    b["lifecycle"]["rule"].extend(ren.value(r) for r in rules)
            # vibn's store: revision, records, a successful apply, captured secrets
            doc = document(name, coolify_only)
            revision, _ = store.put_revision(
                WORKSPACE, name, doc, digest(load_stack(json.dumps(doc).encode()))
            )
            records = {
                r.address: (r, ren.value(dict(r.props)), ren.value(dict(r.outputs)))
                for r in resources
            }
            for address, (r, props, _) in records.items():
                if r.kind == "coolify.deployment":  # the planner's digest of app + env
                    app = address.removesuffix(".deploy")
                    props["trigger"] = trigger(records[app][1], records[f"{app}.env"][1]["vars"])
            for address, (r, props, outputs) in records.items():
                store.record_resource(
                    WORKSPACE,
                    name,
                    address,
                    r.kind,
                    ren.text(r.provider_id) if r.provider_id else None,
                    props,
                    outputs,
                    r.conditions,
                )
            for s, value in tmpl_secrets.items():
                assert value is not None
                store.set_secret(WORKSPACE, ren.text(s), value)
            apply_id = store.begin_apply(
                WORKSPACE, name, revision=revision, plan_id=None, kind="apply", principal="bench"
            )
            store.finish_apply(apply_id, "succeeded")
            store.set_stack_status(WORKSPACE, name, "applied")
            if i % 200 == 0:
                print(f"  seeded {i}/{n} stacks ({time.perf_counter() - t0:.0f} s)", flush=True)
        ids = cool["ids"]
        for t in tables:
            ids[t] = max((int(r["id"]) for r in cool[t].values()), default=0)
    finally:
        store.close()
    for fname, data in (
        ("coolify.json", cool),
        ("storage.json", gcs),
        ("scheduler.json", sched),
        ("tasks.json", tasks),
        ("logging.json", logs),
    ):
        (sdir / fname).write_text(json.dumps(data))


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
    store: Store, providers: Mapping[str, ProviderEndpoint], names: list[str], parallelism: int
) -> tuple[float, int, dict[int, int]]:
    """One GET per recorded resource, ``parallelism`` at a time: (wall, requests, statuses)."""
    calls: list[tuple[str, str]] = []
    for name in names:
        for r in store.resources(WORKSPACE, name):
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
        names = [name for _, name in report.claimed]
        e0 = cpu_seconds(sandbox_pid)
        wall, calls, statuses = refresh_like_terraform(store, providers, names, 10)
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux ``/proc``; 0 when unknown)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib() -> float:
    """Peak resident set size of this process so far: ``VmHWM`` (KiB) of its own memory
    map. ``ru_maxrss`` would do, but Linux carries it across ``execve``, so a child
    started from a big parent reports the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- (b): the API under concurrent agents ----------------------------------------------
@contextmanager
def serve(app: Any) -> Iterator[str]:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", backlog=1024, access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(300)
        sock.close()


def api_bench(
    work: Path,
    providers: Mapping[str, ProviderEndpoint],
    agents: int,
    rounds: int,
    latency: float,
    coolify_only: bool,
) -> dict[str, Any]:
    from vibn.api import ApiSettings, create_app
    from vibn.api.settings import Quotas

    controls = Controls(providers)
    controls.latency(latency)
    controls.reset_counts()
    results: dict[str, list[float]] = {"dry_run": [], "put": []}
    errors: dict[str, int] = {}
    lock = threading.Lock()
    with ExitStack() as cleanup:
        store = Store.open(f"sqlite:///{work / 'api.db'}", SecretBox(KEY))
        cleanup.callback(store.close)
        engine = make_engine(providers, store, cleanup, env={"STRIPE_API_KEY": "sk_b"})
        settings = ApiSettings(quotas=Quotas(stacks=1000, apps=1000, databases=1000, buckets=100))
        keys = []
        for a in range(agents):
            ws = f"agent{a:03d}"
            store.set_secret(ws, "SESSION_SECRET", "bench")
            token, _ = store.create_api_key(ws, scopes=("stacks:read", "stacks:write"))
            keys.append((ws, token))
        url = cleanup.enter_context(serve(create_app(store, engine, settings=settings)))
        start = threading.Barrier(agents)

        def agent(index: int) -> None:
            ws, token = keys[index]
            with httpx.Client(
                base_url=url,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=120,
            ) as client:
                start.wait(60)
                for r in range(rounds):
                    doc = document(f"app{r}", coolify_only)
                    doc["metadata"]["workspace"] = ws
                    body = json.dumps(doc)
                    for kind, params in (("dry_run", {"dry_run": "true"}), ("put", {})):
                        t0 = time.perf_counter()
                        try:
                            resp = client.put(f"/v1/stacks/app{r}", content=body, params=params)
                            status = str(resp.status_code)
                        except httpx.HTTPError as exc:
                            status = type(exc).__name__
                        took = time.perf_counter() - t0
                        with lock:
                            if status in ("200", "201"):
                                results[kind].append(took)
                            else:
                                errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1

        t0 = time.perf_counter()
        with ThreadPoolExecutor(agents) as pool:
            list(pool.map(agent, range(agents)))
        wall = time.perf_counter() - t0
    counts = controls.counts()
    controls.latency(0)
    controls.close()
    return {
        "wall": wall,
        "lat": results,
        "errors": errors,
        "provider_requests": sum(counts.values()),
    }


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
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3, help="dry-run + PUT pairs per agent")
    parser.add_argument("--coolify-only", action="store_true", help="drop the Google sections")
    parser.add_argument("--skip-api", action="store_true")
    parser.add_argument("--skip-sweep", action="store_true")
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
    print(f"building {n} stacks ({'Coolify only' if args.coolify_only else 'Coolify + GCP'})")
    t0 = time.perf_counter()
    if not (args.reuse and (work / "state.db").exists()):
        apply_template(work, args.coolify_only)
        clone_world(work, n, kinds, args.coolify_only)
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
        # a sandbox of its own: the agents' PUTs are measured without the sweep's world
        with sandbox_process(work / "api-sandbox", not args.plain_sandbox) as (_, providers):
            api = api_bench(
                work, providers, args.agents, args.rounds, args.latency, args.coolify_only
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
            f"({per_stack:.0f} per stack), {args.drift} drifted on purpose"
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
