"""Hypothesis properties of compile + plan, with no I/O at all.

For any valid stack: planning is deterministic, a plan applied (by a perfect provider)
then re-planned is all noop, and every address is planned exactly once.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vibn.specs.model import ENGINES, Stack

from .test_plan import plan_for, simulate_apply

names = st.sampled_from(["web", "api", "worker", "jobs", "mailer"])
env_keys = st.sampled_from(["NODE_ENV", "LOG_LEVEL", "FEATURE_X", "REGION_HINT"])
env_values = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.", max_size=12)


@st.composite
def stacks(draw: st.DrawFn) -> Stack:
    service_names = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    services: list[dict[str, Any]] = []
    for i, name in enumerate(service_names):
        web = i == 0 or draw(st.booleans())
        service: dict[str, Any] = {
            "name": name,
            "type": "web" if web else "worker",
            "replicas": draw(st.integers(0, 3)),
        }
        if web:
            service["ports"] = [draw(st.integers(1024, 9000))]
        else:
            service["command"] = draw(st.sampled_from(["node w.js", "python -m jobs"]))
        services.append(service)
    db_names = draw(st.lists(st.sampled_from(["main", "cache", "events"]), max_size=3, unique=True))
    databases = [{"name": n, "engine": draw(st.sampled_from(ENGINES))} for n in db_names]
    spec: dict[str, Any] = {
        "app": {"repo": "https://github.com/acme/shop", "services": services},
        "env": draw(st.dictionaries(env_keys, env_values, max_size=3)),
        "databases": databases,
    }
    if draw(st.booleans()):
        spec["secrets"] = {"SESSION_SECRET": {"from": "store"}}
    return Stack.model_validate(
        {"apiVersion": "vibn.dev/v1", "kind": "Stack", "metadata": {"name": "shop"}, "spec": spec}
    )


@settings(max_examples=60, deadline=None)
@given(stacks())
def test_applied_plan_replans_to_noop(stack: Stack) -> None:
    first = plan_for(stack, [])
    assert not first.plan.errors
    world = simulate_apply(first)
    second = plan_for(stack, world).plan
    assert not second.has_changes, [a.to_json() for a in second.actions if a.action != "noop"]


@settings(max_examples=60, deadline=None)
@given(stacks())
def test_planning_is_deterministic_and_each_address_once(stack: Stack) -> None:
    a, b = plan_for(stack, []).plan, plan_for(stack, []).plan
    assert a.content_digest == b.content_digest
    addresses = [x.address for x in a.actions]
    assert len(addresses) == len(set(addresses))


@settings(max_examples=40, deadline=None)
@given(stacks(), stacks())
def test_moving_between_any_two_stacks_converges(before: Stack, after: Stack) -> None:
    world = simulate_apply(plan_for(before, []))
    plan = plan_for(after, world).plan
    surviving = {x.address for x in plan.actions if x.action.value != "delete"}
    assert surviving == set(plan_for(after, []).graph.resources)
