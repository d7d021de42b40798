"""Per-workspace quotas, checked when a stack is planned so nothing over them is stored.

What a workspace holds is counted from the store — the resources recorded by earlier
applies of its other stacks — plus what this stack would hold once its plan is applied
(its compiled graph). Stacks that were submitted but never applied hold
nothing yet; the stack count counts them all. A refusal lists every quota exceeded,
each at the document path that asks for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from vibn.reconciler.plan import Planned
from vibn.state import Store

from .problems import ApiProblem
from .settings import Quotas


@dataclass(frozen=True)
class Held:
    """One counted thing: its quota and what identifies it across stacks."""

    quota: str
    identity: str


#: quota -> (document path to point at, what it counts)
QUOTA_PATHS: dict[str, tuple[str, str]] = {
    "apps": ("spec.app.services", "applications (one per service replica)"),
    "databases": ("spec.databases", "databases"),
    "buckets": ("spec.storage", "storage buckets"),
    "domains": ("spec.domain", "domains"),
}


def _category(kind: str) -> str | None:
    if kind == "coolify.application":
        return "apps"
    if kind == "coolify.database":
        return "databases"
    if kind == "gcp.bucket":
        return "buckets"
    if kind == "gcp.dns_zone":  # one zone per domain, registered or brought
        return "domains"
    return None


def _held(stack: str, address: str, kind: str, name: object) -> Held | None:
    quota = _category(kind)
    if quota is None:
        return None
    # stacks of a workspace share its default bucket: count a bucket by its name
    shared = quota == "buckets" and isinstance(name, str) and name
    return Held(quota, f"name:{name}" if shared else f"{stack}/{address}")


def _count(held: Iterable[Held | None]) -> dict[str, int]:
    seen = {h for h in held if h is not None}
    return {quota: sum(1 for h in seen if h.quota == quota) for quota in QUOTA_PATHS}


def check_quotas(store: Store, quotas: Quotas, planned: Planned, *, new_stack: bool) -> None:
    """Raise a 422 problem naming every quota ``planned`` would take the workspace past."""
    workspace, name = planned.plan.workspace, planned.plan.stack
    others = [s for s in store.list_stacks(workspace) if s.name != name and s.status != "destroyed"]
    recorded = store.resources_of_kind(workspace, [s.name for s in others], None)
    held = [
        _held(stack, r.address, r.kind, r.props.get("name"))
        for stack, records in recorded.items()
        for r in records
    ]
    held += [
        _held(name, r.address, r.kind, r.props.get("name"))
        for r in planned.graph.resources.values()
    ]
    counts = _count(held)
    errors: list[dict[str, object]] = []
    if new_stack and len(others) + 1 > quotas.stacks:
        errors.append(
            {
                "path": "metadata.name",
                "message": f"workspace {workspace!r} already has {len(others)} stacks; "
                f"its quota is {quotas.stacks}",
                "quota": "stacks",
            }
        )
    for quota, (path, what) in QUOTA_PATHS.items():
        limit = getattr(quotas, quota)
        if counts[quota] > limit:
            errors.append(
                {
                    "path": path,
                    "message": f"the workspace would hold {counts[quota]} {what}; "
                    f"its quota is {limit}",
                    "quota": quota,
                }
            )
    errors += _spend(store, quotas, planned)
    if errors:
        raise ApiProblem(
            422,
            "quota-exceeded",
            f"this stack would take workspace {workspace!r} past "
            f"{len(errors)} quota{'s' if len(errors) != 1 else ''}",
            title="Quota exceeded",
            hint="Shrink the stack (or destroy another one) and PUT it again, or ask the "
            "operator to raise the quota ([quotas] in vibn.toml).",
            errors=errors,
        )


def spent_this_month(store: Store, workspace: str, now: datetime | None = None) -> Decimal:
    """CAD spent on purchases since the first of this month (UTC), refunds deducted;
    top-ups of the float are not spending."""
    now = now or datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    total = Decimal("0")
    for entry in store.ledger_entries(workspace):
        at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=UTC)
        if at < start:
            continue
        if entry.amount < 0 or entry.idempotency_key.startswith("domain:"):
            total -= entry.amount
    return total


def _spend(store: Store, quotas: Quotas, planned: Planned) -> list[dict[str, object]]:
    """The monthly-spend quota: this month's purchases plus what the plan would buy."""
    buying = sum(
        (Decimal(c["amount"]) for c in planned.plan.charges if not c.get("already_paid")),
        Decimal("0"),
    )
    if not buying:
        return []
    spent = spent_this_month(store, planned.plan.workspace)
    limit = Decimal(str(quotas.monthly_spend))
    if spent + buying <= limit:
        return []
    return [
        {
            "path": "spec.domain",
            "message": f"this plan buys {buying} CAD and the workspace spent {spent} CAD this "
            f"month; its monthly spending quota is {limit} CAD",
            "quota": "monthly_spend",
        }
    ]
