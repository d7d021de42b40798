"""Value types shared by every layer: sensitive strings and status conditions.

They live in ``specs`` (the bottom layer) because the planner, the drivers and the
state store all pass them around: a ``Sensitive`` must survive the whole trip from a
secret reference to a provider call without ever being printed, logged or stored in
clear text.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

MASK = "(sensitive)"


@dataclass(frozen=True, eq=True)
class Sensitive:
    """A secret string. Its repr and str never show the value; compare with ``==``."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Sensitive(***)"

    def __str__(self) -> str:
        return MASK

    def fingerprint(self, key: bytes) -> str:
        """A keyed digest: lets a saved plan notice a changed secret without holding it."""
        return "hmac-sha256:" + hmac.new(key, self.value.encode(), hashlib.sha256).hexdigest()[:32]


def reveal(value: Any) -> Any:
    """The clear value of a (possibly nested) structure, for the one call that needs it."""
    if isinstance(value, Sensitive):
        return value.value
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def mask(value: Any) -> Any:
    """The same structure with every sensitive leaf replaced by ``(sensitive)``."""
    if isinstance(value, Sensitive):
        return MASK
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


ConditionStatus = Literal["True", "False", "Unknown"]


@dataclass(frozen=True)
class Condition:
    """A Kubernetes-style status condition: ``Ready=False, reason=Deploying``."""

    type: str
    status: ConditionStatus
    reason: str = ""
    message: str = ""
    last_transition: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def to_dict(self) -> dict[str, str]:
        return {
            "type": self.type,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
            "last_transition": self.last_transition,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Condition:
        return cls(
            type=str(data["type"]),
            status=data.get("status", "Unknown"),
            reason=str(data.get("reason", "")),
            message=str(data.get("message", "")),
            last_transition=str(data.get("last_transition", "")),
        )
