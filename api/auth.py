"""Who is calling, for which workspace, allowed to do what: bearer keys and their scopes.

A key belongs to one workspace and every route looks stacks up in that workspace only,
so another workspace's stack is simply not found (404) — its existence never leaks.
A missing, unknown, expired or revoked key is 401; a key without the route's scope is
403, and the problem names the scope to ask for.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from vibn.state import ApiKeyRecord
from vibn.state.records import KEY_SCOPES as SCOPES
from vibn.state.records import Scope

from .problems import ApiProblem
from .service import Service, get_service

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    description="A workspace API key: `Authorization: Bearer vibn_...` "
    "(create one with `vibn keys create --workspace W --scopes ...`).",
)


@dataclass(frozen=True)
class Caller:
    """An authenticated API key."""

    key: ApiKeyRecord

    @property
    def workspace(self) -> str:
        return self.key.workspace

    @property
    def principal(self) -> str:
        """How audit records name the caller (never the secret itself)."""
        return f"key:{self.key.prefix}"

    def require(self, scope: Scope) -> None:
        if scope not in self.key.scopes:
            raise ApiProblem(
                403,
                "missing-scope",
                f"this key lacks the {scope} scope, which {SCOPES[scope]} needs",
                title=f"Missing scope {scope}",
                hint=f"Use a key with {scope} (vibn keys create --scopes {scope},...).",
                extra={"scope": scope},
            )


def _unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(
        401,
        "unauthorized",
        detail,
        hint="Send Authorization: Bearer <key>; keys are created with `vibn keys create` "
        "or POST /v1/keys.",
        headers={"WWW-Authenticate": 'Bearer realm="vibn"'},
    )


def authenticate(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
    service: Service = Depends(get_service),
) -> Caller:
    if credentials is None:
        raise _unauthorized("no API key: send Authorization: Bearer <key>")
    key = service.store.authenticate_api_key(credentials.credentials)
    if key is None:
        raise _unauthorized("the API key is unknown, expired or revoked")
    caller = Caller(key)
    request.state.caller = caller
    return caller


class Require:
    """A route dependency: an authenticated caller holding ``scope``."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def __call__(self, caller: Caller = Depends(authenticate)) -> Caller:
        caller.require(self.scope)
        return caller
