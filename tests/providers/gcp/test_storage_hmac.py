"""Contract tests of the ``gcp.hmac_key`` driver against the Storage emulator.

The secret exists once, in create's answer: it must come back ``Sensitive`` and never
reach a log line or a repr. Later observations start from the recorded key and check,
with one list per service account, that it is still there and active.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass

import httpx
import pytest

from vibn.providers.base import Desired, Driver, Observed, Owner, Recorded, Scope
from vibn.providers.errors import TransientError
from vibn.providers.gcp.common import GcpClients, GcpEndpoints, RetryPolicy
from vibn.providers.gcp.storage import storage_drivers
from vibn.reconciler.diff import diff
from vibn.sandbox.server import RunningSandbox
from vibn.specs.values import Sensitive

from .conftest import PROJECT, STACK, WS, Control, Ctx

KIND = "gcp.hmac_key"
ACCOUNT = f"vibn-storage@{PROJECT}.iam.gserviceaccount.com"
OTHER_ACCOUNT = f"uploads@{PROJECT}.iam.gserviceaccount.com"
KEYS = "/storage/v1/projects/{project}/hmacKeys"


@dataclass
class Gcs:
    driver: Driver
    control: Control
    http: httpx.Client

    def observe(self, *records: Recorded, stacks: set[str] | None = None) -> list[Observed]:
        scope = Scope(WS, frozenset(stacks or {STACK}))
        return self.driver.observe(scope, Ctx(records={KIND: list(records)}))

    def set_state(self, access_id: str, state: str) -> None:
        path = f"/storage/v1/projects/{PROJECT}/hmacKeys/{access_id}"
        self.http.put(path, json={"state": state}).raise_for_status()


@pytest.fixture
def gcs(sandbox: RunningSandbox, fast_retry: RetryPolicy) -> Iterator[Gcs]:
    endpoint = sandbox.providers["storage"]
    endpoints = GcpEndpoints(PROJECT, storage=endpoint.url, anonymous=True)
    with (
        closing(GcpClients(endpoints)) as clients,
        httpx.Client(base_url=endpoint.control_url, timeout=10.0) as control,
        httpx.Client(base_url=endpoint.url, timeout=10.0) as api,
    ):
        driver = storage_drivers(endpoints, clients=clients, retry=fast_retry)[KIND]
        yield Gcs(driver, Control(control, "storage"), api)


def desired(stack: str = STACK, account: str = ACCOUNT) -> Desired:
    owner = Owner(WS, stack, "storage.hmac_key")
    return Desired("storage.hmac_key", KIND, owner, {"service_account": account})


def record(created: Observed, stack: str = STACK) -> Recorded:
    """What the state store keeps after apply (the secret still ``Sensitive``)."""
    return Recorded(
        created.address,
        KIND,
        created.provider_id,
        dict(created.props),
        dict(created.outputs),
        stack=stack,
    )


def test_create_observe_delete(gcs: Gcs, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    want = desired()
    created = gcs.driver.create(want)
    secret = created.outputs["secret"]
    assert isinstance(secret, Sensitive) and len(secret.value) == 40
    assert created.outputs["access_id"] == created.provider_id
    assert diff(want.props, created.props) == []

    seen = gcs.observe(record(created))
    assert [o.provider_id for o in seen] == [created.provider_id]
    assert seen[0].owner == want.owner and diff(want.props, seen[0].props) == []
    assert seen[0].outputs["secret"] == secret

    gcs.driver.delete(seen[0])
    assert gcs.observe(record(created)) == []
    listed = gcs.http.get(
        f"/storage/v1/projects/{PROJECT}/hmacKeys",
        params={"serviceAccountEmail": ACCOUNT, "showDeletedKeys": "true"},
    ).json()["items"]
    assert [k["state"] for k in listed] == ["DELETED"]

    # the secret never reached a log line or a repr
    assert secret.value not in caplog.text
    assert secret.value not in repr(created) + repr(seen)


def test_an_inactive_key_reads_as_absent_and_update_reactivates(gcs: Gcs) -> None:
    created = gcs.driver.create(desired())
    gcs.set_state(created.provider_id, "INACTIVE")
    assert gcs.observe(record(created)) == []
    gcs.driver.update(desired(), created)
    assert [o.provider_id for o in gcs.observe(record(created))] == [created.provider_id]


def test_deleting_an_already_deleted_key_is_quiet(gcs: Gcs) -> None:
    created = gcs.driver.create(desired())
    gcs.driver.delete(created)
    gcs.driver.delete(created)


def test_observe_lists_once_per_service_account(gcs: Gcs, caplog: pytest.LogCaptureFixture) -> None:
    shop = gcs.driver.create(desired())
    blog = gcs.driver.create(desired("blog"))
    uploads = gcs.driver.create(desired("uploads", OTHER_ACCOUNT))
    gcs.driver.create(desired("unrecorded"))  # as if vibn crashed before recording it
    gcs.control.clear_requests()

    with caplog.at_level(logging.INFO):
        seen = gcs.observe(
            record(shop),
            record(blog, "blog"),
            record(uploads, "uploads"),
            stacks={STACK, "blog", "uploads"},
        )
    assert {(o.owner.stack, o.provider_id) for o in seen} == {
        (STACK, shop.provider_id),
        ("blog", blog.provider_id),
        ("uploads", uploads.provider_id),
    }
    assert gcs.control.requests() == {f"GET {KEYS}": 2}
    assert f"service account {ACCOUNT} holds 1 HMAC key(s) that no stack" in caplog.text


def test_create_is_never_retried(gcs: Gcs) -> None:
    """A lost answer could mean a key exists that nothing can prove is ours."""
    gcs.control.fault(method="POST", path="/hmacKeys$", status=503, times=1)
    with pytest.raises(TransientError) as err:
        gcs.driver.create(desired())
    assert err.value.resource == f"storage.hmac_key {ACCOUNT}"
    assert gcs.control.requests() == {f"POST {KEYS}": 1}
