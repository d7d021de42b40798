"""Plans as data: what must happen to make the providers match the stack, and why.

``make_plan`` is a pure function of (graph, observed objects, recorded resources, driver
facts): it decides create / update / replace / delete / noop per address, resolves the
references it can, and returns a ``Plan`` whose JSON form is stable and versioned. Apply
consumes a plan, never a spec (STYLE.md point 5); ``reason`` is for humans only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from vibn.providers.base import SHARED, Observed, Recorded
from vibn.specs.values import Sensitive

from .diff import FieldChange, diff
from .graph import UNKNOWN, Fingerprint, Graph, Resource, resolve

FORMAT_VERSION = 1

#: outputs that an in-place update never changes; others are unknown until it is done
STABLE_OUTPUTS = frozenset({"uuid", "id", "name"})


class ActionType(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    #: stop managing an object and keep it (a registered domain is never cancelled)
    DETACH = "detach"
    NOOP = "noop"


@dataclass(frozen=True)
class KindFacts:
    """What the planner must know of a kind's driver."""

    replace_fields: frozenset[str]
    data_bearing: bool
    #: never deleted by vibn: dropping it from the stack detaches it (a paid domain)
    retained: bool = False


@dataclass
class Action:
    address: str
    kind: str
    action: ActionType
    section: str
    changes: list[FieldChange] = field(default_factory=list)
    reason: str = ""
    provider_id: str | None = None
    depends_on: list[str] = field(default_factory=list)
    data_bearing: bool = False

    @property
    def requires_confirmation(self) -> bool:
        return self.data_bearing and self.action in (ActionType.DELETE, ActionType.REPLACE)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "action": self.action.value,
            "section": self.section,
            "provider_id": self.provider_id,
            "reason": self.reason,
            "depends_on": self.depends_on,
            "data_bearing": self.data_bearing,
            "requires_confirmation": self.requires_confirmation,
            "changes": [c.to_json() for c in self.changes],
        }


@dataclass
class Plan:
    workspace: str
    stack: str
    mode: Literal["apply", "destroy"]
    document: dict[str, Any]
    document_digest: str
    actions: list[Action]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lineage: str | None = None
    content_digest: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    #: purchases the plan implies (``Charge.to_json``) and the float they draw on
    charges: list[dict[str, Any]] = field(default_factory=list)
    float_balance: str | None = None

    @property
    def plan_id(self) -> str:
        return self.content_digest[:16]

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in ActionType}
        for action in self.actions:
            counts[action.action.value] += 1
        return counts

    @property
    def has_changes(self) -> bool:
        return any(a.action is not ActionType.NOOP for a in self.actions)

    def confirmations_needed(self) -> list[Action]:
        return [a for a in self.actions if a.requires_confirmation]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "plan_id": self.plan_id,
            "created_at": self.created_at,
            "mode": self.mode,
            "stack": {
                "workspace": self.workspace,
                "name": self.stack,
                "document_digest": self.document_digest,
                "lineage": self.lineage,
            },
            "summary": self.summary(),
            "actions": [a.to_json() for a in self.actions],
            "warnings": self.warnings,
            "errors": self.errors,
            **(
                {"charges": self.charges, "float_balance": self.float_balance}
                if self.charges
                else {}
            ),
            "content_digest": self.content_digest,
            "document": self.document,
        }


def _fp_value(value: Any, sensitive: bool, fingerprint: Fingerprint) -> Any:
    if value is UNKNOWN:
        return "(known after apply)"
    if isinstance(value, Sensitive):
        return fingerprint(value)
    if sensitive and value is not None:
        return fingerprint(Sensitive(json.dumps(value, sort_keys=True, default=str)))
    if isinstance(value, Mapping):
        return {k: _fp_value(v, False, fingerprint) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_fp_value(v, False, fingerprint) for v in value]
    return value


def content_digest(
    mode: str, document_digest: str, actions: Sequence[Action], fingerprint: Fingerprint
) -> str:
    """What makes two plans the same plan: the actions, their changes, and the document.

    Sensitive values enter as keyed fingerprints, so a plan made before a secret changed
    does not match one made after.
    """
    body = {
        "mode": mode,
        "document": document_digest,
        "actions": [
            [
                a.address,
                a.kind,
                a.action.value,
                a.provider_id,
                [
                    [
                        c.op,
                        c.path,
                        _fp_value(c.old, c.sensitive, fingerprint),
                        _fp_value(c.new, c.sensitive, fingerprint),
                    ]
                    for c in a.changes
                ],
            ]
            for a in actions
        ],
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class Planned:
    """A plan plus what apply needs in memory: the graph and the objects it acts on."""

    plan: Plan
    graph: Graph
    current: dict[int, Observed]  # action index -> the object it acts on
    observed_outputs: dict[str, Mapping[str, Any]]
    #: address -> what applying it costs (``payments.Charge``), filled by the engine
    charges: dict[str, Any] = field(default_factory=dict)


def _secret_paths(recorded: Recorded | None) -> frozenset[str]:
    """Nested keys whose recorded values were sensitive (e.g. ``vars.STRIPE_KEY``)."""
    if recorded is None:
        return frozenset()
    paths: set[str] = set()

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Sensitive):
            paths.add(prefix)
        elif isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)

    walk("", dict(recorded.props))
    return frozenset(paths)


def make_plan(
    graph: Graph,
    observed: Sequence[Observed],
    recorded: Mapping[str, Recorded],
    facts: Mapping[str, KindFacts],
    *,
    fingerprint: Fingerprint,
    document: dict[str, Any],
    document_digest: str,
    mode: Literal["apply", "destroy"] = "apply",
    rank: Mapping[str, int] | None = None,
    lineage: str | None = None,
) -> Planned:
    """Decide, per address, what apply must do. Pure: no I/O."""
    rank = rank or {}
    by_address: dict[str, list[Observed]] = {}
    for obj in observed:
        by_address.setdefault(obj.address, []).append(obj)

    actions: list[Action] = []
    current: dict[int, Observed] = {}
    decided: dict[str, ActionType] = {}
    outputs: dict[str, Mapping[str, Any]] = {}
    errors = list(graph.errors)
    warnings = list(graph.warnings)
    deletes: list[tuple[Action, Observed]] = []

    def lookup(address: str) -> Mapping[str, Any] | None:
        action = decided.get(address)
        obs = outputs.get(address)
        if obs is None or action in (ActionType.CREATE, ActionType.REPLACE, None):
            return None
        if action is ActionType.UPDATE:
            return {k: v for k, v in obs.items() if k in STABLE_OUTPUTS}
        return obs

    missing_kinds: dict[str, list[str]] = {}
    for address in graph.order():
        res = graph.resources[address]
        kind_facts = facts.get(res.kind)
        if kind_facts is None:
            missing_kinds.setdefault(res.section, []).append(address)
        candidates = by_address.pop(address, [])
        rec = recorded.get(address)
        chosen, extras = _choose(candidates, rec)
        action = _decide(res, chosen, rec, kind_facts, lookup, fingerprint)
        if chosen is not None:
            current[len(actions)] = chosen
            outputs[address] = chosen.outputs
        decided[address] = action.action
        actions.append(action)
        for extra in extras:
            if kind_facts is not None and kind_facts.retained:
                continue
            deletes.append(
                (
                    Action(
                        address,
                        extra.kind,
                        ActionType.DELETE,
                        res.section,
                        reason="duplicate carrying this address (left by an interrupted apply)",
                        provider_id=extra.provider_id,
                        data_bearing=bool(kind_facts and kind_facts.data_bearing),
                    ),
                    extra,
                )
            )

    for address in sorted(by_address):
        for obj in by_address[address]:
            if obj.owner.stack == SHARED:
                if mode == "destroy":
                    warnings.append(
                        f"{address} is shared by every stack of workspace {graph.workspace} "
                        "and is kept"
                    )
                continue
            kind_facts = facts.get(obj.kind)
            if kind_facts is not None and kind_facts.retained:
                deletes.append(
                    (
                        Action(
                            address,
                            obj.kind,
                            ActionType.DETACH,
                            _section_of(address),
                            reason="kept: vibn never cancels it; it stays with the workspace "
                            "and the stack stops managing it",
                            provider_id=obj.provider_id,
                        ),
                        obj,
                    )
                )
                continue
            deletes.append(
                (
                    Action(
                        address,
                        obj.kind,
                        ActionType.DELETE,
                        _section_of(address),
                        reason="no longer in the stack"
                        if mode == "apply"
                        else "destroying the stack",
                        provider_id=obj.provider_id,
                        data_bearing=bool(kind_facts and kind_facts.data_bearing),
                    ),
                    obj,
                )
            )

    deletes.sort(key=lambda pair: (-rank.get(pair[0].kind, 0), pair[0].address))
    for action, obj in deletes:
        current[len(actions)] = obj
        actions.append(action)

    for section, addresses in sorted(missing_kinds.items()):
        errors.append(
            f"spec.{section}: vibn has no provider driver for this section yet "
            f"({', '.join(addresses)}); remove the section or wait for its provider"
        )

    plan = Plan(
        workspace=graph.workspace,
        stack=graph.stack,
        mode=mode,
        document=document,
        document_digest=document_digest,
        actions=actions,
        warnings=warnings,
        errors=errors,
        lineage=lineage,
    )
    plan.content_digest = content_digest(mode, document_digest, actions, fingerprint)
    observed_outputs: dict[str, Mapping[str, Any]] = {a: dict(o) for a, o in outputs.items()}
    return Planned(plan, graph, current, observed_outputs)


def _section_of(address: str) -> str:
    head = address.split(".", 1)[0]
    return {"app": "app", "project": "app", "database": "databases"}.get(head, head)


def _choose(
    candidates: list[Observed], recorded: Recorded | None
) -> tuple[Observed | None, list[Observed]]:
    """The object that *is* this address, and any duplicates to clean up."""
    if not candidates:
        return None, []
    if recorded is not None and recorded.provider_id:
        for i, obj in enumerate(candidates):
            if obj.provider_id == recorded.provider_id:
                return obj, candidates[:i] + candidates[i + 1 :]
    ordered = sorted(candidates, key=lambda o: o.provider_id)
    return ordered[0], ordered[1:]


def _decide(
    res: Resource,
    chosen: Observed | None,
    rec: Recorded | None,
    kind_facts: KindFacts | None,
    lookup: Any,
    fingerprint: Fingerprint,
) -> Action:
    deps = sorted(res.dependencies())
    data_bearing = bool(kind_facts and kind_facts.data_bearing)
    props = resolve(res.props, lookup, fingerprint)
    if chosen is None:
        reason = "not found at the provider; was deleted outside vibn" if rec else ""
        changes = [
            FieldChange("add", k, None, v, isinstance(v, Sensitive)) for k, v in props.items()
        ]
        changes = [c for c in changes if c.new is not None]
        return Action(
            res.address,
            res.kind,
            ActionType.CREATE,
            res.section,
            changes,
            reason,
            depends_on=deps,
            data_bearing=data_bearing,
        )
    replace_fields = kind_facts.replace_fields if kind_facts else frozenset()
    changes = diff(props, chosen.props, replace_fields, secret_keys=_secret_paths(rec))
    adopted = rec is None or rec.provider_id != chosen.provider_id
    if not changes:
        reason = "adopting an existing object carrying this stack's marks" if adopted else ""
        return Action(
            res.address,
            res.kind,
            ActionType.NOOP,
            res.section,
            [],
            reason,
            chosen.provider_id,
            deps,
            data_bearing,
        )
    forced = sorted({c.path.split(".")[0] for c in changes if c.forces_replacement})
    if forced:
        return Action(
            res.address,
            res.kind,
            ActionType.REPLACE,
            res.section,
            changes,
            f"{', '.join(forced)} cannot change in place",
            chosen.provider_id,
            deps,
            data_bearing,
        )
    reason = ""
    if rec is not None and not adopted and not diff(props, rec.props):
        reason = "drifted: changed outside vibn since the last apply"
    return Action(
        res.address,
        res.kind,
        ActionType.UPDATE,
        res.section,
        changes,
        reason,
        chosen.provider_id,
        deps,
        data_bearing,
    )
