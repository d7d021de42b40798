"""``vibn domains`` (choose a name before writing it in a stack) and ``vibn float`` (the
workspace's CAD balance that domain purchases draw on).

``search`` and ``price`` only read from the registrar; buying happens in ``apply``, where
the plan shows the price and the float, and the ledger is debited once per purchase.
"""

from __future__ import annotations

from contextlib import closing
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from vibn.cli.base import JsonOpt, WorkspaceOpt, app, err, errors_reported, fail, out, print_json
from vibn.specs.model import Domain
from vibn.wiring import open_context, registrar

domains_app = typer.Typer(
    help="Find and price domains before writing one in a stack.", no_args_is_help=True
)
float_app = typer.Typer(
    help="The workspace float (CAD) that domain purchases draw on.", no_args_is_help=True
)
app.add_typer(domains_app, name="domains")
app.add_typer(float_app, name="float")

PeriodOpt = Annotated[int, typer.Option("--period", min=1, max=10, help="Years (1-10).")]


def _checked(name: str) -> str:
    """The name as a stack would accept it, or a one-line refusal."""
    try:
        return Domain.model_validate({"name": name.strip().lower()}).name
    except ValidationError as exc:
        fail(f"{name!r}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}")
        raise  # pragma: no cover - fail exits


@domains_app.command("search")
def domains_search(
    name: Annotated[str, typer.Argument(help="A name (mysaas) or a domain (mysaas.com).")],
    tlds: Annotated[
        str, typer.Option("--tlds", help="Comma-separated TLDs to try.")
    ] = "com,ca,io,app,dev",
    limit: Annotated[int, typer.Option("--limit", min=1, max=50)] = 10,
    workspace: WorkspaceOpt = "default",
    as_json: JsonOpt = False,
) -> None:
    """Is NAME free? And a few available alternatives, with their prices."""
    with errors_reported():
        with open_context(need_providers=False) as ctx, closing(registrar(ctx.settings)) as client:
            charge = ctx.engine.payments.price
            exact: dict[str, Any] | None = None
            if "." in name:
                domain = _checked(name)
                found = client.lookup(domain)
                exact = {"domain": domain, "available": found.available}
            stem = name.split(".", 1)[0]
            choices = [f".{t.strip().lstrip('.')}" for t in tlds.split(",") if t.strip()]
            suggestions = [
                {"domain": s.domain, "available": s.available}
                for s in client.suggest(stem, choices, limit)
            ]
            for row in ([exact] if exact else []) + suggestions:
                if row["available"]:
                    row["price"] = str(charge(client.price(row["domain"])))
        if as_json:
            print_json({"workspace": workspace, "query": exact, "suggestions": suggestions})
            return
        if exact:
            state = "available" if exact["available"] else "taken"
            price = f" — {exact['price']} CAD/year" if "price" in exact else ""
            out.print(f"{exact['domain']}: {state}{price}")
        for row in suggestions:
            price = f"{row['price']} CAD/year" if "price" in row else "taken"
            out.print(f"  {row['domain']:<32} {price}")


@domains_app.command("price")
def domains_price(
    name: Annotated[str, typer.Argument(help="The domain, e.g. mysaas.com.")],
    period: PeriodOpt = 1,
    as_json: JsonOpt = False,
) -> None:
    """What registering NAME would cost a workspace (registrar price plus markup)."""
    with errors_reported():
        domain = _checked(name)
        with open_context(need_providers=False) as ctx, closing(registrar(ctx.settings)) as client:
            available = client.lookup(domain).available
            price = ctx.engine.payments.price(client.price(domain, period))
        body = {
            "domain": domain,
            "period": period,
            "available": available,
            "price": str(price),
            "currency": "CAD",
        }
        if as_json:
            print_json(body)
            return
        state = "available" if available else "taken (the price is for when it frees up)"
        out.print(f"{domain}: {price} CAD for {period} year{'s' * (period > 1)}; {state}")


@float_app.command("show")
def float_show(workspace: WorkspaceOpt = "default", as_json: JsonOpt = False) -> None:
    """The balance and every movement."""
    with errors_reported():
        with open_context(need_providers=False) as ctx:
            balance = ctx.store.balance(workspace)
            entries = ctx.store.ledger_entries(workspace)
        rows = [
            {"at": e.at.isoformat(), "amount": str(e.amount), "reason": e.reason} for e in entries
        ]
        if as_json:
            print_json({"workspace": workspace, "balance": str(balance), "entries": rows})
            return
        out.print(f"Workspace {workspace}: {balance} CAD")
        for row in rows:
            out.print(f"  {row['at']}  {row['amount']:>10}  {row['reason']}")


@float_app.command("credit")
def float_credit(
    amount: Annotated[str, typer.Argument(help="CAD to add, e.g. 50 or 49.99.")],
    reference: Annotated[
        str, typer.Option("--reference", help="Payment reference; a repeat is recorded once.")
    ],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Add money to the float (once per reference)."""
    with errors_reported():
        try:
            value = Decimal(amount)
        except InvalidOperation:
            fail(f"amount {amount!r} is not a number")
        if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
            fail(f"amount {amount!r} must be a positive number of CAD with at most 2 decimals")
        with open_context(need_providers=False) as ctx:
            _, created = ctx.store.ledger_entry(
                workspace, value, f"credit: {reference}", f"credit:{workspace}:{reference}"
            )
            if created:
                ctx.store.audit(
                    "cli",
                    workspace,
                    "float.credit",
                    detail={"amount": str(value), "ref": reference},
                )
            balance = ctx.store.balance(workspace)
        note = "" if created else " (already recorded under this reference)"
        err.print(f"Workspace {workspace} float: {balance} CAD{note}.")
