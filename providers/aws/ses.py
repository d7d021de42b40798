"""The Amazon SES drivers by kind: ``ses.configuration_set`` and ``ses.identity``.

A stack's ``email`` section becomes one configuration set (bounces and complaints to
EventBridge) and one domain identity (Easy DKIM, custom MAIL FROM) using it; the DNS
records SES needs are made elsewhere from the identity's outputs. Both drivers share one
boto3 ``sesv2`` client, always in a Canadian region (``common.ses_client``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vibn.providers.aws.common import AwsSettings, RetryPolicy, ses_client
from vibn.providers.aws.ses_common import owner_from_tags, owner_tags
from vibn.providers.aws.ses_configsets import EVENT_DESTINATION, ConfigurationSetDriver
from vibn.providers.aws.ses_identity import EMAIL_READY, IdentityDriver, email_ready
from vibn.providers.base import Driver

if TYPE_CHECKING:
    from mypy_boto3_sesv2 import SESV2Client

__all__ = [
    "EMAIL_READY",
    "EVENT_DESTINATION",
    "ConfigurationSetDriver",
    "IdentityDriver",
    "email_ready",
    "owner_from_tags",
    "owner_tags",
    "ses_drivers",
]


def ses_drivers(
    source: AwsSettings | SESV2Client, *, retry: RetryPolicy | None = None
) -> dict[str, Driver]:
    """The SES drivers by kind, sharing one client (made from ``AwsSettings``, or given)."""
    client = ses_client(source) if isinstance(source, AwsSettings) else source
    drivers: list[Driver] = [ConfigurationSetDriver(client, retry), IdentityDriver(client, retry)]
    return {d.kind: d for d in drivers}
