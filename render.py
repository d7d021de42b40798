"""Human renderings of plans, status and apply progress, for the terminal.

Machine output (``--json``) never comes through here: it is the plan's or status's own
JSON, printed alone on stdout. Colour is rich's markup, shown only on a terminal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rich.console import Console
from rich.markup import escape

from vibn.reconciler.apply import StepEvent

SYMBOL = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "replace": ("-/+", "magenta"),
    "delete": ("-", "red"),
    "detach": ("=", "cyan"),
    "noop": (" ", "dim"),
}


def _value(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value) if value not in ("(sensitive)", "(known after apply)") else value
    return json.dumps(value, sort_keys=True, default=str)


def render_plan(plan: Mapping[str, Any], console: Console, *, show_noop: bool = False) -> None:
    stack = plan["stack"]
    where = f"{stack['workspace']}/{stack['name']}"
    actions: Sequence[Mapping[str, Any]] = plan["actions"]
    changing = [a for a in actions if a["action"] != "noop"]
    if not changing:
        console.print(f"[green]No changes.[/] Stack {where} matches its document.")
    else:
        verb = "destroy" if plan["mode"] == "destroy" else "apply"
        console.print(f"vibn will {verb} these changes on stack [bold]{where}[/]:\n")
    for action in actions:
        kind = action["action"]
        if kind == "noop" and not show_noop:
            continue
        symbol, colour = SYMBOL[kind]
        reason = f"  [dim]# {escape(action['reason'])}[/]" if action.get("reason") else ""
        console.print(
            f"  [{colour}]{escape(symbol)} {escape(action['address'])}[/] "
            f"[dim]({action['kind']})[/]{reason}"
        )
        for change in action.get("changes", []):
            path = escape(change["path"])
            mark = " [magenta](forces replacement)[/]" if change.get("forces_replacement") else ""
            if kind == "create" and isinstance(change["new"], dict) and change["new"]:
                console.print(f"      {path}:")
                for key, value in change["new"].items():
                    console.print(f"        {escape(str(key))}: {escape(_value(value))}")
            elif kind == "create":
                console.print(f"      {path}: {escape(_value(change['new']))}")
            elif change["op"] == "add":
                console.print(f"      [green]+ {path}[/]: {escape(_value(change['new']))}{mark}")
            elif change["op"] == "remove":
                console.print(f"      [red]- {path}[/]: {escape(_value(change['old']))}{mark}")
            else:
                console.print(
                    f"      [yellow]~ {path}[/]: {escape(_value(change['old']))} -> "
                    f"{escape(_value(change['new']))}{mark}"
                )
        if action.get("requires_confirmation"):
            console.print(
                "      [bold red]! deletes data: needs --confirm " + escape(stack["name"]) + "[/]"
            )
    s = plan["summary"]
    detach = f", {s['detach']} to detach and keep" if s.get("detach") else ""
    console.print(
        f"\nPlan {plan['plan_id']}: {s['create']} to create, {s['update']} to update, "
        f"{s['replace']} to replace, {s['delete']} to delete{detach}, {s['noop']} unchanged."
    )
    for charge in plan.get("charges", []):
        paid = " [dim](already paid)[/]" if charge.get("already_paid") else ""
        console.print(
            f"[bold]Cost:[/] {escape(charge['what'])}: {charge['amount']} "
            f"{charge['currency']}{paid}"
        )
    if plan.get("charges"):
        console.print(f"[bold]Workspace float:[/] {plan.get('float_balance')} CAD")
    for warning in plan.get("warnings", []):
        console.print(f"[yellow]Warning:[/] {escape(warning)}")
    for error in plan.get("errors", []):
        console.print(f"[red]Error:[/] {escape(error)}")


def render_status(status: Mapping[str, Any], console: Console) -> None:
    console.print(
        f"Stack [bold]{status['workspace']}/{status['name']}[/]  revision {status['revision']}  "
        f"status [bold]{status['status']}[/]"
        + (f"  ({escape(status['status_message'])})" if status.get("status_message") else "")
    )
    last = status.get("last_apply")
    if last:
        console.print(
            f"Last {last['kind']}: {last['status']} at {last['finished_at'] or last['started_at']}"
            + (f" — {escape(last['error'])}" if last.get("error") else "")
        )
    console.print()
    for res in status["resources"]:
        conds = ", ".join(
            f"{c['type']}={c['status']}" + (f" ({c['reason']})" if c.get("reason") else "")
            for c in res["conditions"]
        )
        console.print(
            f"  {escape(res['address']):<28} {res['kind']:<20} "
            f"{escape(str(res['provider_id'] or '-')):<26} {escape(conds)}"
        )


class Progress:
    """Each action's state as it runs: one line per event, on stderr."""

    PHASE: ClassVar[dict[str, tuple[str, str]]] = {
        "started": ("…", "cyan"),
        "succeeded": ("✓", "green"),
        "failed": ("✗", "red"),
        "rolling_back": ("↺", "yellow"),
        "rolled_back": ("↺", "yellow"),
        "rollback_failed": ("✗", "red"),
        "charged": ("$", "yellow"),
        "refunded": ("$", "green"),
    }

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, event: StepEvent) -> None:
        symbol, colour = self.PHASE.get(event.phase, ("·", "white"))
        detail = f" {escape(event.message)}" if event.message else ""
        pid = f" [dim]{event.provider_id}[/]" if event.provider_id else ""
        self.console.print(
            f"  [{colour}]{symbol}[/] {escape(event.address)} "
            f"[dim]{event.action}[/] {event.phase.replace('_', ' ')}{pid}{detail}"
        )
