"""Provider-wide lists, read once for everyone who needs them at the same time.

Some lists cannot be narrowed to one workspace: Google's Scheduler jobs, Tasks queues,
log buckets and sinks, Coolify's projects and databases come back for the whole project
or server, every workspace's objects in one answer. A plan for one stack would pay for
the whole platform's objects — pages of them — and a hundred agents planning at once
would each fetch and parse the same pages. So drivers read those lists through
``ObserveContext.shared(key, fetch)``, where ``fetch`` lists and indexes by workspace,
and the observation hands the call to one of these:

- ``FreshReads`` (every plan): concurrent callers of one key share ONE fetch that began
  after each of them asked, so no caller gets an answer older than its own call — a
  plan sees everything applied before it started, exactly as if it had listed alone.
  At most two fetches of a key are under way at any time (one running, one gathering
  the callers that arrived meanwhile), however many plans wait.
- ``SweepReads`` (a daemon sweep): each key is fetched once for the whole sweep and
  reused by every workspace the sweep visits. Its answers may be as old as the sweep,
  which is fine for finding drift; the daemon re-plans on a fresh look before it
  corrects anything.

Answers are shared between threads: drivers must treat them as read-only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Reads(Protocol):
    def get(self, key: Hashable, fetch: Callable[[], T]) -> T:
        """``fetch()``'s answer for ``key``, perhaps shared with other callers."""
        ...


@dataclass
class _Slot:
    #: the fetch started last (running, or done)
    current: Future[Any] | None = None
    #: the callers that arrived while ``current`` ran, waiting to start the next fetch
    pending: Future[Any] | None = None


@dataclass
class FreshReads:
    """Coalesce concurrent reads of a key, never answering with a fetch that began
    before the caller asked."""

    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: dict[Hashable, _Slot] = field(default_factory=dict)
    #: fetches actually made (for tests and benchmarks)
    fetches: int = 0

    def get(self, key: Hashable, fetch: Callable[[], T]) -> T:
        with self._lock:
            slot = self._slots.setdefault(key, _Slot())
            before = slot.current
            if slot.pending is None and (before is None or before.done()):
                mine: Future[Any] = Future()
                slot.current, before = mine, None  # nothing under way: fetch now
            else:
                # a fetch is under way (it began before we asked) or its waiters are about
                # to start the next one: join the next one
                if slot.pending is None:
                    slot.pending = Future()
                mine = slot.pending
        if before is not None:
            wait([before])
            with self._lock:
                lead = slot.current is before and slot.pending is mine
                if lead:  # the first waiter to wake starts the fetch for all of them
                    slot.current, slot.pending = mine, None
            if not lead:
                answer: T = mine.result()
                return answer
        return self._run(key, mine, fetch)

    def _run(self, key: Hashable, future: Future[Any], fetch: Callable[[], T]) -> T:
        with self._lock:
            self.fetches += 1
        try:
            answer = fetch()
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(answer)
        finally:
            self._forget(key, future)
        return answer

    def _forget(self, key: Hashable, future: Future[Any]) -> None:
        """Drop an idle key, so that no answer outlives its callers here."""
        with self._lock:
            slot = self._slots.get(key)
            if slot is not None and slot.current is future and slot.pending is None:
                del self._slots[key]


@dataclass
class SweepReads:
    """One fetch per key for a whole sweep (through ``fresh``, so a sweep and concurrent
    plans still share)."""

    fresh: FreshReads
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _kept: dict[Hashable, Future[Any]] = field(default_factory=dict)

    def get(self, key: Hashable, fetch: Callable[[], T]) -> T:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                kept = self._kept[key] = Future()
                mine = True
            else:
                mine = False
        if not mine:
            answer: T = kept.result()
            return answer
        try:
            answer = self.fresh.get(key, fetch)
        except BaseException as exc:
            with self._lock:
                del self._kept[key]  # a failed read is not kept: the next workspace retries
            kept.set_exception(exc)
            raise
        kept.set_result(answer)
        return answer
