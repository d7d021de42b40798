"""The JSON shapes the API answers with, built from records and plans.

Agents read these into a context window, so each view says what matters and links to
the rest: a PUT answers with a compact plan (what changes, not every field), the plan
summary fits in a few hundred bytes, and every stack view carries the links to act on.
Nothing here carries a secret: plans are already masked, outputs are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from vibn.state import ApiKeyRecord, ApplyRecord, AuditEvent, RecordedResource, StackRecord

#: addresses listed in a plan summary before it says "and N more"
SUMMARY_ADDRESSES = 20
#: characters of a plan error kept in a summary
SUMMARY_ERROR_CHARS = 160


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def stack_links(name: str) -> dict[str, str]:
    base = f"/v1/stacks/{name}"
    return {
        "self": base,
        "plan": f"{base}/plan",
        "apply": f"{base}/apply",
        "events": f"{base}/events",
        "revisions": f"{base}/revisions",
    }


def changing(plan: Mapping[str, Any]) -> list[dict[str, str]]:
    return [
        {"address": a["address"], "kind": a["kind"], "action": a["action"]}
        for a in plan.get("actions", [])
        if a["action"] != "noop"
    ]


def compact_plan(plan: Mapping[str, Any]) -> dict[str, Any]:
    """The plan without field diffs: what changes, and whether it can be applied."""
    return {
        "plan_id": plan["plan_id"],
        "mode": plan["mode"],
        "summary": plan["summary"],
        "actions": changing(plan),
        "requires_confirmation": [
            a["address"] for a in plan.get("actions", []) if a.get("requires_confirmation")
        ],
        "warnings": plan.get("warnings", []),
        "errors": plan.get("errors", []),
        **_money(plan),
    }


def _money(plan: Mapping[str, Any]) -> dict[str, Any]:
    """What the plan buys and the float that pays (only for plans that buy)."""
    if not plan.get("charges"):
        return {}
    return {"charges": plan["charges"], "float_balance": plan.get("float_balance")}


def plan_summary(plan: Mapping[str, Any], revision: int) -> dict[str, Any]:
    """A few hundred bytes: counts, the changing addresses and their action, errors."""
    changes = changing(plan)
    summary: dict[str, Any] = {
        "plan_id": plan["plan_id"],
        "revision": revision,
        "counts": {k: v for k, v in plan["summary"].items() if v and k != "noop"},
        "changes": {c["address"]: c["action"] for c in changes[:SUMMARY_ADDRESSES]},
    }
    if len(changes) > SUMMARY_ADDRESSES:
        summary["more_changes"] = len(changes) - SUMMARY_ADDRESSES
    if plan.get("errors"):
        summary["errors"] = [e[:SUMMARY_ERROR_CHARS] for e in plan["errors"]]
    if plan.get("warnings"):
        summary["warnings"] = len(plan["warnings"])
    if plan.get("charges"):
        summary["cost_cad"] = str(sum(Decimal(c["amount"]) for c in plan["charges"]))
        summary["float_balance"] = plan.get("float_balance")
    return summary


def stack_brief(record: StackRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "revision": record.revision,
        "status": record.status,
        "updated_at": _iso(record.updated_at),
        "links": {"self": f"/v1/stacks/{record.name}"},
    }


def apply_view(last: ApplyRecord | None) -> dict[str, Any] | None:
    if last is None:
        return None
    return {
        "id": last.id,
        "kind": last.kind,
        "status": last.status,
        "plan_id": last.plan_id,
        "revision": last.revision,
        "principal": last.principal,
        "started_at": _iso(last.started_at),
        "finished_at": _iso(last.finished_at),
        "error": last.error,
        "summary": last.summary,
    }


def resource_view(resource: RecordedResource) -> dict[str, Any]:
    return {
        "address": resource.address,
        "kind": resource.kind,
        "provider_id": resource.provider_id,
        "conditions": [c.to_dict() for c in resource.conditions],
    }


def stack_view(
    record: StackRecord, resources: list[RecordedResource], last: ApplyRecord | None
) -> dict[str, Any]:
    return {
        "workspace": record.workspace,
        "name": record.name,
        "revision": record.revision,
        "status": record.status,
        "status_message": record.status_message,
        "drift_policy": record.drift_policy,
        "serial": record.serial,
        "created_at": _iso(record.created_at),
        "updated_at": _iso(record.updated_at),
        "document": record.document,
        "resources": [resource_view(r) for r in resources],
        "last_apply": apply_view(last),
        "links": stack_links(record.name),
    }


def key_view(key: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "prefix": key.prefix,
        "workspace": key.workspace,
        "scopes": list(key.scopes),
        "created_at": _iso(key.created_at),
        "expires_at": _iso(key.expires_at),
        "revoked_at": _iso(key.revoked_at),
        "last_used_at": _iso(key.last_used_at),
    }


def audit_view(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": _iso(event.at),
        "principal": event.principal,
        "action": event.action,
        "stack": event.stack,
        "revision": event.revision,
        "result": event.result,
        "detail": event.detail,
    }
