"""The planner as a pure function: (stack, observed, recorded) -> plan. No I/O."""

from __future__ import annotations

from typing import Any

import pytest

from vibn.providers.base import Observed, Owner, Recorded
from vibn.reconciler.compile import KIND_RANK, compile_stack
from vibn.reconciler.graph import UNKNOWN, Digest, Graph, Ref, Resource, resolve
from vibn.reconciler.plan import ActionType, make_plan
from vibn.specs.model import Stack
from vibn.specs.values import Sensitive

from .fake import FACTS
from .fake import shop_stack as stack

SECRETS = {"SESSION_SECRET": "s3cret-value"}


def fp(value: Sensitive) -> str:
    return value.fingerprint(b"k" * 32)


def resolver(var: str, source: str, key: str) -> str:
    return SECRETS[key]


def plan_for(s: Stack, observed: list[Observed], recorded: dict[str, Recorded] | None = None):
    graph = compile_stack(s, resolver)
    return make_plan(
        graph,
        observed,
        recorded or {},
        FACTS,
        fingerprint=fp,
        document=s.model_dump(mode="json", by_alias=True),
        document_digest="d",
        rank=KIND_RANK,
    )


def simulate_apply(planned) -> list[Observed]:
    """What a perfect provider would hold after applying ``planned``."""
    plan, graph = planned.plan, planned.graph
    outputs: dict[str, dict[str, Any]] = {}
    world: list[Observed] = []
    for n, address in enumerate(graph.order()):
        res = graph.resources[address]
        props = resolve(res.props, outputs.get, fp)
        pid = f"id-{n}"
        outputs[address] = {
            "uuid": pid,
            "internal_db_url": Sensitive(f"postgres://{pid}"),
            "name": props.get("name"),
            "access_id": f"GOOG{pid}",
            "secret": Sensitive(f"hmac-{pid}"),
        }
        world.append(
            Observed(
                address,
                res.kind,
                pid,
                Owner("default", plan.stack, address),
                props,
                outputs[address],
            )
        )
    return world


def test_new_stack_creates_everything_in_dependency_order() -> None:
    planned = plan_for(stack(), [])
    plan = planned.plan
    # 12 Coolify resources, and the backups' destination: workspace bucket, HMAC key, S3 entry
    assert plan.summary() == {
        "create": 15,
        "update": 0,
        "replace": 0,
        "delete": 0,
        "detach": 0,
        "noop": 0,
    }
    addresses = [a.address for a in plan.actions]
    assert addresses.index("project") < addresses.index("app.web-1")
    assert addresses.index("app.web-1") < addresses.index("app.web-1.env")
    assert addresses.index("database.database") < addresses.index("app.web-1.env")
    assert {"app.worker-1", "app.worker-2", "database.database.backup"} <= set(addresses)
    env = next(a for a in plan.actions if a.address == "app.web-1.env")
    shown = {c.path: c.to_json() for c in env.changes}
    assert shown["vars"]["new"]["SESSION_SECRET"] == "(sensitive)"
    assert "s3cret-value" not in str(plan.to_json())


def test_applied_then_replanned_is_all_noop() -> None:
    first = plan_for(stack(), [])
    world = simulate_apply(first)
    second = plan_for(stack(), world)
    assert not second.plan.has_changes, [
        a.to_json() for a in second.plan.actions if a.action != "noop"
    ]


def test_plans_are_deterministic() -> None:
    a = plan_for(stack(), []).plan
    b = plan_for(stack(), []).plan
    assert a.content_digest == b.content_digest
    assert [x.to_json() for x in a.actions] == [x.to_json() for x in b.actions]


def test_scaling_down_deletes_extra_replicas_children_first() -> None:
    world = simulate_apply(plan_for(stack(), []))
    smaller = stack(
        app={
            "repo": "https://github.com/acme/shop",
            "services": [
                {"name": "web", "ports": [3000]},
                {"name": "worker", "type": "worker", "command": "npm run work", "replicas": 1},
            ],
        }
    )
    plan = plan_for(smaller, world).plan
    deletes = [a.address for a in plan.actions if a.action is ActionType.DELETE]
    assert deletes == ["app.worker-2.deploy", "app.worker-2.env", "app.worker-2"]
    assert all(a.action is ActionType.NOOP for a in plan.actions if a.address.startswith("app.web"))


def test_env_change_updates_env_and_redeploys() -> None:
    world = simulate_apply(plan_for(stack(), []))
    plan = plan_for(stack(env={"NODE_ENV": "staging"}), world).plan
    changed = {a.address: a for a in plan.actions if a.action is not ActionType.NOOP}
    assert set(changed) == {
        f"app.{s}.{k}" for s in ("web-1", "worker-1", "worker-2") for k in ("env", "deploy")
    }
    change = changed["app.web-1.env"].changes[0]
    assert (change.path, change.old, change.new) == ("vars.NODE_ENV", "production", "staging")


def test_secret_change_is_masked_but_changes_the_plan() -> None:
    world = simulate_apply(plan_for(stack(), []))
    SECRETS["SESSION_SECRET"] = "rotated"
    try:
        plan = plan_for(stack(), world).plan
    finally:
        SECRETS["SESSION_SECRET"] = "s3cret-value"
    env = next(a for a in plan.actions if a.address == "app.web-1.env")
    assert [c.to_json()["new"] for c in env.changes] == ["(sensitive)"]
    assert [c.to_json()["old"] for c in env.changes] == ["(sensitive)"]
    assert "rotated" not in str(plan.to_json()) and "s3cret" not in str(plan.to_json())


def test_engine_change_replaces_and_needs_confirmation() -> None:
    world = simulate_apply(plan_for(stack(), []))
    plan = plan_for(stack(databases=[{"name": "database", "engine": "mysql"}]), world).plan
    db = next(a for a in plan.actions if a.address == "database.database")
    assert db.action is ActionType.REPLACE and db.requires_confirmation
    assert "engine" in db.reason
    # everything that refers to the database's outputs learns them only after apply
    env = next(a for a in plan.actions if a.address == "app.web-1.env")
    assert env.action is ActionType.UPDATE
    assert any(c.new is UNKNOWN for c in env.changes)


def test_object_deleted_outside_is_recreated_with_reason() -> None:
    world = simulate_apply(plan_for(stack(), []))
    recorded = {
        o.address: Recorded(o.address, o.kind, o.provider_id, o.props, o.outputs) for o in world
    }
    world = [o for o in world if o.address != "app.web-1"]
    plan = plan_for(stack(), world, recorded).plan
    web = next(a for a in plan.actions if a.address == "app.web-1")
    assert web.action is ActionType.CREATE and "outside vibn" in web.reason


def test_unrecorded_object_with_marks_is_adopted_and_duplicates_deleted() -> None:
    world = simulate_apply(plan_for(stack(), []))
    web = next(o for o in world if o.address == "app.web-1")
    dup = Observed(web.address, web.kind, "zz-dup", web.owner, web.props, {"uuid": "zz-dup"})
    recorded = {web.address: Recorded(web.address, web.kind, web.provider_id, web.props, {})}
    plan = plan_for(stack(), [*world, dup], recorded).plan
    deletes = [a for a in plan.actions if a.action is ActionType.DELETE]
    assert [(a.address, a.provider_id) for a in deletes] == [("app.web-1", "zz-dup")]
    adopted = next(a for a in plan.actions if a.address == "project")
    assert "adopting" in adopted.reason


def test_missing_driver_is_a_clear_plan_error() -> None:
    s = stack(storage={"public_read": False})
    plan = plan_for(s, []).plan
    assert any("spec.storage" in e and "no provider driver" in e for e in plan.errors)


def test_missing_secret_is_a_plan_error_naming_the_field() -> None:
    s = stack(secrets={"STRIPE_KEY": {"from": "env"}})

    def none(var: str, source: str, key: str) -> str:
        from vibn.reconciler.compile import SecretUnavailable

        raise SecretUnavailable("environment variable STRIPE_KEY is not set")

    graph = compile_stack(s, none)
    assert graph.errors == ["spec.secrets.STRIPE_KEY: environment variable STRIPE_KEY is not set"]


def test_redis_backups_are_a_warning_not_a_silent_skip() -> None:
    s = stack(databases=[{"name": "cache", "engine": "redis"}])
    graph = compile_stack(s, resolver)
    assert "database.cache.backup" not in graph.resources
    assert any("cannot back up redis" in w for w in graph.warnings)


def test_digest_and_refs_resolve_or_stay_unknown() -> None:
    d = Digest(({"a": Ref("x", "uuid")},))
    assert d.resolve(lambda a: None, fp) is UNKNOWN
    assert d.resolve(lambda a: {"uuid": "1"}, fp) == d.resolve(lambda a: {"uuid": "1"}, fp)
    assert d.resolve(lambda a: {"uuid": "1"}, fp) != d.resolve(lambda a: {"uuid": "2"}, fp)


def test_graph_cycle_is_refused() -> None:
    g = Graph("w", "s")
    g.add(Resource("a", "k", {"x": Ref("b", "uuid")}, "app"))
    g.add(Resource("b", "k", {"x": Ref("a", "uuid")}, "app"))
    with pytest.raises(ValueError, match="cycle"):
        g.order()


def test_shared_workspace_objects_are_never_deleted_by_a_stack() -> None:
    shared = Observed(
        "workspace.bucket",
        "gcp.bucket",
        "vibn-ws-default",
        Owner("default", "-", "workspace.bucket"),
        {"name": "vibn-ws-default"},
        {},
    )
    # a stack that does not use the workspace bucket leaves it alone
    plan = plan_for(stack(databases=[]), [shared]).plan
    assert all(a.address != "workspace.bucket" for a in plan.actions)
    graph = compile_stack(stack(), resolver)
    destroy = make_plan(
        Graph(graph.workspace, graph.stack),
        [shared],
        {},
        FACTS,
        fingerprint=fp,
        document={},
        document_digest="d",
        mode="destroy",
    ).plan
    assert destroy.actions == [] and any("shared" in w and "kept" in w for w in destroy.warnings)
