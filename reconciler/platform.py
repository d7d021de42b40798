"""Facts about where stacks are deployed that a stack document does not say: the Google
project, the storage endpoint and service account, the SES account and SMTP credentials.

``wiring`` builds them from settings; compile reads them, so it stays a pure function.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vibn.specs.values import Sensitive


@dataclass(frozen=True)
class MailPlatform:
    """What the platform's SES account gives every stack (from settings)."""

    region: str = "ca-central-1"
    account_id: str = "000000000000"
    #: the platform's own domain: the shared sender is ``noreply@mail.{domain}``
    platform_domain: str = "vibn.dev"
    smtp_username: str | None = None
    smtp_password: Sensitive | None = None

    @property
    def smtp_host(self) -> str:
        return f"email-smtp.{self.region}.amazonaws.com"

    @property
    def shared_sender(self) -> str:
        return f"noreply@mail.{self.platform_domain}"

    @property
    def event_bus_arn(self) -> str:
        return f"arn:aws:events:{self.region}:{self.account_id}:event-bus/default"


@dataclass(frozen=True)
class Platform:
    """Facts about where a stack is deployed that the document does not say."""

    gcp_project: str = "vibn-sandbox"
    storage_endpoint: str = "https://storage.googleapis.com"
    storage_service_account: str = "vibn-storage@vibn-sandbox.iam.gserviceaccount.com"
    mail: MailPlatform = field(default_factory=MailPlatform)
