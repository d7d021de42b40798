"""Retrying transient provider faults the same way for every SDK-backed provider.

Google's clients and boto3 fail differently, but vibn retries both alike: exponential
backoff with jitter, or the server's ``Retry-After`` (capped) when it sends one, for a
bounded number of attempts. Each provider says which faults are transient and where a
``Retry-After`` hides in its exceptions; the policy and the schedule live here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt


@dataclass(frozen=True)
class RetryPolicy:
    """How transient faults are retried; inject ``sleep`` to test without waiting."""

    attempts: int = 4
    initial: float = 0.2
    maximum: float = 5.0
    jitter: float = 1.0
    retry_after_cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep


def retrying(
    policy: RetryPolicy,
    transient: Callable[[BaseException], bool],
    retry_after: Callable[[BaseException | None], float | None],
) -> Retrying:
    """A tenacity ``Retrying`` for ``policy``: retries what ``transient`` accepts, waits
    ``retry_after(exc)`` when the server named a delay, else ``initial * 2**n`` plus
    jitter (capped at ``maximum``), and re-raises the last fault."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        after = retry_after(exc)
        if after is not None:
            return min(after, policy.retry_after_cap)
        backoff = policy.initial * 2.0 ** (state.attempt_number - 1)
        return min(backoff + random.uniform(0.0, policy.jitter), policy.maximum)

    return Retrying(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        sleep=policy.sleep,
        reraise=True,
    )
