"""Typed provider errors: what went wrong, said in the provider's own words.

Clients translate wire failures into these; the reconciler decides what to do with them
(only ``TransientError`` is ever retried, and that inside the client with tenacity).
"""

from __future__ import annotations


class ProviderError(Exception):
    """A provider refused or failed a call."""

    retryable = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        status: int | None = None,
        resource: str | None = None,
        details: object = None,
    ) -> None:
        self.provider = provider
        self.message = message
        self.status = status
        self.resource = resource
        self.details = details
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f" ({self.resource})" if self.resource else ""
        code = f" [HTTP {self.status}]" if self.status else ""
        return f"{self.provider}{where}: {self.message}{code}"


class NotFoundError(ProviderError):
    """The object does not exist (any more)."""


class ConflictError(ProviderError):
    """The name is taken or the object is in a state that forbids the call."""


class InvalidError(ProviderError):
    """The provider rejected the request as invalid (HTTP 400/422)."""


class AuthError(ProviderError):
    """Missing, wrong or insufficient credentials (HTTP 401/403)."""


class QuotaError(ProviderError):
    """Rate limit or quota exhausted after retries (HTTP 429)."""


class TransientError(ProviderError):
    """Timeouts, connection failures and 5xx: retried by the client."""

    retryable = True
