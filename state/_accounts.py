"""Workspaces and their API keys: the schema and plain CRUD the HTTP API will build on.

A key is shown once, when it is created; the store keeps only its SHA-256 (the token
carries 256 random bits, so a slow password hash would add nothing) and a short prefix
for people to recognise it by.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update

from vibn.state._core import StoreCore
from vibn.state.records import ApiKeyRecord, WorkspaceRecord
from vibn.state.schema import ApiKey, Workspace

TOKEN_PREFIX = "vibn_"
DISPLAY_CHARS = 12


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AccountOps(StoreCore):
    def ensure_workspace(self, name: str) -> WorkspaceRecord:
        """The workspace, created when new."""
        with self._writing() as session:
            workspace_id = self._ensure_workspace(session, name)
            row = session.get_one(Workspace, workspace_id)
            return WorkspaceRecord(name=row.name, created_at=row.created_at)

    def list_workspaces(self) -> list[WorkspaceRecord]:
        with self._reading() as session:
            rows = session.execute(select(Workspace).order_by(Workspace.name)).scalars()
            return [WorkspaceRecord(name=row.name, created_at=row.created_at) for row in rows]

    def create_api_key(
        self,
        workspace: str,
        *,
        scopes: Sequence[str],
        name: str = "",
        expires_at: datetime | None = None,
    ) -> tuple[str, ApiKeyRecord]:
        """A new key: ``(token, record)``. The token is not retrievable afterwards."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._writing() as session:
            row = ApiKey(
                workspace_id=self._ensure_workspace(session, workspace),
                name=name,
                key_hash=hash_token(token),
                prefix=token[:DISPLAY_CHARS],
                scopes=list(scopes),
                created_at=self._now(),
                expires_at=expires_at,
            )
            session.add(row)
            session.flush()
            return token, _key_record(row, workspace)

    def authenticate_api_key(self, token: str) -> ApiKeyRecord | None:
        """The key ``token`` names when it is live (not revoked, not expired), noting its
        use; None otherwise."""
        now = self._now()
        with self._writing() as session:
            found = session.execute(
                select(ApiKey, Workspace.name)
                .join(Workspace, ApiKey.workspace_id == Workspace.id)
                .where(ApiKey.key_hash == hash_token(token))
            ).first()
            if found is None:
                return None
            row, workspace = found
            record = _key_record(row, workspace)
            if not record.active(now):
                return None
            row.last_used_at = now
            return _key_record(row, workspace)

    def list_api_keys(self, workspace: str) -> list[ApiKeyRecord]:
        with self._reading() as session:
            rows = session.execute(
                select(ApiKey)
                .join(Workspace, ApiKey.workspace_id == Workspace.id)
                .where(Workspace.name == workspace)
                .order_by(ApiKey.id)
            ).scalars()
            return [_key_record(row, workspace) for row in rows]

    def revoke_api_key(self, workspace: str, key_id: int) -> bool:
        """Revoke one of the workspace's keys; False when it has no such live key."""
        with self._writing() as session:
            workspace_id = select(Workspace.id).where(Workspace.name == workspace)
            revoked = session.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == key_id,
                    ApiKey.workspace_id == workspace_id.scalar_subquery(),
                    ApiKey.revoked_at.is_(None),
                )
                .values(revoked_at=self._now())
                .returning(ApiKey.id)
                .execution_options(synchronize_session=False)
            ).first()
            return revoked is not None


def _key_record(row: ApiKey, workspace: str) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        workspace=workspace,
        name=row.name,
        prefix=row.prefix,
        scopes=tuple(row.scopes),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
