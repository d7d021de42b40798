"""Workspace secrets: named values that stacks reference, encrypted at rest.

The row holds only ``base64(nonce || AES-256-GCM ciphertext)``; the clear value exists
in memory as a ``Sensitive`` and nowhere else.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from vibn.specs.values import Sensitive
from vibn.state._core import StoreCore
from vibn.state.schema import Secret, Workspace


class SecretOps(StoreCore):
    def set_secret(self, workspace: str, name: str, value: str | Sensitive) -> None:
        """Create or replace the secret (creating the workspace when new)."""
        clear = value.value if isinstance(value, Sensitive) else value
        ciphertext = self._box.encrypt(clear)
        now = self._now()
        with self._writing() as session:
            insert = self._insert(Secret).values(
                workspace_id=self._ensure_workspace(session, workspace),
                name=name,
                ciphertext=ciphertext,
                created_at=now,
                updated_at=now,
            )
            session.execute(
                insert.on_conflict_do_update(
                    index_elements=["workspace_id", "name"],
                    set_={
                        "ciphertext": insert.excluded.ciphertext,
                        "updated_at": insert.excluded.updated_at,
                    },
                )
            )

    def get_secret(self, workspace: str, name: str) -> Sensitive | None:
        with self._reading() as session:
            ciphertext = session.execute(
                select(Secret.ciphertext)
                .join(Workspace, Secret.workspace_id == Workspace.id)
                .where(Workspace.name == workspace, Secret.name == name)
            ).scalar_one_or_none()
        if ciphertext is None:
            return None
        return Sensitive(self._box.decrypt(ciphertext, what=f"secret {workspace}/{name}"))

    def list_secrets(self, workspace: str) -> list[str]:
        """The workspace's secret names, sorted (never their values)."""
        with self._reading() as session:
            return list(
                session.execute(
                    select(Secret.name)
                    .join(Workspace, Secret.workspace_id == Workspace.id)
                    .where(Workspace.name == workspace)
                    .order_by(Secret.name)
                ).scalars()
            )

    def delete_secret(self, workspace: str, name: str) -> bool:
        """Delete the secret; False when there was none."""
        with self._writing() as session:
            workspace_id = select(Workspace.id).where(Workspace.name == workspace)
            gone = session.execute(
                delete(Secret)
                .where(Secret.workspace_id == workspace_id.scalar_subquery(), Secret.name == name)
                .returning(Secret.id)
            ).first()
            return gone is not None
