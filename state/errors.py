"""Typed state-store errors, worded for the person at the terminal.

The CLI and the API print these as they are, so each message says what happened and,
where there is one, what to do about it. Nothing here ever carries a secret value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal


class StateError(Exception):
    """The state store cannot do what was asked (the base of every error here)."""


class StackNotFound(StateError):
    """No stack of that name in that workspace."""

    def __init__(self, workspace: str, name: str) -> None:
        self.workspace = workspace
        self.name = name
        super().__init__(f"stack {workspace}/{name} does not exist")


class RevisionConflict(StateError):
    """The stack moved on since the caller read it (optimistic concurrency)."""

    def __init__(self, workspace: str, name: str, expected: int, actual: int) -> None:
        self.workspace = workspace
        self.name = name
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stack {workspace}/{name} is at revision {actual}, not {expected}: "
            "someone else changed it; read it again and retry"
        )


class LeaseHeld(StateError):
    """Another holder owns a live lease on the key."""

    def __init__(self, key: str, holder: str, acquired_at: datetime, expires_at: datetime) -> None:
        self.key = key
        self.holder = holder
        self.acquired_at = acquired_at
        self.expires_at = expires_at
        since = _zulu(acquired_at)
        until = _zulu(expires_at)
        if since[:10] == until[:10]:
            until = until[11:]
        super().__init__(
            f"{_subject(key)} is locked by {holder} since {since} (lease expires {until})"
        )


def _subject(key: str) -> str:
    """``stack:default/mysaas`` reads as ``stack default/mysaas``."""
    kind, sep, rest = key.partition(":")
    return f"{kind} {rest}" if sep and kind and rest else key


def _zulu(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class InsufficientFunds(StateError):
    """A debit the workspace's float cannot cover."""

    def __init__(self, workspace: str, balance: Decimal, needed: Decimal) -> None:
        super().__init__(
            f"workspace {workspace}'s float is {balance} CAD; this needs {needed} CAD. "
            f"Credit it first (vibn float credit --workspace {workspace} AMOUNT)"
        )
        self.workspace = workspace
        self.balance = balance
        self.needed = needed
