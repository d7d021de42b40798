"""``vibn daemon`` against the Coolify sandbox: drift made by hand in the sandbox is found
and corrected (or only reported), a stack locked by an apply is left alone, and a sweep's
provider requests grow with kinds, not stacks."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from vibn.state import SecretBox, Store, stack_lease_key

from .conftest import Cli
from .test_cli_flow import held, wait_until

LIST_ROUTES = ("GET /api/v1/applications", "GET /api/v1/databases", "GET /api/v1/projects")


@contextmanager
def state(cli: Cli) -> Iterator[Store]:
    """The CLI's own state store, opened in-process."""
    home = Path(cli.env["VIBN_HOME"])
    box = SecretBox.from_env_or_file(None, home / "secrets.key")
    with Store.open(f"sqlite:///{home / 'state.db'}", box) as store:
        yield store


def app_uuid(cli: Cli, name: str) -> str:
    with cli.coolify as c:
        return str(next(a["uuid"] for a in c.get("/applications").json() if a["name"] == name))


def envs(cli: Cli, name: str) -> dict[str, Any]:
    with cli.coolify as c:
        rows = c.get(f"/applications/{app_uuid(cli, name)}/envs").json()
    return {e["key"]: e["value"] for e in rows if not e.get("is_preview")}


def set_env(cli: Cli, app: str, key: str, value: str) -> None:
    with cli.coolify as c:
        c.patch(
            f"/applications/{app_uuid(cli, app)}/envs", json={"key": key, "value": value}
        ).raise_for_status()


def event_types(cli: Cli, stack: str) -> list[str]:
    with state(cli) as store:
        return [e.type for e in store.events("default", stack, limit=1000) if e.type != "action"]


def test_drift_in_the_sandbox_is_corrected(cli: Cli) -> None:
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    before = held(cli)
    with cli.coolify as c:
        c.delete(f"/applications/{app_uuid(cli, 'mysaas-worker-1')}").raise_for_status()
    set_env(cli, "mysaas-web-1", "LOG_LEVEL", "debug")
    assert wait_until(lambda: held(cli) != before)  # Coolify deletes asynchronously

    r = cli("daemon", "--once")
    assert r.code == 0, r.stderr
    assert "default/mysaas: corrected" in r.stderr
    assert held(cli) == before
    assert envs(cli, "mysaas-web-1")["LOG_LEVEL"] == "info"
    assert envs(cli, "mysaas-worker-1")["STRIPE_API_KEY"] == "sk_test_e2e"  # captured at apply
    assert event_types(cli, "mysaas") == ["drift", "drift_corrected"]
    assert cli("plan", "examples/saas.yaml", "--detailed-exitcode").code == 0

    r = cli("daemon", "--once")  # nothing is due until the interval has passed
    assert r.code == 0 and "mysaas" not in r.stderr


def test_drift_report_only_reports(cli: Cli) -> None:
    path = cli.cwd / "examples/saas.yaml"
    path.write_text(path.read_text().replace("spec:\n", "spec:\n  drift: report\n", 1))
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    set_env(cli, "mysaas-web-1", "LOG_LEVEL", "debug")

    r = cli("daemon", "--once")
    assert r.code == 0, r.stderr
    assert "default/mysaas: reported" in r.stderr
    assert envs(cli, "mysaas-web-1")["LOG_LEVEL"] == "debug"
    assert event_types(cli, "mysaas") == ["drift"]
    status = cli("status", "mysaas", "--json", "--no-refresh").json()
    assert status["status"] == "applied"
    assert "drift found (drift: report)" in status["status_message"]
    assert "app.web-1.env" in status["status_message"]


def test_a_stack_locked_by_an_apply_is_skipped(cli: Cli) -> None:
    assert cli("apply", "examples/saas.yaml", "--auto-approve").code == 0
    set_env(cli, "mysaas-web-1", "LOG_LEVEL", "debug")
    with state(cli) as store:
        store.acquire_lease(
            stack_lease_key("default", "mysaas"), "cli:elsewhere:42", timedelta(minutes=5)
        )
    r = cli("daemon", "--once")
    assert r.code == 0, r.stderr
    assert "mysaas" not in r.stderr
    assert envs(cli, "mysaas-web-1")["LOG_LEVEL"] == "debug"
    assert event_types(cli, "mysaas") == []


def test_the_interval_comes_from_the_environment(cli: Cli) -> None:
    assert cli("apply", "examples/minimal.yaml", "--auto-approve").code == 0
    cli.env["VIBN_RECONCILE_INTERVAL"] = "42"
    start = datetime.now(UTC)
    r = cli("daemon", "--once")
    assert r.code == 0 and "default/hello: in_sync" in r.stderr, r.stderr
    with state(cli) as store:
        schedule = store.get_schedule("default", "hello")
    assert schedule is not None and schedule.next_reconcile_at is not None
    wait = schedule.next_reconcile_at - start
    assert timedelta(seconds=42) <= wait <= timedelta(seconds=42 * 1.1 + 5)


def minimal(cli: Cli, name: str, workspace: str = "default") -> str:
    text = (cli.cwd / "examples/minimal.yaml").read_text()
    named = text.replace("name: hello", f"name: {name}\n  workspace: {workspace}", 1)
    return str(cli.write(f"{workspace}-{name}.yaml", named))


def test_workers_share_the_due_stacks(cli: Cli) -> None:
    for n in range(4):
        assert cli("apply", minimal(cli, f"hello-{n}"), "--auto-approve").code == 0
    r = cli("daemon", "--once", "--workers", "3", "--batch", "1")
    assert r.code == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if ": in_sync" in line]
    assert sorted(line.split(": ")[1] for line in lines) == [f"default/hello-{n}" for n in range(4)]
    assert "Every due stack visited." in r.stderr


def sweep_requests(cli: Cli) -> dict[str, int]:
    with cli.control as c:
        c.delete("/requests").raise_for_status()
    r = cli("daemon", "--once", "--batch", "20")
    assert r.code == 0, r.stderr
    with cli.control as c:
        counts: dict[str, int] = c.get("/requests").json()["by_route"]
    return counts


def test_sweep_requests_grow_with_kinds_not_stacks(cli: Cli) -> None:
    assert cli("apply", minimal(cli, "hello-0"), "--auto-approve").code == 0
    one = sweep_requests(cli)
    for n in range(1, 10):
        assert cli("apply", minimal(cli, f"hello-{n}"), "--auto-approve").code == 0
    with state(cli) as store:  # make the first one due again too
        store.schedule_next("default", "hello-0", datetime.now(UTC), failures=0)
    ten = sweep_requests(cli)
    for route in LIST_ROUTES:
        assert one.get(route) == ten.get(route) == 1, (route, one, ten)
    # what grows are reads of one object each (env vars of an app, a project's
    # environments, a pending deployment): at most one per stack per route
    for route, count in ten.items():
        assert count <= 10 * one.get(route, 0), (route, one, ten)


def test_a_sweep_of_many_workspaces_lists_the_server_once(cli: Cli) -> None:
    """Coolify's project and database lists hold every workspace's objects: one sweep
    reads each once, however many workspaces it visits; the application list is
    filtered by workspace tag, so it is read once per workspace."""
    workspaces = [f"team{n}" for n in range(4)]
    for ws in workspaces:
        assert cli("apply", minimal(cli, "hello", ws), "--auto-approve").code == 0
    counts = sweep_requests(cli)
    assert counts.get("GET /api/v1/projects") == 1, counts
    assert counts.get("GET /api/v1/databases") == 1, counts
    assert counts.get("GET /api/v1/applications") == len(workspaces), counts


# -- three replicas on PostgreSQL, one killed mid-run ---------------------------------
PG_ADMIN = os.environ.get("VIBN_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REPLICAS = 3
STACKS = 10


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A database of its own on the real PostgreSQL; its SQLAlchemy URL."""
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}")
    name = f"vibn_daemon_e2e_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        try:
            yield PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://") + (
                f"/{name}"
            )
        finally:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def daemon_applies(url: str) -> list[tuple[str, str, datetime, datetime | None, str]]:
    """(stack, principal, started, finished, status) of every daemon apply, oldest first."""
    with psycopg.connect(url.replace("+psycopg", "")) as conn:
        rows = conn.execute(
            "SELECT s.name, a.principal, a.started_at, a.finished_at, a.status "
            "FROM applies a JOIN stacks s ON s.id = a.stack_id "
            "WHERE a.principal LIKE 'daemon:%' ORDER BY a.started_at"
        ).fetchall()
    return [(r[0], r[1], r[2], r[3], r[4]) for r in rows]


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_three_replicas_share_the_stacks_and_survive_a_kill(cli: Cli, pg_url: str) -> None:
    cli.env["VIBN_DATABASE_URL"] = pg_url
    cli.env["VIBN_SECRETS_KEY"] = "11" * 32
    names = [f"r{n}" for n in range(STACKS)]
    text = (cli.cwd / "examples/minimal.yaml").read_text()
    for name in names:
        doc = text.replace("name: hello", f"name: {name}", 1)
        doc = doc.replace("spec:\n", "spec:\n  env:\n    LOG_LEVEL: info\n", 1)
        r = cli("apply", str(cli.write(f"{name}.yaml", doc)), "--auto-approve")
        assert r.code == 0, r.stderr
    for name in names:
        set_env(cli, f"{name}-web-1", "LOG_LEVEL", "debug")
    with cli.control as c:  # every correction takes a while: replicas overlap in time
        c.post("/latency", json={"seconds": 0.05}).raise_for_status()

    command = [sys.executable, "-m", "vibn.cli", "daemon", "--interval", "600"]
    command += ["--batch", "2", "--lease-ttl", "3"]
    logs = [cli.cwd / f"replica-{n}.log" for n in range(REPLICAS)]
    procs = []
    for log in logs:
        with log.open("w") as sink:
            procs.append(
                subprocess.Popen(
                    command,
                    cwd=cli.cwd,
                    env={**os.environ, **cli.env},
                    stdout=subprocess.DEVNULL,
                    stderr=sink,
                )
            )
    try:
        # kill whichever replica is in the middle of correcting a stack
        running: list[str] = []

        def someone_is_applying() -> bool:
            running[:] = [p for _, p, _, _, s in daemon_applies(pg_url) if s == "running"]
            return bool(running)

        wait_for(someone_is_applying, 60, "a replica to start correcting")
        pid = int(running[0].split(":")[2])
        victim = next(p for p in procs if p.pid == pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait()

        def all_corrected() -> bool:
            done = {s for s, _, _, _, status in daemon_applies(pg_url) if status == "succeeded"}
            return done == set(names)

        wait_for(all_corrected, 90, "every stack to be corrected")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=30) for proc in procs]
    survivors = [c for p, c in zip(procs, codes, strict=True) if p is not victim]
    assert survivors == [0] * (REPLICAS - 1), [log.read_text() for log in logs]

    for name in names:
        assert envs(cli, f"{name}-web-1")["LOG_LEVEL"] == "info"
    applies = daemon_applies(pg_url)
    killed = [a for a in applies if a[4] == "running"]
    assert len(killed) == 1 and killed[0][1].split(":")[2] == str(victim.pid)
    # the killed replica's stack was taken over by another replica
    taken = [a for a in applies if a[0] == killed[0][0] and a[4] == "succeeded"]
    assert taken and taken[-1][1] != killed[0][1] and taken[-1][2] > killed[0][2]
    # never two replicas on one stack at once: one stack's applies never overlap
    for name in names:
        mine = [a for a in applies if a[0] == name]
        for before, after in itertools.pairwise(mine):
            assert before[3] is None or before[3] <= after[2], (name, mine)
    assert len({a[1] for a in applies}) >= 2  # the work was shared
    with Store.open(pg_url, SecretBox.from_text(cli.env["VIBN_SECRETS_KEY"])) as store:
        for name in names:
            assert "drift_corrected" in [e.type for e in store.events("default", name)]
            record = store.get_stack("default", name)
            assert record is not None and record.status == "applied"
            assert store.lease_holder(stack_lease_key("default", name)) is None
