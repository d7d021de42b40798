"""A wire-faithful emulator of the Amazon SES v2 API subset vibn drives (ca-central-1).

Email identities (Easy DKIM tokens, custom MAIL FROM, default configuration set, tags),
configuration sets with event destinations, tags by ARN, GetAccount and SendEmail,
answering what boto3's ``sesv2`` client sends the way SES does
(shared/reference/ses-notes.md): rest-json paths and verbs from the botocore model,
SigV4 required and checked, errors as ``x-amzn-ErrorType`` plus ``{"message"}``.
Verification is not instant and not faked: DKIM and MAIL FROM statuses move only
when the sandbox's public DNS (``EmulatorConfig.public_dns``) shows the records. moto's
sesv2 has no DKIM tokens, MAIL FROM or event destinations and accepts duplicate
identities, hence this one.
"""

from vibn.sandbox.ses.app import ACCESS_KEY_ID, create_emulator
from vibn.sandbox.ses.store import ACCOUNT_ID

__all__ = ["ACCESS_KEY_ID", "ACCOUNT_ID", "create_emulator"]
