"""Apply and no-op plan costs of the example SaaS stack against the sandbox.

Prints, at a fixed injected latency per provider request:
(a) apply wall time divided by the latency of the dependency graph's critical path
    (1.0 would be perfect parallelism; the sequential sum is shown for contrast), and
(b) provider requests made by a no-op plan, per resource.
Figures, not assertions: run ``python benchmarks/apply_bench.py [--latency 0.05]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from contextlib import ExitStack
from decimal import Decimal
from pathlib import Path

import httpx

from vibn.config import load_settings
from vibn.reconciler.apply import StepEvent
from vibn.reconciler.engine import Engine
from vibn.sandbox.server import RunningSandbox, start_in_thread
from vibn.specs import load_stack
from vibn.state import SecretBox, Store
from vibn.wiring import build_drivers, sandbox_environment

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "saas.yaml"


class Timeline:
    """Start and end time of every action, from the engine's progress events."""

    def __init__(self) -> None:
        self.start: dict[str, float] = {}
        self.end: dict[str, float] = {}

    def __call__(self, event: StepEvent) -> None:
        now = time.perf_counter()
        if event.phase == "started":
            self.start.setdefault(event.address, now)
        elif event.phase == "succeeded":
            self.end[event.address] = now

    def durations(self) -> dict[str, float]:
        return {a: self.end[a] - self.start[a] for a in self.end if a in self.start}

    def wall(self) -> float:
        return max(self.end.values()) - min(self.start.values())


def critical_path(durations: Mapping[str, float], deps: Mapping[str, list[str]]) -> float:
    finish: dict[str, float] = {}

    def done(address: str) -> float:
        if address not in finish:
            before = [done(d) for d in deps.get(address, []) if d in durations]
            finish[address] = max(before, default=0.0) + durations.get(address, 0.0)
        return finish[address]

    return max(done(a) for a in durations)


class Controls:
    """The control planes of every emulator, driven as one."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.clients = [httpx.Client(base_url=ep.control_url) for ep in sandbox.providers.values()]

    def each(self, method: str, path: str, **kw: object) -> list[dict[str, object]]:
        answers = []
        for client in self.clients:
            response = client.request(method, path, **kw)  # type: ignore[arg-type]
            response.raise_for_status()
            answers.append(response.json() if response.content else {})
        return answers

    def latency(self, seconds: float) -> None:
        self.each("POST", "/latency", json={"seconds": seconds})

    def requests(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for answer in self.each("GET", "/requests"):
            for route, n in answer["by_route"].items():  # type: ignore[union-attr]
                counts[route] += int(n)
        return dict(counts)

    def close(self) -> None:
        for client in self.clients:
            client.close()


def open_engine(sandbox: RunningSandbox, db: Path, parallelism: int, cleanup: ExitStack) -> Engine:
    """An engine wired as ``vibn apply`` wires one, every provider at the sandbox."""
    store = Store.open(f"sqlite:///{db}", SecretBox(b"\x07" * 32))
    cleanup.callback(store.close)
    store.set_secret("default", "SESSION_SECRET", "bench")
    store.ledger_entry("default", Decimal("100"), "bench top-up", f"bench-{db.name}")
    cfg = load_settings(db.parent, sandbox_environment(sandbox.providers, "vibn-bench"))
    drivers, platform = build_drivers(cfg, cleanup, "bench-registrar-profiles")
    return Engine(
        store,
        drivers,
        b"b" * 32,
        parallelism=parallelism,
        env={"STRIPE_API_KEY": "sk_bench"},
        platform=platform,
    )


def run(latency: float, parallelism: int, work: Path) -> None:
    stack = load_stack(EXAMPLE.read_bytes())
    with start_in_thread(work / "sandbox") as sandbox:
        controls = Controls(sandbox)
        results: dict[int, tuple[float, float, float]] = {}
        for p in sorted({1, parallelism}):
            controls.each("POST", "/reset")
            controls.latency(latency)
            with ExitStack() as cleanup:
                engine = open_engine(sandbox, work / f"state-{p}.db", p, cleanup)
                planned = engine.plan(stack)
                deps = {a.address: a.depends_on for a in planned.plan.actions}
                timeline = Timeline()
                t0 = time.perf_counter()
                result = engine.apply(planned.plan.to_json(), on_event=timeline)
                total = time.perf_counter() - t0
                assert result.ok, result.error
                results[p] = (timeline.wall(), critical_path(timeline.durations(), deps), total)

                controls.each("DELETE", "/requests")
                noop = engine.plan(stack)
                assert not noop.plan.has_changes
                just_after = sum(controls.requests().values())
                n_resources = len(noop.plan.actions)
                # once deployments have finished (the daemon or `vibn status` records it),
                # a no-op plan no longer asks about them
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    engine.refresh_conditions("default", stack.metadata.name)
                    records = engine.store.resources("default", stack.metadata.name)
                    conditions = [c for r in records for c in r.conditions]
                    if conditions and all(c.status == "True" for c in conditions):
                        break
                    time.sleep(0.2)
                controls.each("DELETE", "/requests")
                t0 = time.perf_counter()
                engine.plan(stack)
                plan_wall = time.perf_counter() - t0
                steady = controls.requests()
        wall_p, crit_p, total_p = results[parallelism]
        wall_1 = results[1][0]
        steady_total = sum(steady.values())
        print(f"latency per request          {latency * 1000:.0f} ms")
        print(f"resources in the stack       {n_resources}")
        print(f"apply phase wall (p={parallelism})     {wall_p:.2f} s")
        print(f"critical path of the graph   {crit_p:.2f} s")
        print(f"wall / critical path         {wall_p / crit_p:.2f}")
        print(f"sequential apply (p=1)       {wall_1:.2f} s  ({wall_1 / wall_p:.1f}x slower)")
        print(f"whole apply incl. re-plan    {total_p:.2f} s")
        print(
            f"no-op plan requests, just after apply   {just_after} "
            f"({just_after / n_resources:.2f} per resource)"
        )
        print(
            f"no-op plan requests, deployments done   {steady_total} "
            f"({steady_total / n_resources:.2f} per resource)"
        )
        print(
            f"no-op plan wall time                    {plan_wall:.2f} s "
            f"({steady_total} requests x {latency * 1000:.0f} ms one after another would be "
            f"{steady_total * latency:.2f} s)"
        )
        for route, count in sorted(steady.items()):
            print(f"    {count:3d}  {route}")
        controls.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--parallelism", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args.latency, args.parallelism, Path(tmp))


if __name__ == "__main__":
    main()
