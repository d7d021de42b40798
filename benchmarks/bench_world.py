"""The world the service benchmark measures: many copies of the example stack, in the
sandbox and in vibn's store, built fast.

ONE stack is applied through the engine, then its provider objects are cloned (new
uuids, names and queue hashes) in the emulators' data files, and its records, revision,
successful apply and captured secrets are cloned in vibn's store. Also here: the
sandbox in a process of its own, its control planes (latency, request counts), and the
process figures (CPU seconds, peak RSS) the measurements report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import secrets
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

from vibn.config import load_settings
from vibn.providers.gcp.tasks import queue_id
from vibn.reconciler.engine import Engine
from vibn.reconciler.graph import _hashable
from vibn.sandbox.info import ProviderEndpoint
from vibn.specs import digest, load_stack
from vibn.specs.values import Sensitive
from vibn.state import SecretBox, Store
from vibn.wiring import build_drivers, sandbox_environment

HERE = Path(__file__).resolve().parent
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


def workspace_of(i: int, workspaces: int) -> str:
    """Stack ``i``'s workspace: ``workspaces`` of them, the template's (``default``) first."""
    k = i % max(1, workspaces)
    return WORKSPACE if k == 0 else f"w{k:03d}"


def document(name: str, coolify_only: bool, workspace: str = WORKSPACE) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    doc["metadata"]["name"] = name
    doc["metadata"]["workspace"] = workspace
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


def stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM ``proc``, and SIGKILL it if it is still there after ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


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
        stop(proc, 30)
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


#: where the template's workspace name appears in its objects (marks, labels, names,
#: tags, log filters); a bare "default" elsewhere (Redis's user name) is not it
_WS_CONTEXTS = re.compile(
    r"(?:(?<=vibn-workspace=)|(?<=vibn-ws-)|(?<=vibn-stack-)|(?<=vibn:)|(?<=vibn-)|(?<=vibn\.)"
    r'|(?<="vibn-workspace": ")|(?<=vibn-workspace\\"=\\")|(?<=vibn-workspace"="))'
    + WORKSPACE
    + r"(?![\w])"
)


class Renamer:
    """Text substitutions that turn the template stack's objects into stack ``name``'s,
    in ``workspace``."""

    def __init__(
        self,
        name: str,
        workspace: str,
        uuids: list[str],
        access_ids: list[str],
        queues: list[str],
    ) -> None:
        self.workspace = workspace
        self.map: dict[str, str] = {}
        for u in uuids:
            self.map[u] = "".join(secrets.choice(ALNUM) for _ in range(len(u)))
        for a in access_ids:
            tail = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in a[5:])
            self.map[a] = a[:5] + tail
        for q in queues:
            self.map[queue_id(WORKSPACE, TEMPLATE, q)] = queue_id(workspace, name, q)
        self.map[TEMPLATE] = name
        keys = sorted(self.map, key=len, reverse=True)
        self._re = re.compile("|".join(re.escape(k) for k in keys))

    def text(self, s: str) -> str:
        if self.workspace != WORKSPACE:
            s = _WS_CONTEXTS.sub(self.workspace, s)
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


def clone_world(
    work: Path, n: int, drift: Mapping[int, str], coolify_only: bool, workspaces: int = 1
) -> None:
    """Copy the template stack's provider objects and vibn records ``n - 1`` times, the
    copies spread over ``workspaces`` workspaces (each with its own workspace bucket)."""
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
    tmpl_bucket = gcs["buckets"][f"vibn-ws-{WORKSPACE}"] if not coolify_only else None
    rules = [
        r
        for r in (tmpl_bucket or {}).get("lifecycle", {}).get("rule", [])
        if TEMPLATE in json.dumps(r)
    ]

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
        session = store.get_secret(WORKSPACE, "SESSION_SECRET")
        assert session is not None
        t0 = time.perf_counter()
        for i in range(1, n):
            name, ws = stack_name(i), workspace_of(i, workspaces)
            ren = Renamer(name, ws, uuids, access_ids, queues)
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
            if tmpl_bucket is not None:
                bucket_name = f"vibn-ws-{ws}"
                if bucket_name not in gcs["buckets"]:  # the workspace's first stack
                    fresh = ren.value(tmpl_bucket)
                    fresh["lifecycle"]["rule"] = [
                        r for r in fresh["lifecycle"]["rule"] if f"{name}/" in json.dumps(r)
                    ]
                    fresh["labels"]["vibn-workspace"] = ws
                    gcs["buckets"][bucket_name] = fresh
                    store.set_secret(ws, "SESSION_SECRET", session.value)
                else:
                    gcs["buckets"][bucket_name]["lifecycle"]["rule"].extend(
                        ren.value(r) for r in rules
                    )
            elif store.get_secret(ws, "SESSION_SECRET") is None:
                store.set_secret(ws, "SESSION_SECRET", session.value)
            # vibn's store: revision, records, a successful apply, captured secrets
            doc = document(name, coolify_only, ws)
            revision, _ = store.put_revision(
                ws, name, doc, digest(load_stack(json.dumps(doc).encode()))
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
                    ws,
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
                store.set_secret(ws, ren.text(s), value)
            apply_id = store.begin_apply(
                ws, name, revision=revision, plan_id=None, kind="apply", principal="bench"
            )
            store.finish_apply(apply_id, "succeeded")
            store.set_stack_status(ws, name, "applied")
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
