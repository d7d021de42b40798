"""Per-object reads, several at once, for APIs that have no bulk read of what vibn needs.

Coolify has no bulk env-var read, SES none of identities, OpenSRS none of domain details:
those reads grow with the stacks a sweep holds. Their number cannot shrink, but their
wall time can: ``read_each`` runs them ``READ_PARALLELISM`` at a time. Only clients that
are safe to share between threads (httpx, boto3) may be used this way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

READ_PARALLELISM = 8


def read_each(read: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """``read`` of every item, ``READ_PARALLELISM`` at a time, answers in item order."""
    with ThreadPoolExecutor(max_workers=READ_PARALLELISM) as pool:
        return list(pool.map(read, items))
