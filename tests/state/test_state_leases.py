"""Leases: one holder at a time, renewal, expiry takeover, races between threads and
between processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from vibn.state import Lease, LeaseHeld, SecretBox, StateError, Store

KEY = "stack:default/mysaas"
TTL = timedelta(minutes=2)


def test_acquire_free_key(store: Store, clock: Any) -> None:
    lease = store.acquire_lease(KEY, "cli:host:1234", TTL)
    assert lease == Lease(KEY, "cli:host:1234", clock.now, clock.now + TTL)
    assert store.lease_holder(KEY) == lease
    assert store.lease_holder("stack:default/other") is None


def test_live_lease_is_held_with_a_readable_message(store: Store, clock: Any) -> None:
    store.acquire_lease(KEY, "cli:host:1234", TTL)
    clock.advance(seconds=30)
    with pytest.raises(LeaseHeld) as caught:
        store.acquire_lease(KEY, "daemon:replica-2", TTL)
    assert str(caught.value) == (
        "stack default/mysaas is locked by cli:host:1234 since 2026-11-25T17:00:00Z "
        "(lease expires 17:02:00Z)"
    )
    assert (caught.value.key, caught.value.holder) == (KEY, "cli:host:1234")
    assert caught.value.expires_at == clock.now - timedelta(seconds=30) + TTL


def test_same_holder_reacquires_to_renew(store: Store, clock: Any) -> None:
    first = store.acquire_lease(KEY, "me", TTL)
    clock.advance(minutes=1)
    again = store.acquire_lease(KEY, "me", TTL)
    assert again.acquired_at == first.acquired_at
    assert again.expires_at == clock.now + TTL


def test_expired_lease_is_taken_over(store: Store, clock: Any) -> None:
    store.acquire_lease(KEY, "dead-replica", TTL)
    clock.advance(minutes=2, seconds=1)
    assert store.lease_holder(KEY) is None
    taken = store.acquire_lease(KEY, "replica-2", TTL)
    assert taken == Lease(KEY, "replica-2", clock.now, clock.now + TTL)
    with pytest.raises(LeaseHeld, match="locked by replica-2"):
        store.renew_lease(KEY, "dead-replica", TTL)
    assert store.release_lease(KEY, "dead-replica") is False
    assert store.lease_holder(KEY) == taken


def test_renew_and_release(store: Store, clock: Any) -> None:
    store.acquire_lease(KEY, "me", TTL)
    clock.advance(minutes=1, seconds=30)
    renewed = store.renew_lease(KEY, "me", timedelta(minutes=5))
    assert renewed.expires_at == clock.now + timedelta(minutes=5)
    clock.advance(minutes=4)
    with pytest.raises(LeaseHeld):
        store.acquire_lease(KEY, "you", TTL)
    assert store.release_lease(KEY, "me") is True
    assert store.lease_holder(KEY) is None
    with pytest.raises(StateError, match="me holds no lease on stack:default/mysaas to renew"):
        store.renew_lease(KEY, "me", TTL)
    assert store.acquire_lease(KEY, "you", TTL).holder == "you"


def test_ttl_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="positive ttl"):
        store.acquire_lease(KEY, "me", timedelta(0))


def test_thread_race_has_exactly_one_winner(store: Store) -> None:
    contenders = 12
    barrier = threading.Barrier(contenders)
    outcomes: list[str] = []
    lock = threading.Lock()

    def contend(n: int) -> None:
        barrier.wait()
        try:
            store.acquire_lease(KEY, f"worker-{n}", TTL)
            outcome = f"won:worker-{n}"
        except LeaseHeld as held:
            outcome = f"held:{held.holder}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("won:")]
    assert len(winners) == 1
    winner = winners[0].removeprefix("won:")
    assert sorted(outcomes) == sorted([f"won:{winner}"] + [f"held:{winner}"] * (contenders - 1))


def test_thread_race_for_an_expired_lease_has_exactly_one_winner(store: Store, clock: Any) -> None:
    store.acquire_lease(KEY, "dead", TTL)
    clock.advance(minutes=3)
    contenders = 8
    barrier = threading.Barrier(contenders)
    won: list[str] = []

    def contend(n: int) -> None:
        barrier.wait()
        with contextlib.suppress(LeaseHeld):
            won.append(store.acquire_lease(KEY, f"w{n}", TTL).holder)

    threads = [threading.Thread(target=contend, args=(n,)) for n in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    holder = store.lease_holder(KEY)
    assert holder is not None and holder.holder == won[0]


CONTENDER = textwrap.dedent(
    """
    import sys, time
    from datetime import timedelta
    from pathlib import Path
    from vibn.state import LeaseHeld, SecretBox, Store

    url, key, name, workdir = sys.argv[1:5]
    store = Store.open(url, SecretBox.from_text(key))
    Path(workdir, "ready-" + name).touch()
    while not Path(workdir, "go").exists():
        time.sleep(0.002)
    try:
        store.acquire_lease("stack:default/mysaas", name, timedelta(minutes=2))
        print("won")
    except LeaseHeld as held:
        print("held", held.holder)
    store.close()
    """
)


@pytest.mark.slow
def test_process_race_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    """Processes that open a brand-new database together migrate it once and agree on
    one lease holder."""
    url = f"sqlite:///{tmp_path}/fresh/state.db"
    names = ["proc-a", "proc-b"]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, url, bytes(32).hex(), name, str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for name in names
    ]
    deadline = time.monotonic() + 30
    while not all((tmp_path / f"ready-{name}").exists() for name in names):
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    (tmp_path / "go").touch()
    results = {}
    for name, proc in zip(names, procs, strict=True):
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        results[name] = out.split()
    winners = [name for name, words in results.items() if words == ["won"]]
    assert len(winners) == 1, results
    assert all(
        words == ["held", winners[0]] for name, words in results.items() if name not in winners
    )
    with Store.open(url, SecretBox(bytes(32))) as store:
        assert store.migration_status() == ("0002", "0002")
        holder = store.lease_holder("stack:default/mysaas")
        assert holder is not None and holder.holder == winners[0]
