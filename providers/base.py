"""The driver protocol every provider implements, and the objects it trades in.

A driver is small on purpose (STYLE.md point 4): observe what exists, create, update,
delete, and say which fields force a replacement. The reconciler owns ordering,
journaling, rollback and reference resolution; a driver owns one wire conversation.

Three model families meet here: the *desired* resource (props already resolved, secrets
as ``Sensitive``), the *observed* object (what the provider holds, normalised into the
same shape as desired props so that a plain comparison is the diff) and the *recorded*
resource (what the state store remembers; only drivers of write-only things such as
deployments read it).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from vibn.specs.values import Condition

T = TypeVar("T")

MARK_PREFIX = "vibn:"
#: the stack name in the ownership marks of a workspace-wide object (the workspace bucket,
#: the workspace log bucket): every stack of the workspace sees it, none deletes it
SHARED = "-"


@dataclass(frozen=True)
class Owner:
    """Ownership marks every provider object vibn creates carries."""

    workspace: str
    stack: str
    address: str

    def marker(self) -> str:
        """A text mark for providers without labels (Coolify descriptions)."""
        return f"{MARK_PREFIX}{self.workspace}/{self.stack}/{self.address}"

    def labels(self) -> dict[str, str]:
        """GCP-style labels: lowercase, [a-z0-9_-], at most 63 characters each."""
        return {
            "vibn-workspace": _label(self.workspace),
            "vibn-stack": _label(self.stack),
            "vibn-address": _label(self.address),
        }

    @classmethod
    def from_marker(cls, text: str | None) -> Owner | None:
        """The owner named by a mark found anywhere in ``text`` (None when absent)."""
        if not text:
            return None
        at = text.find(MARK_PREFIX)
        if at < 0:
            return None
        token = text[at + len(MARK_PREFIX) :].split()[0] if text[at + len(MARK_PREFIX) :] else ""
        parts = token.split("/", 2)
        if len(parts) != 3 or not all(parts):
            return None
        return cls(parts[0], parts[1], parts[2])


def _label(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value.lower())[:63]


@dataclass(frozen=True)
class Scope:
    """What one observation covers: a workspace, and the stacks of it being reconciled."""

    workspace: str
    stacks: frozenset[str]


@dataclass(frozen=True)
class Desired:
    """A resource as the stack wants it, references resolved, ready for a provider call."""

    address: str
    kind: str
    owner: Owner
    props: Mapping[str, Any]


@dataclass(frozen=True)
class Observed:
    """An object as the provider holds it.

    ``props`` uses the same keys and shapes as the desired props of its kind, so the
    planner's diff is a plain comparison. ``outputs`` are values other resources may
    reference (uuids, URLs, name servers); sensitive ones are ``Sensitive``.
    """

    address: str
    kind: str
    provider_id: str
    owner: Owner
    props: Mapping[str, Any]
    outputs: Mapping[str, Any] = field(default_factory=dict)
    conditions: tuple[Condition, ...] = ()


@dataclass(frozen=True)
class Recorded:
    """What the state store remembers of a resource from the last apply."""

    address: str
    kind: str
    provider_id: str | None
    props: Mapping[str, Any]
    outputs: Mapping[str, Any]
    conditions: tuple[Condition, ...] = ()
    stack: str = ""


class ObserveContext(Protocol):
    """What a driver may consult while observing: its parents and the records."""

    def observed(self, kind: str) -> Sequence[Observed]:
        """Objects of an earlier-observed kind (e.g. applications, for their env vars)."""
        ...

    def recorded(self, kind: str) -> Sequence[Recorded]:
        """Resources of this kind as recorded by the last apply, for every stack in scope."""
        ...

    def shared(self, key: Hashable, fetch: Callable[[], T]) -> T:
        """``fetch()``'s answer, shared with other observations asking for the same
        ``key`` at the same time (or in the same daemon sweep). For lists that cannot be
        narrowed to one workspace: ``fetch`` lists the provider's objects and indexes
        them by workspace; the answer is shared, so it must not be changed."""
        ...


class Driver(Protocol):
    """One resource kind of one provider."""

    kind: ClassVar[str]
    #: props whose change cannot be made in place: the planner replaces instead
    replace_fields: ClassVar[frozenset[str]]
    #: deleting it loses user data: needs explicit confirmation
    data_bearing: ClassVar[bool]
    #: kinds whose observation this one needs first (parents)
    observe_after: ClassVar[tuple[str, ...]]

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        """Every object of this kind owned by the scope's stacks, in as few calls as the
        API allows (one list per kind and workspace where it can)."""
        ...

    def create(self, desired: Desired) -> Observed: ...

    def update(self, desired: Desired, current: Observed) -> Observed: ...

    def delete(self, current: Observed) -> None: ...
