"""Shared provider-wide lists: concurrent callers share fetches, but never one that began
before they asked; a sweep keeps one answer per key; failures are nobody's answer twice."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from vibn.reconciler.listings import FreshReads, SweepReads


class Provider:
    """A list whose answer is the number of writes made before the fetch began."""

    def __init__(self, delay: float = 0.05) -> None:
        self.delay = delay
        self.writes = 0
        self.fetches = 0
        self.lock = threading.Lock()

    def write(self) -> int:
        with self.lock:
            self.writes += 1
            return self.writes

    def fetch(self) -> int:
        with self.lock:
            self.fetches += 1
            seen = self.writes
        time.sleep(self.delay)
        return seen


def test_one_caller_alone_fetches_each_time() -> None:
    reads, provider = FreshReads(), Provider(delay=0)
    assert [reads.get("k", provider.fetch) for _ in range(3)] == [0, 0, 0]
    assert provider.fetches == reads.fetches == 3


def test_many_concurrent_callers_share_a_few_fetches() -> None:
    reads, provider = FreshReads(), Provider(delay=0.1)
    start = threading.Barrier(40)

    def call(_: int) -> int:
        start.wait()
        return reads.get("jobs", provider.fetch)

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(call, range(40)))
    assert answers == [0] * 40
    assert provider.fetches <= 2  # the first, and one for everyone who came meanwhile


def test_no_caller_is_answered_by_a_fetch_that_began_before_it_asked() -> None:
    reads, provider = FreshReads(), Provider(delay=0.02)
    stale: list[tuple[int, int]] = []
    lock = threading.Lock()

    def call(_: int) -> None:
        for _ in range(10):
            written = provider.write()  # what this caller did before it asked
            seen = reads.get("queues", provider.fetch)
            if seen < written:
                with lock:
                    stale.append((written, seen))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(call, range(16)))
    assert stale == []
    assert provider.fetches < 160  # and they did share


def test_keys_are_fetched_apart() -> None:
    reads = FreshReads()
    assert reads.get("a", lambda: "A") == "A"
    assert reads.get("b", lambda: "B") == "B"


def test_a_failed_fetch_fails_its_callers_and_the_next_call_fetches_again() -> None:
    reads = FreshReads()
    release = threading.Event()
    calls = 0

    def failing() -> int:
        nonlocal calls
        calls += 1
        release.wait(5)
        raise RuntimeError("provider down")

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(reads.get, "k", failing)
        time.sleep(0.05)
        second = pool.submit(reads.get, "k", failing)  # joins the next fetch
        time.sleep(0.05)
        release.set()
        for future in (first, second):
            with pytest.raises(RuntimeError, match="provider down"):
                future.result(5)
    assert calls == 2
    assert reads.get("k", lambda: 7) == 7


def test_a_sweep_fetches_each_key_once_and_does_not_keep_a_failure() -> None:
    fresh = FreshReads()
    sweep = SweepReads(fresh)
    provider = Provider(delay=0)
    assert sweep.get("jobs", provider.fetch) == 0
    provider.write()
    assert sweep.get("jobs", provider.fetch) == 0  # as old as the sweep
    assert provider.fetches == 1
    assert fresh.get("jobs", provider.fetch) == 1  # a plan outside the sweep sees it

    def down() -> int:
        raise RuntimeError("down")

    with pytest.raises(RuntimeError):
        sweep.get("queues", down)
    assert sweep.get("queues", lambda: 3) == 3
