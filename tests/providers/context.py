"""The ``ObserveContext`` every driver test hands its driver: earlier kinds' answers, the
last apply's records, and shared reads that simply fetch (one observation alone)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from vibn.providers.base import Observed, Recorded

T = TypeVar("T")


@dataclass
class Ctx:
    seen: dict[str, list[Observed]] = field(default_factory=dict)
    records: dict[str, list[Recorded]] = field(default_factory=dict)

    def observed(self, kind: str) -> Sequence[Observed]:
        return self.seen.get(kind, [])

    def recorded(self, kind: str) -> Sequence[Recorded]:
        return self.records.get(kind, [])

    def shared(self, key: Hashable, fetch: Callable[[], T]) -> T:
        return fetch()
