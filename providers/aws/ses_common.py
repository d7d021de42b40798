"""What the two SES drivers share: ownership tags, the client, the retry policy.

Both kinds carry ownership as tags (``vibn-workspace``, ``vibn-stack``, ``vibn-address``),
valued exactly as the owner's names (AWS tag values allow them; GCP-style label
mangling would make two owners look alike), and tags are what ownership is read from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vibn.providers.aws.common import RetryPolicy, call
from vibn.providers.base import Owner

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

TAG_KEYS = ("vibn-workspace", "vibn-stack", "vibn-address")


def owner_tags(owner: Owner) -> list[dict[str, str]]:
    values = (owner.workspace, owner.stack, owner.address)
    return [{"Key": k, "Value": v} for k, v in zip(TAG_KEYS, values, strict=True)]


def owner_from_tags(tags: Sequence[Mapping[str, Any]] | None) -> Owner | None:
    found = {str(t.get("Key")): str(t.get("Value")) for t in tags or []}
    if not all(found.get(k) for k in TAG_KEYS):
        return None
    return Owner(found["vibn-workspace"], found["vibn-stack"], found["vibn-address"])


def who(owner: Owner | None) -> str:
    if owner is None:
        return "no vibn tags"
    return f"workspace {owner.workspace}, stack {owner.stack}, address {owner.address}"


def where(address: str, name: str) -> str:
    return f"{address} {name}"


class SesDriver:
    """The shared client, the retry policy and one-call helper."""

    def __init__(self, client: SESV2Client, retry: RetryPolicy | None = None) -> None:
        self._client = client
        self._retry = retry

    def _run(self, fn: Callable[..., Any], resource: str, **kwargs: Any) -> dict[str, Any]:
        answer = call(lambda: fn(**kwargs), resource, self._retry)
        return dict(answer or {})
