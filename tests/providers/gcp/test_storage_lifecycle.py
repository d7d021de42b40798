"""Contract tests of the ``gcp.bucket_lifecycle`` driver against the Storage emulator.

Each stack owns only its scope's rules: on the workspace bucket, those under its
``{stack}/`` prefix; on its own bucket, all of them. Rules vibn did not write stay,
two stacks' rules stay apart, a change made outside vibn shows in the next observation,
and observing costs no request beyond the bucket list.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from vibn.providers.base import SHARED, Desired, Driver, Observed, Owner, Recorded, Scope
from vibn.providers.gcp.common import GcpClients, GcpEndpoints, RetryPolicy
from vibn.providers.gcp.storage import storage_drivers
from vibn.reconciler.diff import diff
from vibn.sandbox.server import RunningSandbox

from .conftest import PROJECT, STACK, WS, Control, Ctx

KIND = "gcp.bucket_lifecycle"
WORKSPACE_BUCKET = f"vibn-ws-{WS}"
OWN_BUCKET = f"vibn-ws-{WS}-{STACK}"
FOREIGN_RULE = {"action": {"type": "Delete"}, "condition": {"age": 365}}


@dataclass
class Gcs:
    drivers: dict[str, Driver]
    control: Control
    http: httpx.Client

    @property
    def lifecycle(self) -> Driver:
        return self.drivers[KIND]

    def observe(
        self, stacks: set[str] | None = None, records: list[Recorded] | None = None
    ) -> dict[tuple[str, str], Observed]:
        """Buckets then lifecycles, as the reconciler does; keyed by (bucket, stack)."""
        scope = Scope(WS, frozenset(stacks or {STACK}))
        ctx = Ctx(records={KIND: records or []})
        ctx.seen["gcp.bucket"] = self.drivers["gcp.bucket"].observe(scope, ctx)
        return {(o.props["bucket"], o.owner.stack): o for o in self.lifecycle.observe(scope, ctx)}

    def raw_rules(self, bucket: str) -> list[dict[str, Any]]:
        doc = self.http.get(f"/storage/v1/b/{bucket}").json()
        rules: list[dict[str, Any]] = (doc.get("lifecycle") or {}).get("rule") or []
        return rules

    def set_raw_rules(self, bucket: str, rules: list[dict[str, Any]]) -> None:
        self.http.patch(
            f"/storage/v1/b/{bucket}", json={"lifecycle": {"rule": rules}}
        ).raise_for_status()


@pytest.fixture
def gcs(sandbox: RunningSandbox, fast_retry: RetryPolicy) -> Iterator[Gcs]:
    endpoint = sandbox.providers["storage"]
    endpoints = GcpEndpoints(PROJECT, storage=endpoint.url, anonymous=True)
    with (
        closing(GcpClients(endpoints)) as clients,
        httpx.Client(base_url=endpoint.control_url, timeout=10.0) as control,
        httpx.Client(base_url=endpoint.url, timeout=10.0) as api,
    ):
        drivers = storage_drivers(endpoints, clients=clients, retry=fast_retry)
        for name, stack, address in (
            (WORKSPACE_BUCKET, SHARED, "workspace.bucket"),
            (OWN_BUCKET, STACK, "storage.bucket"),
        ):
            props = {
                "name": name,
                "location": "NORTHAMERICA-NORTHEAST1",
                "storage_class": "STANDARD",
                "uniform_access": True,
                "public_read": False,
                "versioning": False,
            }
            owner = Owner(WS, stack, address)
            drivers["gcp.bucket"].create(Desired(address, "gcp.bucket", owner, props))
        yield Gcs(drivers, Control(control, "storage"), api)


def rule(
    age: int, prefix: str, action: str = "Delete", storage_class: str | None = None
) -> dict[str, Any]:
    return {"action": action, "storage_class": storage_class, "age_days": age, "prefix": prefix}


def desired(bucket: str, stack: str, rules: list[dict[str, Any]]) -> Desired:
    scope = f"{stack}/" if bucket == WORKSPACE_BUCKET else ""
    owner = Owner(WS, stack, "storage.lifecycle")
    return Desired(
        "storage.lifecycle", KIND, owner, {"bucket": bucket, "scope": scope, "rules": rules}
    )


def recorded(bucket: str, stack: str) -> Recorded:
    scope = f"{stack}/" if bucket == WORKSPACE_BUCKET else ""
    return Recorded(
        "storage.lifecycle",
        KIND,
        f"gs://{bucket}/{scope}",
        {"bucket": bucket, "scope": scope, "rules": []},
        {},
        stack=stack,
    )


def test_create_observe_update_delete_on_a_stack_bucket(gcs: Gcs) -> None:
    want = desired(OWN_BUCKET, STACK, [rule(30, "tmp/"), rule(0, "")])
    created = gcs.lifecycle.create(want)
    assert diff(want.props, created.props) == []
    assert gcs.raw_rules(OWN_BUCKET) == [
        {"action": {"type": "Delete"}, "condition": {"age": 30, "matchesPrefix": ["tmp/"]}},
        {"action": {"type": "Delete"}, "condition": {"age": 0}},
    ]
    seen = gcs.observe()[(OWN_BUCKET, STACK)]
    assert seen.address == "storage.lifecycle" and seen.owner == want.owner
    assert seen.provider_id == f"gs://{OWN_BUCKET}/"
    assert diff(want.props, seen.props) == []

    edited = desired(OWN_BUCKET, STACK, [rule(90, "", "SetStorageClass", "NEARLINE")])
    assert diff(edited.props, gcs.lifecycle.update(edited, seen).props) == []
    again = gcs.observe()[(OWN_BUCKET, STACK)]
    assert diff(edited.props, again.props) == []

    gcs.lifecycle.delete(again)
    assert gcs.raw_rules(OWN_BUCKET) == []
    assert gcs.observe() == {}


def test_two_stacks_share_the_workspace_bucket_without_touching_each_other(gcs: Gcs) -> None:
    gcs.set_raw_rules(WORKSPACE_BUCKET, [FOREIGN_RULE])
    shop = desired(WORKSPACE_BUCKET, STACK, [rule(30, "shop/tmp/")])
    blog = desired(WORKSPACE_BUCKET, "blog", [rule(7, "blog/"), rule(60, "blog/cache/")])
    gcs.lifecycle.create(shop)
    gcs.lifecycle.create(blog)

    seen = gcs.observe({STACK, "blog"})
    assert set(seen) == {(WORKSPACE_BUCKET, STACK), (WORKSPACE_BUCKET, "blog")}
    assert diff(shop.props, seen[(WORKSPACE_BUCKET, STACK)].props) == []
    assert diff(blog.props, seen[(WORKSPACE_BUCKET, "blog")].props) == []
    assert seen[(WORKSPACE_BUCKET, "blog")].owner == Owner(WS, "blog", "storage.lifecycle")
    assert list(gcs.observe({STACK})) == [(WORKSPACE_BUCKET, STACK)]

    edited = desired(WORKSPACE_BUCKET, STACK, [rule(14, "shop/uploads/")])
    gcs.lifecycle.update(edited, seen[(WORKSPACE_BUCKET, STACK)])
    gcs.lifecycle.delete(seen[(WORKSPACE_BUCKET, "blog")])
    after = gcs.observe({STACK, "blog"})
    assert list(after) == [(WORKSPACE_BUCKET, STACK)]
    assert diff(edited.props, after[(WORKSPACE_BUCKET, STACK)].props) == []
    # the rule nobody in vibn wrote is still there, first as it was
    assert gcs.raw_rules(WORKSPACE_BUCKET)[0] == FOREIGN_RULE


def test_a_change_made_outside_vibn_shows_as_drift(gcs: Gcs) -> None:
    want = desired(WORKSPACE_BUCKET, STACK, [rule(30, "shop/tmp/")])
    gcs.lifecycle.create(want)
    tampered = [
        {"action": {"type": "Delete"}, "condition": {"age": 1, "matchesPrefix": ["shop/tmp/"]}}
    ]
    gcs.set_raw_rules(WORKSPACE_BUCKET, tampered)

    seen = gcs.observe()[(WORKSPACE_BUCKET, STACK)]
    changes = diff(want.props, seen.props)
    assert [(c.path, c.old[0]["age_days"], c.new[0]["age_days"]) for c in changes] == [
        ("rules", 1, 30)
    ]
    assert diff(want.props, gcs.lifecycle.update(want, seen).props) == []


def test_conditions_vibn_does_not_write_show_as_a_difference(gcs: Gcs) -> None:
    gcs.set_raw_rules(
        OWN_BUCKET,
        [{"action": {"type": "Delete"}, "condition": {"age": 30, "matchesSuffix": [".tmp"]}}],
    )
    seen = gcs.observe()[(OWN_BUCKET, STACK)]
    assert seen.props["rules"] == [{**rule(30, ""), "unmanaged": {"matchesSuffix": [".tmp"]}}]
    assert diff(desired(OWN_BUCKET, STACK, [rule(30, "")]).props, seen.props) != []


def test_an_empty_rule_list_is_seen_once_recorded(gcs: Gcs) -> None:
    want = desired(WORKSPACE_BUCKET, STACK, [])
    assert gcs.observe() == {}
    gcs.lifecycle.create(want)
    seen = gcs.observe(records=[recorded(WORKSPACE_BUCKET, STACK)])
    assert diff(want.props, seen[(WORKSPACE_BUCKET, STACK)].props) == []


def test_observing_lifecycles_costs_no_request_beyond_the_bucket_list(gcs: Gcs) -> None:
    gcs.lifecycle.create(desired(WORKSPACE_BUCKET, STACK, [rule(30, "shop/tmp/")]))
    gcs.lifecycle.create(desired(OWN_BUCKET, STACK, [rule(30, "")]))
    gcs.control.clear_requests()
    assert len(gcs.observe()) == 2
    assert gcs.control.requests() == {"GET /storage/v1/b": 1}


def test_a_concurrent_change_is_not_lost(gcs: Gcs) -> None:
    """412 on the guarded patch: the write starts over from a fresh read."""
    gcs.lifecycle.create(desired(WORKSPACE_BUCKET, "blog", [rule(7, "blog/")]))
    gcs.control.clear_requests()
    gcs.control.fault(
        method="PATCH", path=f"^/storage/v1/b/{WORKSPACE_BUCKET}$", status=412, times=1
    )
    want = desired(WORKSPACE_BUCKET, STACK, [rule(30, "shop/")])
    assert diff(want.props, gcs.lifecycle.create(want).props) == []
    calls = gcs.control.requests()
    assert calls["GET /storage/v1/b/{bucket}"] == 2 and calls["PATCH /storage/v1/b/{bucket}"] == 2
    assert set(gcs.observe({STACK, "blog"})) == {
        (WORKSPACE_BUCKET, STACK),
        (WORKSPACE_BUCKET, "blog"),
    }


def test_stacks_applying_at_once_keep_every_rule(gcs: Gcs) -> None:
    """Worker threads share one driver: pooled clients, guarded read-modify-writes."""
    stacks = [f"s{n}" for n in range(4)]
    wants = [desired(WORKSPACE_BUCKET, s, [rule(n + 1, f"{s}/")]) for n, s in enumerate(stacks)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(gcs.lifecycle.create, wants))
    seen = gcs.observe(set(stacks))
    assert set(seen) == {(WORKSPACE_BUCKET, s) for s in stacks}
    for want in wants:
        assert diff(want.props, seen[(WORKSPACE_BUCKET, want.owner.stack)].props) == []
