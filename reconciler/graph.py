"""The compiled form of a stack: resources with stable addresses, and the edges between them.

Props may hold *expressions* — a ``Ref`` to another resource's output, or a ``Digest`` of
other values — that are resolved only once the values they need are known (at plan time
for resources that already exist, at apply time for the rest). Everything here is plain
data with no I/O, so the planner can be tested without a provider in sight.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from vibn.specs.values import Sensitive


class _Unknown:
    """A value that will only be known after apply."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "(known after apply)"

    def __str__(self) -> str:
        return "(known after apply)"


UNKNOWN = _Unknown()

#: address -> outputs, or None when the address's outputs are not known yet
OutputLookup = Callable[[str], Mapping[str, Any] | None]
Fingerprint = Callable[[Sensitive], str]


@dataclass(frozen=True)
class Ref:
    """``${address.output}``: another resource's output."""

    address: str
    output: str

    def __str__(self) -> str:
        return f"${{{self.address}.{self.output}}}"

    def resolve(self, lookup: OutputLookup, fingerprint: Fingerprint) -> Any:
        outputs = lookup(self.address)
        if outputs is None or self.output not in outputs:
            return UNKNOWN
        return outputs[self.output]

    def refs(self) -> Iterator[Ref]:
        yield self


@dataclass(frozen=True)
class Digest:
    """A short hash of other values (refs allowed): changes whenever any of them does.

    Sensitive values enter only through their keyed fingerprint, so the digest reveals
    nothing that a plan may not show.
    """

    parts: tuple[Any, ...]

    def __str__(self) -> str:
        return "digest(...)"

    def resolve(self, lookup: OutputLookup, fingerprint: Fingerprint) -> Any:
        resolved = resolve(list(self.parts), lookup, fingerprint)
        if contains_unknown(resolved):
            return UNKNOWN
        text = json.dumps(_hashable(resolved, fingerprint), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def refs(self) -> Iterator[Ref]:
        for part in self.parts:
            yield from find_refs(part)


def _hashable(value: Any, fingerprint: Fingerprint) -> Any:
    if isinstance(value, Sensitive):
        return fingerprint(value)
    if isinstance(value, dict):
        return {k: _hashable(v, fingerprint) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_hashable(v, fingerprint) for v in value]
    return value


@dataclass(frozen=True)
class Join:
    """Text made of literal parts and refs: ``Join((Ref("app.web-1", "fqdn"), "/tasks"))``."""

    parts: tuple[Any, ...]

    def __str__(self) -> str:
        return "".join(str(p) for p in self.parts)

    def resolve(self, lookup: OutputLookup, fingerprint: Fingerprint) -> Any:
        values = [resolve(p, lookup, fingerprint) for p in self.parts]
        if any(v is UNKNOWN or v is None for v in values):
            return UNKNOWN
        return "".join(str(v) for v in values)

    def refs(self) -> Iterator[Ref]:
        for part in self.parts:
            yield from find_refs(part)


#: named pure functions a ``Derive`` may apply; registered by the compile modules
DERIVATIONS: dict[str, Callable[..., Any]] = {}


@dataclass(frozen=True)
class Derive:
    """A value computed by a registered pure function from other values (refs allowed),
    e.g. the DKIM CNAME records made from an SES identity's tokens. The function is
    named, not held, so the expression stays plain data."""

    function: str
    parts: tuple[Any, ...]

    def __str__(self) -> str:
        return f"{self.function}(...)"

    def resolve(self, lookup: OutputLookup, fingerprint: Fingerprint) -> Any:
        values = [resolve(p, lookup, fingerprint) for p in self.parts]
        if any(contains_unknown(v) for v in values):
            return UNKNOWN
        return DERIVATIONS[self.function](*values)

    def refs(self) -> Iterator[Ref]:
        for part in self.parts:
            yield from find_refs(part)


Expr = Ref | Digest | Join | Derive


def resolve(value: Any, lookup: OutputLookup, fingerprint: Fingerprint) -> Any:
    """``value`` with every expression replaced by its value (or UNKNOWN)."""
    if isinstance(value, Ref | Digest | Join | Derive):
        return value.resolve(lookup, fingerprint)
    if isinstance(value, Mapping):
        return {k: resolve(v, lookup, fingerprint) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve(v, lookup, fingerprint) for v in value]
    return value


def find_refs(value: Any) -> Iterator[Ref]:
    if isinstance(value, Ref | Digest | Join | Derive):
        yield from value.refs()
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from find_refs(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from find_refs(v)


def contains_unknown(value: Any) -> bool:
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


@dataclass(frozen=True)
class Resource:
    """One desired resource: a stable address, a kind (which driver), and its props."""

    address: str
    kind: str
    props: Mapping[str, Any]
    section: str
    depends_on: frozenset[str] = frozenset()
    #: a workspace-wide object (owner stack ``-``): created or updated by any stack that
    #: needs it, deleted by none
    shared: bool = False

    def dependencies(self) -> frozenset[str]:
        """Explicit dependencies plus every address its props refer to."""
        return self.depends_on | {r.address for r in find_refs(self.props)}


@dataclass
class Graph:
    """The resources of one stack, keyed by address, in a deterministic order."""

    workspace: str
    stack: str
    resources: dict[str, Resource] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, resource: Resource) -> None:
        if resource.address in self.resources:
            raise ValueError(f"duplicate address {resource.address}")
        self.resources[resource.address] = resource

    def order(self) -> list[str]:
        """Addresses in dependency order (parents first), ties broken by address."""
        deps = {a: r.dependencies() & self.resources.keys() for a, r in self.resources.items()}
        done: list[str] = []
        placed: set[str] = set()
        pending = sorted(self.resources)
        while pending:
            ready = [a for a in pending if deps[a] <= placed]
            if not ready:
                raise ValueError(f"dependency cycle among {', '.join(pending)}")
            done.extend(ready)
            placed.update(ready)
            pending = [a for a in pending if a not in placed]
        return done
