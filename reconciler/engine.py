"""The engine: the one path that the CLI, the API and the daemon all take.

``plan`` compiles a stack, observes the providers, reads the records and makes a plan;
``apply`` takes the stack's lease, re-plans under it and refuses a plan that no longer
matches what it would do now (stale), then runs it and records the outcome. A saved plan
file goes through the very same check, so it is applied exactly or not at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from vibn.providers.base import SHARED, Desired, Driver, Observed, Owner, Recorded, Scope
from vibn.providers.errors import ProviderError
from vibn.specs import Stack, digest
from vibn.specs.model import Stack as StackModel
from vibn.specs.values import Condition, Sensitive
from vibn.state import LeaseHeld, RecordedResource, Store

from .apply import Applier, ApplyResult, EventSink
from .compile import KIND_RANK, SecretResolver, SecretUnavailable, compile_stack
from .graph import Graph, resolve
from .listings import FreshReads, Reads
from .observe import Observation, observe, with_parents
from .payments import Charge, Payments, Quoting, total
from .plan import ActionType, KindFacts, Planned, make_plan
from .platform import Platform


def _recorded(r: RecordedResource, stack: str) -> Recorded:
    return Recorded(r.address, r.kind, r.provider_id, r.props, r.outputs, r.conditions, stack)


def captured_env_name(stack: str, key: str) -> str:
    """Store name of an env-sourced secret's value captured at apply."""
    return f"{stack}/env/{key}"


class EngineError(Exception):
    """A refusal the user can act on (stale plan, missing confirmation, plan errors)."""


class StalePlan(EngineError):
    """The stack or the providers moved since the plan was made."""


class ConfirmationRequired(EngineError):
    """Data-bearing resources would be deleted or replaced without ``--confirm``."""


def default_holder(kind: str = "cli") -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


def holder_is_dead(holder: str) -> bool:
    """True when ``holder`` names a process on this machine that no longer runs.

    Such a lease was left by a killed ``vibn apply``; waiting for it to expire would only
    make the user wait, so it is taken over at once (the journal and ownership marks make
    the takeover safe).
    """
    _, _, rest = holder.partition(":")
    host, _, pid = rest.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Engine:
    store: Store
    drivers: Mapping[str, Driver]
    fingerprint_secret: bytes
    parallelism: int = 8
    lease_ttl: timedelta = timedelta(seconds=60)
    env: Mapping[str, str] | None = None
    platform: Platform = field(default_factory=Platform)
    #: percent added to registrar prices when the workspace float is charged
    domain_markup_percent: Decimal = Decimal("0")
    #: provider-wide lists shared by the observations running at the same time
    reads: FreshReads = field(default_factory=FreshReads)

    # -- helpers ---------------------------------------------------------------------
    def fingerprint(self, value: Sensitive) -> str:
        return value.fingerprint(self.fingerprint_secret)

    def _secrets(self, workspace: str, stack: str) -> SecretResolver:
        """Resolve ``from: env`` from the caller's environment, falling back to the value
        captured at the last successful apply (so the daemon, which has no such
        environment, can still reconcile); ``from: store`` from the workspace's store."""
        env = os.environ if self.env is None else self.env

        def resolve(var: str, source: str, key: str) -> str:
            if source == "generated":
                name = f"{stack}/generated/{key}"
                found = self.store.get_secret(workspace, name)
                if found is None:
                    self.store.set_secret(workspace, name, secrets.token_urlsafe(32))
                    found = self.store.get_secret(workspace, name)
                assert found is not None
                return found.value
            if source == "env":
                if key in env:
                    return env[key]
                captured = self.store.get_secret(workspace, captured_env_name(stack, key))
                if captured is not None:
                    return captured.value
                raise SecretUnavailable(
                    f"environment variable {key} is not set; export it before running vibn, "
                    f"or keep it in vibn's store with `vibn secrets set {key}` and "
                    "`from: store`"
                )
            found = self.store.get_secret(workspace, key)
            if found is None:
                raise SecretUnavailable(
                    f"secret {key!r} is not in workspace {workspace!r}'s store; "
                    f"add it with `vibn secrets set {key} --workspace {workspace}`"
                )
            return found.value

        return resolve

    def _capture_env_secrets(self, stack: StackModel) -> None:
        """Keep (encrypted) the env-sourced secret values a successful apply used."""
        env = os.environ if self.env is None else self.env
        ws, name = stack.metadata.workspace, stack.metadata.name
        for ref_var, ref in stack.spec.secrets.items():
            key = ref.name or ref_var
            if ref.from_ == "env" and key in env:
                self.store.set_secret(ws, captured_env_name(name, key), env[key])

    def facts(self) -> dict[str, KindFacts]:
        return {
            kind: KindFacts(
                frozenset(d.replace_fields),
                bool(d.data_bearing),
                bool(getattr(d, "retained", False)),
            )
            for kind, d in self.drivers.items()
        }

    @property
    def payments(self) -> Payments:
        return Payments(self.store, self.domain_markup_percent)

    def _records(self, workspace: str, stack: str) -> dict[str, Recorded]:
        return {r.address: _recorded(r, stack) for r in self.store.resources(workspace, stack)}

    def observe(
        self,
        workspace: str,
        stacks: Sequence[str],
        kinds: Iterable[str] | None = None,
        *,
        records: Iterable[Recorded] | None = None,
        reads: Reads | None = None,
    ) -> Observation:
        """What the providers hold for ``stacks``: every kind, or only ``kinds`` (and the
        kinds they are observed after). ``records``: the stacks' records, when the caller
        has already read them; ``reads``: how provider-wide lists are shared (by default
        with the observations running at the same time; a sweep keeps them longer)."""
        scope = Scope(workspace, frozenset(stacks))
        drivers = self.drivers if kinds is None else with_parents(self.drivers, kinds)
        if records is None:  # one query for every kind the drivers will ask about
            found = self.store.resources_of_kind(workspace, stacks, None)
            records = [_recorded(r, stack) for stack, rs in found.items() for r in rs]
        by_kind: dict[str, list[Recorded]] = {}
        for r in records:
            by_kind.setdefault(r.kind, []).append(r)
        return observe(
            drivers, scope, lambda kind: list(by_kind.get(kind, ())), reads or self.reads
        )

    # -- plan ------------------------------------------------------------------------
    def plan(
        self, stack: Stack, *, destroy: bool = False, observation: Observation | None = None
    ) -> Planned:
        """The plan for ``stack``; pass ``observation`` to share one observation of a whole
        workspace between several stacks (the daemon's sweep)."""
        ws, name = stack.metadata.workspace, stack.metadata.name
        graph = (
            Graph(ws, name)
            if destroy
            else compile_stack(stack, self._secrets(ws, name), self.platform)
        )
        records = self._records(ws, name)
        if observation is None:
            # only what the stack wants and what it was left holding: a stack with no
            # Google Cloud section and no Google records never calls Google
            kinds = {r.kind for r in graph.resources.values()} | {r.kind for r in records.values()}
            observation = self.observe(
                ws, [name], None if destroy else kinds, records=records.values()
            )
        record = self.store.get_stack(ws, name)
        planned = make_plan(
            graph,
            observation.for_stack(name),
            records,
            self.facts(),
            fingerprint=self.fingerprint,
            document=stack.model_dump(mode="json", by_alias=True),
            document_digest=digest(stack),
            mode="destroy" if destroy else "apply",
            rank=KIND_RANK,
            lineage=record.lineage if record else None,
        )
        self._price(planned)
        return planned

    def _price(self, planned: Planned) -> None:
        """Put what the plan buys, and the float it draws on, into the plan; a plan the
        float cannot cover, or one the registrar cannot price, carries an error."""
        plan = planned.plan
        charges: dict[str, Charge] = {}
        payments = self.payments

        def lookup(address: str) -> Mapping[str, Any] | None:
            return planned.observed_outputs.get(address)

        for index, action in enumerate(plan.actions):
            driver = self.drivers.get(action.kind)
            if not isinstance(driver, Quoting) or action.action not in (
                ActionType.CREATE,
                ActionType.UPDATE,
                ActionType.REPLACE,
            ):
                continue
            res = planned.graph.resources[action.address]
            props = resolve(res.props, lookup, self.fingerprint)
            owner = Owner(plan.workspace, SHARED if res.shared else plan.stack, action.address)
            desired = Desired(action.address, action.kind, owner, props)
            try:
                current = planned.current.get(index)
                if action.action is ActionType.UPDATE and current is not None:
                    charge = payments.renewal(
                        plan.workspace, action.address, desired, current, driver
                    )
                else:
                    charge = payments.registration(plan.workspace, action.address, desired, driver)
            except ProviderError as exc:
                plan.errors.append(f"spec.{action.section}: {action.address}: {exc}")
                continue
            if charge is not None:
                charges[action.address] = charge
        if not charges:
            return
        balance = self.store.balance(plan.workspace)
        due = total(charges)
        if due > balance:
            plan.errors.append(
                f"workspace {plan.workspace}'s float is {balance} CAD and this plan buys "
                f"{due} CAD ({'; '.join(c.what for c in charges.values() if not c.owned)}); "
                f"credit it first: vibn float credit --workspace {plan.workspace} AMOUNT"
            )
        planned.charges = dict(charges)
        plan.charges = [c.to_json() for c in charges.values()]
        plan.float_balance = str(balance)
        # a price (or the float) that moved makes a saved plan stale
        extra = json.dumps(plan.charges, sort_keys=True)
        plan.content_digest = hashlib.sha256((plan.content_digest + extra).encode()).hexdigest()

    # -- apply -----------------------------------------------------------------------
    @contextmanager
    def lease(self, workspace: str, stack: str, holder: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the stack's lease for the duration, renewing it in the background."""
        key = f"stack:{workspace}/{stack}"
        deadline = time.monotonic() + wait
        while True:
            try:
                self.store.acquire_lease(key, holder, self.lease_ttl)
                break
            except LeaseHeld as held:
                if holder_is_dead(held.holder):
                    self.store.release_lease(key, held.holder)
                    continue
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.5)
        stop = threading.Event()

        def renew() -> None:
            interval = max(1.0, self.lease_ttl.total_seconds() / 3)
            while not stop.wait(interval):
                self.store.renew_lease(key, holder, self.lease_ttl)

        renewer = threading.Thread(target=renew, name=f"lease {key}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            renewer.join()
            self.store.release_lease(key, holder)

    def apply(
        self,
        plan_json: Mapping[str, Any],
        *,
        confirm: bool = False,
        principal: str = "cli",
        holder: str | None = None,
        wait: float = 0.0,
        on_event: EventSink | None = None,
    ) -> ApplyResult:
        """Apply exactly the plan described by ``plan_json`` (from ``Plan.to_json``)."""
        stack = StackModel.model_validate(plan_json["document"])
        destroy = plan_json.get("mode") == "destroy"
        ws, name = stack.metadata.workspace, stack.metadata.name
        with self.lease(ws, name, holder or default_holder(), wait):
            planned = self.plan(stack, destroy=destroy)
            plan = planned.plan
            if plan.content_digest != plan_json.get("content_digest"):
                raise StalePlan(
                    f"plan {plan_json.get('plan_id')!s} is stale: the stack or what the "
                    "providers hold changed since it was made (now it would be plan "
                    f"{plan.plan_id}); make a new plan"
                )
            if plan_json.get("stack", {}).get("lineage") not in (None, plan.lineage):
                raise StalePlan("plan was made for another incarnation of this stack")
            return self.apply_planned(
                planned, confirm=confirm, principal=principal, on_event=on_event
            )

    def apply_planned(
        self,
        planned: Planned,
        *,
        confirm: bool = False,
        principal: str = "cli",
        on_event: EventSink | None = None,
    ) -> ApplyResult:
        """Run a plan the caller has just made while holding the stack's lease.

        ``apply`` comes here under the lease it took; the daemon comes here with the lease
        it claimed along with the stack, so nothing is re-planned and no lease is taken.
        Plan errors and unconfirmed data-bearing deletes or replacements are refused.
        """
        plan = planned.plan
        if plan.errors:
            raise EngineError("the plan has errors:\n" + "\n".join(plan.errors))
        needs = plan.confirmations_needed()
        if needs and not confirm:
            raise ConfirmationRequired(
                "these would delete or replace data: "
                + ", ".join(f"{a.address} ({a.action.value})" for a in needs)
                + f"; confirm with --confirm {plan.stack}"
            )
        result = self._run(planned, principal, on_event)
        if result.ok and plan.mode == "apply":
            self._capture_env_secrets(StackModel.model_validate(plan.document))
        return result

    def _run(self, planned: Planned, principal: str, on_event: EventSink | None) -> ApplyResult:
        plan = planned.plan
        ws, name = plan.workspace, plan.stack
        revision = 0
        if plan.mode == "apply":
            revision, _ = self.store.put_revision(ws, name, plan.document, plan.document_digest)
        else:
            existing = self.store.get_stack(ws, name)
            revision = existing.revision if existing else 0
        recorded = self._records(ws, name)
        apply_id = self.store.begin_apply(
            ws, name, revision=revision, plan_id=plan.plan_id, kind=plan.mode, principal=principal
        )
        self.store.set_stack_status(ws, name, "applying")

        def sink(event: Any) -> None:
            self.store.add_event(ws, name, "action", event.__dict__, apply_id=apply_id)
            if on_event:
                on_event(event)

        applier = Applier(
            planned,
            self.drivers,
            self.store,
            apply_id=apply_id,
            recorded=recorded,
            fingerprint=self.fingerprint,
            parallelism=self.parallelism,
            rank=KIND_RANK,
            on_event=sink,
            payments=self.payments,
            retained=frozenset(k for k, f in self.facts().items() if f.retained),
        )
        try:
            result = applier.run()
        except BaseException as exc:
            self.store.finish_apply(apply_id, "failed", error=f"{type(exc).__name__}: {exc}")
            self.store.set_stack_status(ws, name, "failed", str(exc))
            raise
        summary = plan.summary()
        self.store.finish_apply(apply_id, result.status, error=result.error, summary=summary)
        if result.ok and plan.mode == "destroy":
            self.store.delete_stack(ws, name)
            for secret in self.store.list_secrets(ws):
                if secret.startswith(f"{name}/"):
                    self.store.delete_secret(ws, secret)
        elif result.ok:
            self.store.set_stack_status(ws, name, "applied")
        else:
            self.store.set_stack_status(ws, name, "failed", result.error or "")
        self.store.audit(
            principal,
            ws,
            plan.mode,
            stack=name,
            revision=revision,
            result=result.status,
            detail={"plan_id": plan.plan_id, "summary": summary, "error": result.error},
        )
        return result

    # -- status ----------------------------------------------------------------------
    def refresh_conditions(
        self, workspace: str, stack: str, *, observation: Observation | None = None
    ) -> dict[str, tuple[Condition, ...]]:
        """Advance pending conditions (deployments, later DNS, certificates, email); pass
        ``observation`` to reuse one already made of the workspace (the daemon's sweep)."""
        records = self._records(workspace, stack)
        if observation is None:
            observation = self.observe(workspace, [stack], {r.kind for r in records.values()})
        observed = observation.for_stack(stack)
        latest: dict[str, Observed] = {}
        for obj in observed:
            rec = records.get(obj.address)
            if rec is not None and rec.provider_id == obj.provider_id:
                latest[obj.address] = obj
        changed: dict[str, tuple[Condition, ...]] = {}
        for address, obj in latest.items():
            before = {(c.type, c.status, c.reason) for c in records[address].conditions}
            after = {(c.type, c.status, c.reason) for c in obj.conditions}
            if obj.conditions and before != after:
                self.store.set_conditions(workspace, stack, address, list(obj.conditions))
                changed[address] = obj.conditions
        return changed
