"""Recorded resources: what the last apply left in each provider, per stack and address.

Every change here bumps the stack's ``serial`` (as Terraform's state serial does), so a
saved plan can tell that the recorded state moved under it. Sensitive props and outputs
are sealed on the way in and come back as ``Sensitive``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update

from vibn.specs.values import Condition
from vibn.state._core import StoreCore
from vibn.state.errors import StateError
from vibn.state.records import RecordedResource
from vibn.state.schema import Resource, Stack, Workspace


class ResourceOps(StoreCore):
    def resources(self, workspace: str, stack: str) -> list[RecordedResource]:
        """The stack's recorded resources by address ([] for an unknown stack)."""
        return self.resources_of_kind(workspace, [stack], None)[stack]

    def resources_of_kind(
        self, workspace: str, stacks: Iterable[str], kind: str | None
    ) -> dict[str, list[RecordedResource]]:
        """Resources of ``kind`` (every kind when None), keyed by stack name.

        Every requested stack is a key, with ``[]`` when it has none.
        """
        names = sorted(set(stacks))
        found: dict[str, list[RecordedResource]] = {name: [] for name in names}
        if not names:
            return found
        query = (
            select(Stack.name, Resource)
            .join(Stack, Resource.stack_id == Stack.id)
            .join(Workspace, Stack.workspace_id == Workspace.id)
            .where(Workspace.name == workspace, Stack.name.in_(names))
            .order_by(Stack.name, Resource.address)
        )
        if kind is not None:
            query = query.where(Resource.kind == kind)
        with self._reading() as session:
            for stack_name, row in session.execute(query).all():
                found[stack_name].append(self._record(workspace, stack_name, row))
        return found

    def record_resource(
        self,
        workspace: str,
        stack: str,
        address: str,
        kind: str,
        provider_id: str | None,
        props: Mapping[str, Any],
        outputs: Mapping[str, Any],
        conditions: Sequence[Condition] = (),
    ) -> None:
        """Insert or replace the record of one resource."""
        now = self._now()
        values = {
            "kind": kind,
            "provider_id": provider_id,
            "props": self._box.seal(dict(props)),
            "outputs": self._box.seal(dict(outputs)),
            "conditions": [c.to_dict() for c in conditions],
            "updated_at": now,
        }
        with self._writing() as session:
            stack_id = self._bump_serial(session, workspace, stack)
            insert = self._insert(Resource).values(
                stack_id=stack_id, address=address, created_at=now, **values
            )
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=["stack_id", "address"],
                    set_={name: insert.excluded[name] for name in values},
                )
            )

    def forget_resource(self, workspace: str, stack: str, address: str) -> bool:
        """Drop one resource's record; False when there was none."""
        with self._writing() as session:
            row = self._stack(session, workspace, stack, lock=True)
            gone = session.execute(
                delete(Resource)
                .where(Resource.stack_id == row.id, Resource.address == address)
                .returning(Resource.id)
            ).first()
            if gone is None:
                return False
            row.serial += 1
            row.updated_at = self._now()
            return True

    def set_conditions(
        self, workspace: str, stack: str, address: str, conditions: Sequence[Condition]
    ) -> None:
        """Replace one resource's status conditions."""
        with self._writing() as session:
            stack_id = self._bump_serial(session, workspace, stack)
            changed = session.execute(
                update(Resource)
                .where(Resource.stack_id == stack_id, Resource.address == address)
                .values(conditions=[c.to_dict() for c in conditions], updated_at=self._now())
                .returning(Resource.id)
                .execution_options(synchronize_session=False)
            ).first()
            if changed is None:
                raise StateError(f"stack {workspace}/{stack} has no resource {address}")

    def _record(self, workspace: str, stack: str, row: Resource) -> RecordedResource:
        what = f"{workspace}/{stack} {row.address}"
        return RecordedResource(
            address=row.address,
            kind=row.kind,
            provider_id=row.provider_id,
            props=self._unseal(row.props, what),
            outputs=self._unseal(row.outputs, what),
            conditions=tuple(Condition.from_dict(c) for c in row.conditions),
        )
