"""Contract tests of the ``gcp.bucket`` driver, through google-cloud-storage against the
sandbox's Cloud Storage emulator.

What is asserted is the state of the emulator (observed props equal the desired ones,
so the planner's diff is empty), ownership (adoption of our own buckets, refusal of
anyone else's), the request budget of observation (one bucket list, no per-bucket
reads for private buckets) and the typed errors faults turn into.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from vibn.providers.base import SHARED, Desired, Driver, Observed, Owner, Scope
from vibn.providers.errors import AuthError, ConflictError, QuotaError, TransientError
from vibn.providers.gcp.common import GcpClients, GcpEndpoints, RetryPolicy
from vibn.providers.gcp.storage import storage_drivers
from vibn.reconciler.diff import diff
from vibn.sandbox.server import RunningSandbox

from .conftest import PROJECT, STACK, WS, Control, Ctx, Waits

KIND = "gcp.bucket"
SCOPE = Scope(WS, frozenset({STACK}))
SHARED_NAME = f"vibn-ws-{WS}"
OWN_NAME = f"vibn-ws-{WS}-{STACK}"
LIST = "GET /storage/v1/b"
IAM_GET = "GET /storage/v1/b/{bucket}/iam"


@dataclass
class Gcs:
    drivers: dict[str, Driver]
    control: Control
    http: httpx.Client  # the JSON API itself, for changes made "outside vibn"
    waits: Waits

    @property
    def buckets(self) -> Driver:
        return self.drivers[KIND]

    def observe(self, scope: Scope = SCOPE) -> dict[str, Observed]:
        return {o.provider_id: o for o in self.buckets.observe(scope, Ctx())}

    def raw(self, name: str) -> dict[str, Any]:
        resp = self.http.get(f"/storage/v1/b/{name}")
        resp.raise_for_status()
        doc: dict[str, Any] = resp.json()
        return doc

    def foreign(self, name: str, labels: dict[str, str] | None, project: str = PROJECT) -> None:
        body: dict[str, Any] = {"name": name, "location": "northamerica-northeast1"}
        if labels is not None:
            body["labels"] = labels
        self.http.post("/storage/v1/b", params={"project": project}, json=body).raise_for_status()


@pytest.fixture
def gcs(sandbox: RunningSandbox, fast_retry: RetryPolicy, waits: Waits) -> Iterator[Gcs]:
    endpoint = sandbox.providers["storage"]
    endpoints = GcpEndpoints(PROJECT, storage=endpoint.url, anonymous=True)
    with (
        closing(GcpClients(endpoints)) as clients,
        httpx.Client(base_url=endpoint.control_url, timeout=10.0) as control,
        httpx.Client(base_url=endpoint.url, timeout=10.0) as api,
    ):
        drivers = storage_drivers(endpoints, clients=clients, retry=fast_retry)
        yield Gcs(drivers, Control(control, "storage"), api, waits)


def props(name: str = OWN_NAME, **changes: Any) -> dict[str, Any]:
    """What compile produces for ``spec.storage``."""
    base: dict[str, Any] = {
        "name": name,
        "location": "NORTHAMERICA-NORTHEAST1",
        "storage_class": "STANDARD",
        "uniform_access": True,
        "public_read": False,
        "versioning": False,
    }
    return {**base, **changes}


def own(stack: str = STACK, ws: str = WS, **changes: Any) -> Desired:
    name = changes.pop("name", f"vibn-ws-{ws}-{stack}")
    return Desired(
        "storage.bucket", KIND, Owner(ws, stack, "storage.bucket"), props(name, **changes)
    )


def shared(ws: str = WS) -> Desired:
    owner = Owner(ws, SHARED, "workspace.bucket")
    return Desired("workspace.bucket", KIND, owner, props(f"vibn-ws-{ws}"))


def test_create_observe_update_delete(gcs: Gcs) -> None:
    want = own()
    created = gcs.buckets.create(want)
    assert diff(want.props, created.props) == []
    assert created.outputs["url"] == f"gs://{OWN_NAME}"
    assert created.outputs["self_link"].endswith(f"/storage/v1/b/{OWN_NAME}")
    raw = gcs.raw(OWN_NAME)
    assert raw["labels"] == {
        "vibn-workspace": WS,
        "vibn-stack": STACK,
        "vibn-address": "storage_bucket",
    }
    assert raw["iamConfiguration"]["publicAccessPrevention"] == "enforced"

    seen = gcs.observe()[OWN_NAME]
    assert seen.address == "storage.bucket" and seen.owner == want.owner
    assert diff(want.props, seen.props) == []

    edited = own(public_read=True, versioning=True)
    updated = gcs.buckets.update(edited, seen)
    assert diff(edited.props, updated.props) == []
    again = gcs.observe()[OWN_NAME]
    assert diff(edited.props, again.props) == []
    policy = gcs.http.get(f"/storage/v1/b/{OWN_NAME}/iam").json()
    assert {"role": "roles/storage.objectViewer", "members": ["allUsers"]} in policy["bindings"]

    private = own(versioning=True)
    assert diff(private.props, gcs.buckets.update(private, again).props) == []
    assert diff(private.props, gcs.observe()[OWN_NAME].props) == []
    policy = gcs.http.get(f"/storage/v1/b/{OWN_NAME}/iam").json()
    assert all("allUsers" not in b["members"] for b in policy["bindings"])

    gcs.buckets.delete(gcs.observe()[OWN_NAME])
    assert gcs.observe() == {}


def test_update_patches_only_what_differs(gcs: Gcs) -> None:
    current = gcs.buckets.create(own())
    gcs.control.clear_requests()
    gcs.buckets.update(own(versioning=True), current)
    calls = gcs.control.requests()
    # a fresh read for the metageneration, one patch; the IAM policy is left alone
    assert calls == {"GET /storage/v1/b/{bucket}": 1, "PATCH /storage/v1/b/{bucket}": 1}
    assert gcs.raw(OWN_NAME)["versioning"] == {"enabled": True}


def test_shared_bucket_adopted_by_a_second_stack_and_never_deleted(gcs: Gcs) -> None:
    first = gcs.buckets.create(shared())
    assert first.owner.stack == SHARED and first.address == "workspace.bucket"
    # another stack of the workspace applies (its plan was made before the bucket existed)
    second = gcs.buckets.create(shared())
    assert second.provider_id == SHARED_NAME
    assert diff(shared().props, second.props) == []
    assert gcs.raw(SHARED_NAME)["labels"]["vibn-stack"] == "shared"

    for stacks in ({STACK}, {"blog"}, {STACK, "blog"}):
        seen = gcs.observe(Scope(WS, frozenset(stacks)))
        assert list(seen) == [SHARED_NAME] and seen[SHARED_NAME].owner.stack == SHARED

    with pytest.raises(ConflictError, match="never deletes it") as err:
        gcs.buckets.delete(second)
    assert err.value.resource == f"workspace.bucket {SHARED_NAME}"
    assert SHARED_NAME in gcs.observe()


def test_own_bucket_left_by_an_interrupted_apply_is_adopted(gcs: Gcs) -> None:
    gcs.foreign(
        OWN_NAME,
        {"vibn-workspace": WS, "vibn-stack": STACK, "vibn-address": "storage_bucket", "team": "x"},
    )
    adopted = gcs.buckets.create(own(versioning=True))
    assert diff(own(versioning=True).props, adopted.props) == []
    raw = gcs.raw(OWN_NAME)
    assert raw["labels"]["team"] == "x"  # labels vibn does not own are kept
    assert raw["versioning"] == {"enabled": True}


@pytest.mark.parametrize(
    ("labels", "owner"),
    [
        (None, "no vibn labels"),
        (
            {"vibn-workspace": "other", "vibn-stack": STACK, "vibn-address": "storage_bucket"},
            "workspace other, stack shop",
        ),
        (
            {"vibn-workspace": WS, "vibn-stack": "blog", "vibn-address": "storage_bucket"},
            "workspace acme, stack blog",
        ),
        (
            {"vibn-workspace": WS, "vibn-stack": "shared", "vibn-address": "workspace_bucket"},
            "workspace acme, shared by its stacks",
        ),
    ],
)
def test_a_bucket_owned_by_someone_else_is_refused_and_untouched(
    gcs: Gcs, labels: dict[str, str] | None, owner: str
) -> None:
    gcs.foreign(OWN_NAME, labels)
    before = gcs.raw(OWN_NAME)
    with pytest.raises(ConflictError) as err:
        gcs.buckets.create(own(versioning=True))
    message = str(err.value)
    assert f"bucket {OWN_NAME} exists and is not owned by this stack" in message
    assert f"(owner: {owner})" in message
    assert err.value.resource == f"storage.bucket {OWN_NAME}"
    assert gcs.raw(OWN_NAME)["metageneration"] == before["metageneration"]
    assert all(o.owner.stack != STACK for o in gcs.observe().values())


def test_a_name_taken_in_another_project_is_refused(gcs: Gcs) -> None:
    gcs.foreign(SHARED_NAME, None, project="someone-else")
    with pytest.raises(ConflictError, match=r"not owned by this workspace \(owner: no vibn"):
        gcs.buckets.create(shared())


def test_observe_keeps_only_the_scope_and_makes_one_list_call(gcs: Gcs) -> None:
    gcs.buckets.create(shared())
    gcs.buckets.create(own())
    gcs.buckets.create(own(stack="blog"))
    gcs.buckets.create(own(ws="other"))
    gcs.buckets.create(shared(ws="other"))
    gcs.foreign("hand-made-bucket", {"team": "data"})
    gcs.control.clear_requests()

    seen = gcs.observe()
    assert sorted(seen) == [SHARED_NAME, OWN_NAME]
    assert gcs.control.requests() == {LIST: 1}

    both = gcs.observe(Scope(WS, frozenset({STACK, "blog"})))
    assert sorted(both) == [SHARED_NAME, f"vibn-ws-{WS}-blog", OWN_NAME]
    assert both[f"vibn-ws-{WS}-blog"].owner == Owner(WS, "blog", "storage.bucket")


def test_observe_reads_iam_only_for_buckets_that_may_be_public(gcs: Gcs) -> None:
    gcs.buckets.create(own(public_read=True))
    gcs.buckets.create(shared())
    gcs.control.clear_requests()
    seen = gcs.observe()
    assert seen[OWN_NAME].props["public_read"] is True
    assert seen[SHARED_NAME].props["public_read"] is False
    assert gcs.control.requests() == {LIST: 1, IAM_GET: 1}


def test_observe_sees_a_bucket_opened_outside_vibn(gcs: Gcs) -> None:
    gcs.buckets.create(own())
    gcs.http.patch(
        f"/storage/v1/b/{OWN_NAME}",
        json={"iamConfiguration": {"publicAccessPrevention": "inherited"}},
    ).raise_for_status()
    policy = gcs.http.get(f"/storage/v1/b/{OWN_NAME}/iam").json()
    policy["bindings"].append({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
    gcs.http.put(f"/storage/v1/b/{OWN_NAME}/iam", json=policy).raise_for_status()

    seen = gcs.observe()[OWN_NAME]
    assert [c.path for c in diff(own().props, seen.props)] == ["public_read"]
    closed = gcs.buckets.update(own(), seen)
    assert closed.props["public_read"] is False
    assert gcs.observe()[OWN_NAME].props["public_read"] is False


def test_deleting_a_bucket_that_holds_objects_says_to_empty_it(gcs: Gcs) -> None:
    created = gcs.buckets.create(own())
    gcs.http.post(
        f"/upload/storage/v1/b/{OWN_NAME}/o",
        params={"uploadType": "media", "name": "a.txt"},
        content=b"hello",
    ).raise_for_status()
    with pytest.raises(ConflictError, match="empty it first") as err:
        gcs.buckets.delete(created)
    assert err.value.status == 409 and err.value.resource == f"storage.bucket {OWN_NAME}"
    assert OWN_NAME in gcs.observe()


def test_transient_fault_is_retried_once_then_succeeds(gcs: Gcs) -> None:
    gcs.buckets.create(own())
    gcs.control.clear_requests()
    gcs.control.fault(method="GET", path="^/storage/v1/b$", status=503, times=1)
    assert OWN_NAME in gcs.observe()
    assert gcs.control.requests() == {LIST: 2}
    assert len(gcs.waits.seconds) == 1


def test_forbidden_create_is_an_auth_error_naming_the_bucket(gcs: Gcs) -> None:
    gcs.control.fault(method="POST", path="^/storage/v1/b$", status=403, times=1)
    with pytest.raises(AuthError) as err:
        gcs.buckets.create(own())
    assert err.value.resource == f"storage.bucket {OWN_NAME}" and err.value.status == 403


def test_rate_limit_that_does_not_pass_is_a_quota_error(gcs: Gcs) -> None:
    gcs.control.fault(method="POST", path="^/storage/v1/b$", status=429, times=10)
    with pytest.raises(QuotaError) as err:
        gcs.buckets.create(own())
    assert err.value.resource == f"storage.bucket {OWN_NAME}" and err.value.status == 429
    assert gcs.waits.seconds == [1.0, 1.0, 1.0]  # the emulator's Retry-After, honoured


def test_an_unreachable_endpoint_is_a_transient_error(fast_retry: RetryPolicy) -> None:
    endpoints = GcpEndpoints(PROJECT, storage="http://127.0.0.1:9", anonymous=True)
    with closing(GcpClients(endpoints)) as clients:
        driver = storage_drivers(endpoints, clients=clients, retry=fast_retry)[KIND]
        with pytest.raises(TransientError, match=r"gcp\.bucket list"):
            driver.observe(SCOPE, Ctx())
