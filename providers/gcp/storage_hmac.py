"""The ``gcp.hmac_key`` driver: S3-compatible credentials for the app's bucket.

An HMAC key is awkward in two ways. Its secret is returned once, by create, and never
again: the secret reaches later plans only through the state store (encrypted there,
``Sensitive`` everywhere else), so observing starts from the recorded keys
(``ctx.recorded``) and asks GCS only whether each still exists and is ``ACTIVE`` — one
``hmacKeys.list`` per distinct service account. A key that is ``INACTIVE``, ``DELETED``
or gone reads as absent, and the planner creates a new one.

And a key carries no labels or description, so it cannot carry ownership marks. The
one gap that leaves: if vibn crashes between creating a key and recording it, the key
is orphaned (nothing can prove it was ours). Create is therefore never retried blindly
(google-cloud-storage does not retry it either; ``call`` is given one attempt), and
observe logs the number of the service account's keys that no stack in scope recorded.
Only an observation of every stack using the service account could call them orphans
(the records of other stacks and workspaces are out of scope), so this is logged at
INFO, not as a warning that every single-stack plan of a shared service account would
repeat.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar

from google.cloud.storage.hmac_key import HMACKeyMetadata  # type: ignore[import-untyped]

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Recorded, Scope
from vibn.providers.errors import InvalidError, NotFoundError
from vibn.providers.gcp.common import GcpDriver, RetryPolicy, call
from vibn.providers.gcp.storage_common import where
from vibn.specs.values import Sensitive

KIND = "gcp.hmac_key"
ACTIVE, INACTIVE = "ACTIVE", "INACTIVE"
log = logging.getLogger(__name__)


def hmac_observed(
    address: str, owner: Owner, access_id: str, service_account: str, secret: Any
) -> Observed:
    return Observed(
        address=address,
        kind=KIND,
        provider_id=access_id,
        owner=owner,
        props={"service_account": service_account},
        outputs={"access_id": access_id, "secret": secret},
    )


class HmacKeyDriver(GcpDriver):
    """props ``{"service_account"}``; outputs ``{"access_id", "secret": Sensitive}``."""

    kind: ClassVar[str] = KIND
    replace_fields: ClassVar[frozenset[str]] = frozenset({"service_account"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        by_account: dict[str, list[Recorded]] = defaultdict(list)
        for rec in ctx.recorded(self.kind):
            account = rec.props.get("service_account")
            if rec.provider_id and isinstance(account, str):
                by_account[account].append(rec)
        found: list[Observed] = []
        for account in sorted(by_account):
            # one account's keys are every workspace's: listed once for everyone
            listed = ctx.shared((self.kind, account), partial(self._list, account))
            keys = {k.access_id: k for k in listed}
            records = by_account[account]
            for rec in records:
                key = keys.get(rec.provider_id)
                if key is None or key.state != ACTIVE:
                    continue
                secret = rec.outputs.get("secret")
                if not isinstance(secret, Sensitive):
                    log.warning(
                        "%s: HMAC key %s has no recorded secret: a new key will be created; "
                        "deactivate and delete this one by hand",
                        rec.address,
                        rec.provider_id,
                    )
                    continue
                owner = Owner(scope.workspace, rec.stack, rec.address)
                found.append(hmac_observed(rec.address, owner, key.access_id, account, secret))
            known = {r.provider_id for r in records}
            unrecorded = [k for k in keys.values() if k.access_id not in known]
            if unrecorded:
                log.info(
                    "service account %s holds %d HMAC key(s) that no stack of workspace %s in "
                    "scope recorded: other stacks' keys, or orphans of an interrupted apply",
                    account,
                    len(unrecorded),
                    scope.workspace,
                )
        return found

    def create(self, desired: Desired) -> Observed:
        account = str(desired.props["service_account"])
        # never retried: a create whose answer was lost would leave an unmarkable orphan
        once = replace(self._retry or RetryPolicy(), attempts=1)
        with self._clients.storage() as client:
            metadata, secret = call(
                lambda: client.create_hmac_key(
                    service_account_email=account, project_id=self._project, retry=None
                ),
                where(desired.address, account),
                policy=once,
            )
        return hmac_observed(
            desired.address,
            desired.owner,
            str(metadata.access_id),
            str(metadata.service_account_email),
            Sensitive(str(secret)),
        )

    def update(self, desired: Desired, current: Observed) -> Observed:
        """Nothing but the service account is managed, and changing it replaces the key;
        an update only makes sure the key is active again."""
        with self._clients.storage() as client:
            self._key_call(client, current, "update", state=ACTIVE)
        return hmac_observed(
            desired.address,
            desired.owner,
            current.provider_id,
            str(desired.props["service_account"]),
            current.outputs.get("secret"),
        )

    def delete(self, current: Observed) -> None:
        """Deactivate, then delete: GCS deletes only inactive keys."""
        with self._clients.storage() as client:
            try:
                self._key_call(client, current, "update", state=INACTIVE)
            except NotFoundError:
                return
            except InvalidError:
                if self._key_call(client, current, "reload").state == "DELETED":
                    return
                raise
            self._key_call(client, current, "delete")

    def _list(self, account: str) -> list[Any]:
        with self._clients.storage() as client:
            return call(
                lambda: list(
                    client.list_hmac_keys(
                        service_account_email=account, project_id=self._project, retry=None
                    )
                ),
                f"{self.kind} list ({account})",
                policy=self._retry,
            )

    def _key_call(
        self, client: Any, current: Observed, method: str, state: str | None = None
    ) -> Any:
        """``reload``, ``update`` (to ``state``) or ``delete`` the recorded key."""
        key = HMACKeyMetadata(client, access_id=current.provider_id, project_id=self._project)
        if state is not None:
            key.state = state
        call(
            lambda: getattr(key, method)(retry=None),
            where(current.address, current.provider_id),
            policy=self._retry,
        )
        return key
