"""One small in-memory fake provider for reconciler tests (STYLE.md point 10).

It keeps objects in a dict, honours ownership marks like a real driver, and can be told
to fail a given call, so tests assert the resulting state of the world.
"""

from __future__ import annotations

import copy
import itertools
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Scope
from vibn.providers.errors import InvalidError, NotFoundError
from vibn.providers.reads import by_workspace
from vibn.reconciler.plan import KindFacts
from vibn.specs.model import Stack
from vibn.specs.values import Sensitive, reveal

_ids = itertools.count(1)


@dataclass
class World:
    """Everything the fake provider holds, across kinds."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> object
    fail_on: dict[tuple[str, str], int] = field(default_factory=dict)  # (op, address) -> times
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def maybe_fail(self, op: str, address: str) -> None:
        with self.lock:
            self.calls.append((op, address))
            left = self.fail_on.get((op, address), 0)
            if left:
                self.fail_on[(op, address)] = left - 1
                raise InvalidError("fake", f"injected failure of {op}", resource=address)


class FakeDriver:
    replace_fields: ClassVar[frozenset[str]] = frozenset()
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        kind: str,
        world: World,
        *,
        replace_fields: frozenset[str] = frozenset(),
        data_bearing: bool = False,
    ) -> None:
        self.kind = kind  # type: ignore[misc]
        self.world = world
        self.replace_fields = replace_fields  # type: ignore[misc]
        self.data_bearing = data_bearing  # type: ignore[misc]

    def _observed(self, pid: str, obj: Mapping[str, Any]) -> Observed:
        owner = obj["owner"]
        return Observed(
            owner.address,
            self.kind,
            pid,
            owner,
            dict(obj["props"]),
            {
                "uuid": pid,
                "internal_db_url": Sensitive(f"db://{pid}"),
                "access_id": f"GOOG{pid}",
                "secret": Sensitive(f"secret-{pid}"),
                "name_servers": ["ns-fake-1.example.net", "ns-fake-2.example.net"],
                "server_ip": "203.0.113.10",
                **obj["props"],
            },
        )

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        """One provider-wide list (a copy of the world, as an API's answer is), shared
        like the real drivers' through ``ctx.shared`` and taken by workspace."""

        def fetch() -> dict[str, list[tuple[str, dict[str, Any]]]]:
            self.world.maybe_fail("observe", self.kind)
            with self.world.lock:
                items = [
                    (pid, copy.deepcopy(obj))
                    for pid, obj in self.world.objects.items()
                    if obj["kind"] == self.kind
                ]
            return by_workspace(items, lambda item: item[1]["owner"].workspace)

        listed = ctx.shared((self.kind,), fetch)
        return [self._observed(pid, obj) for pid, obj in listed.get(scope.workspace, ())]

    def create(self, desired: Desired) -> Observed:
        self.world.maybe_fail("create", desired.address)
        pid = f"{self.kind.split('.')[-1]}-{next(_ids)}"
        obj = {"kind": self.kind, "owner": desired.owner, "props": reveal(dict(desired.props))}
        with self.world.lock:
            self.world.objects[pid] = obj
        return self._observed(pid, obj)

    def update(self, desired: Desired, current: Observed) -> Observed:
        self.world.maybe_fail("update", desired.address)
        with self.world.lock:
            obj = self.world.objects.get(current.provider_id)
            if obj is None:
                raise NotFoundError("fake", "gone", resource=desired.address)
            obj["props"] = reveal(dict(desired.props))
        return self._observed(current.provider_id, obj)

    def delete(self, current: Observed) -> None:
        self.world.maybe_fail("delete", current.address)
        with self.world.lock:
            if self.world.objects.pop(current.provider_id, None) is None:
                raise NotFoundError("fake", "gone", resource=current.address)


def plant(world: World, kind: str, owner: Owner, props: dict[str, Any]) -> str:
    """Put an object straight into the world (as a crash or another tool would)."""
    pid = f"{kind.split('.')[-1]}-{next(_ids)}"
    world.objects[pid] = {"kind": kind, "owner": owner, "props": props}
    return pid


#: replace fields and data-bearing flags of the Coolify kinds, as the real drivers declare
FACTS = {
    "coolify.project": KindFacts(frozenset(), False),
    "coolify.application": KindFacts(frozenset({"project_uuid", "build_pack"}), False),
    "coolify.envs": KindFacts(frozenset({"application_uuid"}), False),
    "coolify.deployment": KindFacts(frozenset(), False),
    "coolify.database": KindFacts(frozenset({"engine"}), True),
    "coolify.backup": KindFacts(frozenset(), False),
    # backups go to the workspace bucket through the stack's HMAC key
    "gcp.bucket": KindFacts(frozenset({"name", "location"}), True),
    "gcp.hmac_key": KindFacts(frozenset({"service_account"}), False),
    "coolify.s3_storage": KindFacts(frozenset(), False),
}


def shop_stack(**spec: Any) -> Stack:
    """A small shop: web + 2 workers, a postgres database, one env var and a secret."""
    base: dict[str, Any] = {
        "app": {
            "repo": "https://github.com/acme/shop",
            "services": [
                {"name": "web", "ports": [3000]},
                {"name": "worker", "type": "worker", "command": "npm run work", "replicas": 2},
            ],
        },
        "env": {"NODE_ENV": "production"},
        "secrets": {"SESSION_SECRET": {"from": "store"}},
        "databases": [{"name": "database", "engine": "postgresql"}],
    }
    base.update(spec)
    return Stack.model_validate(
        {"apiVersion": "vibn.dev/v1", "kind": "Stack", "metadata": {"name": "shop"}, "spec": base}
    )
