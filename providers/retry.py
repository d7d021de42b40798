"""Retrying transient provider faults the same way for every provider.

Google's clients, boto3, and vibn's own Coolify and OpenSRS clients fail differently,
but vibn retries them all alike: exponential backoff with "equal jitter" (half the step
fixed, half random), or the server's ``Retry-After`` (capped) when it sends one, for a
bounded number of attempts. Each provider says which faults are transient and where a
``Retry-After`` hides in its exceptions, and may choose its own policy values; the
schedule lives here.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

#: vibn's own source of jitter: retries run in worker threads, and drawing from the
#: ``random`` module's shared state there would disturb anyone else relying on it
_JITTER = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """How transient faults are retried; inject ``sleep`` (and ``jitter``) to test
    without waiting (and without chance)."""

    attempts: int = 4
    initial: float = 0.2
    maximum: float = 5.0
    retry_after_cap: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    #: a number in [0, 1]: where in the upper half of the step the wait falls
    jitter: Callable[[], float] = _JITTER.random

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): the server's
        ``retry_after`` (capped), else ``initial * 2**(attempt-1)`` (capped at
        ``maximum``), half of it fixed and half jittered."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.retry_after_cap))
        step = min(self.maximum, self.initial * 2.0 ** (attempt - 1))
        return step / 2 + step / 2 * self.jitter()


def retrying(
    policy: RetryPolicy,
    transient: Callable[[BaseException], bool],
    retry_after: Callable[[BaseException | None], float | None] = lambda _: None,
) -> Retrying:
    """A tenacity ``Retrying`` for ``policy``: retries what ``transient`` accepts, waits
    ``policy.delay`` (with ``retry_after(exc)`` when the server named a delay), and
    re-raises the last fault."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        return policy.delay(state.attempt_number, retry_after(exc))

    return Retrying(
        retry=retry_if_exception(transient),
        stop=stop_after_attempt(max(1, policy.attempts)),
        wait=wait,
        sleep=policy.sleep,
        reraise=True,
    )
