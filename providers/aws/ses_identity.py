"""The ``ses.identity`` driver: a stack's sender domain in SES (Easy DKIM, custom MAIL FROM,
default configuration set).

An identity is only half done when SES accepts it: SES verifies it by finding the three
DKIM CNAMEs and the MAIL FROM MX in public DNS, minutes to days later, and gives up after
72 hours. The driver never waits for that. It reports the DKIM tokens as outputs (the
Cloud DNS records are made from them) and an ``EmailReady`` condition that says what SES
is still waiting for; the reconciler's condition refresh moves it along.

SES lists identity names without tags, so observe reads each recorded identity (one
GetEmailIdentity apiece) and keeps it only if its tags name that record's owner. A
create that finds the domain taken adopts it when its tags name this very owner (an
apply interrupted after the create) and otherwise refuses, naming the domain and who
holds it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from vibn.providers.aws.common import PROVIDER
from vibn.providers.aws.ses_common import SesDriver, owner_from_tags, owner_tags, where, who
from vibn.providers.base import Desired, ObserveContext, Observed, Owner, Recorded, Scope
from vibn.providers.errors import ConflictError, NotFoundError
from vibn.providers.reads import read_each
from vibn.specs.values import Condition

EMAIL_READY = "EmailReady"
PENDING, FAILED, READY = "PendingVerification", "VerificationFailed", "Verified"


def _dkim_waiting(domain: str, dkim: Mapping[str, Any]) -> str:
    zone = dkim.get("SigningHostedZone") or "dkim.amazonses.com"
    records = ", ".join(
        f"{t}._domainkey.{domain} CNAME {t}.{zone}" for t in dkim.get("Tokens") or []
    )
    return f"the DKIM records ({records})"


def email_ready(domain: str, region: str, got: Mapping[str, Any]) -> Condition:
    """``EmailReady``: True once SES may send as ``domain`` with its MAIL FROM verified."""
    dkim = got.get("DkimAttributes") or {}
    mail_from = got.get("MailFromAttributes") or {}
    mf_domain, mf_status = mail_from.get("MailFromDomain"), mail_from.get("MailFromDomainStatus")
    verified = bool(got.get("VerifiedForSendingStatus"))
    mail_from_ok = not mf_domain or mf_status == "SUCCESS"
    if verified and mail_from_ok:
        detail = f"; MAIL FROM {mf_domain} verified" if mf_domain else ""
        return Condition(EMAIL_READY, "True", READY, f"SES can send as {domain}{detail}")
    mx = f"the MX record ({mf_domain} MX 10 feedback-smtp.{region}.amazonses.com)"
    failed = []
    if dkim.get("Status") == "FAILED":
        failed.append(_dkim_waiting(domain, dkim))
    if mf_domain and mf_status == "FAILED":
        failed.append(mx)
    if failed:
        return Condition(
            EMAIL_READY,
            "False",
            FAILED,
            f"SES gave up on {domain} after 72 hours without seeing {' and '.join(failed)}; "
            "publish them, then replace the identity",
        )
    waiting = [] if verified else [_dkim_waiting(domain, dkim)]
    if not mail_from_ok:
        waiting.append(mx)
    return Condition(
        EMAIL_READY,
        "False",
        PENDING,
        f"SES is waiting to see {' and '.join(waiting)} in public DNS",
    )


class IdentityDriver(SesDriver):
    """props ``{"domain", "configuration_set", "mail_from_domain", "dkim_key_length"}``;
    outputs ``{"domain", "dkim_tokens", "signing_hosted_zone", "dkim_status",
    "mail_from_status", "verified"}``; conditions ``EmailReady``."""

    kind: ClassVar[str] = "ses.identity"
    replace_fields: ClassVar[frozenset[str]] = frozenset({"domain"})
    data_bearing: ClassVar[bool] = False
    observe_after: ClassVar[tuple[str, ...]] = ()

    def observe(self, scope: Scope, ctx: ObserveContext) -> list[Observed]:
        """One GetEmailIdentity per recorded identity (SES has no bulk read), several
        at once."""
        wanted: dict[str, Recorded] = {}
        for rec in ctx.recorded(self.kind):
            domain = str(rec.props.get("domain") or rec.provider_id or "")
            if rec.stack in scope.stacks and domain and domain.lower() not in wanted:
                wanted[domain.lower()] = rec

        def read(rec: Recorded) -> Observed | None:
            domain = str(rec.props.get("domain") or rec.provider_id)
            try:
                got = self._get(domain, where(rec.address, domain))
            except NotFoundError:
                return None
            owner = Owner(scope.workspace, rec.stack, rec.address)
            return (
                self._observed(domain, owner, got)
                if owner_from_tags(got.get("Tags")) == owner
                else None
            )

        return [obs for obs in read_each(read, wanted.values()) if obs is not None]

    def create(self, desired: Desired) -> Observed:
        props = desired.props
        domain = str(props["domain"])
        resource = where(desired.address, domain)
        args: dict[str, Any] = {
            "EmailIdentity": domain,
            "Tags": owner_tags(desired.owner),
            "DkimSigningAttributes": {"NextSigningKeyLength": str(props["dkim_key_length"])},
        }
        if props.get("configuration_set"):
            args["ConfigurationSetName"] = str(props["configuration_set"])
        try:
            self._run(self._client.create_email_identity, resource, **args)
        except ConflictError as err:
            try:
                got = self._get(domain, resource)
            except NotFoundError:
                raise err from None
            owner = owner_from_tags(got.get("Tags"))
            if owner != desired.owner:
                raise ConflictError(
                    PROVIDER,
                    f"SES identity {domain} already exists and is not owned by this stack "
                    f"(owner: {who(owner)}); vibn leaves it alone",
                    status=err.status,
                    resource=resource,
                ) from err
            return self.update(desired, self._observed(domain, owner, got))
        if props.get("mail_from_domain"):
            self._mail_from(domain, props.get("mail_from_domain"), resource)
        return self._observed(domain, desired.owner, self._get(domain, resource))

    def update(self, desired: Desired, current: Observed) -> Observed:
        props, now = desired.props, current.props
        domain = str(props["domain"])
        resource = where(desired.address, domain)
        if props.get("mail_from_domain") != now.get("mail_from_domain"):
            self._mail_from(domain, props.get("mail_from_domain"), resource)
        if props.get("configuration_set") != now.get("configuration_set"):
            args: dict[str, Any] = {"EmailIdentity": domain}
            if props.get("configuration_set"):
                args["ConfigurationSetName"] = str(props["configuration_set"])
            self._run(
                self._client.put_email_identity_configuration_set_attributes, resource, **args
            )
        if props.get("dkim_key_length") != now.get("dkim_key_length"):
            self._run(
                self._client.put_email_identity_dkim_signing_attributes,
                resource,
                EmailIdentity=domain,
                SigningAttributesOrigin="AWS_SES",
                SigningAttributes={"NextSigningKeyLength": str(props["dkim_key_length"])},
            )
        return self._observed(domain, desired.owner, self._get(domain, resource))

    def delete(self, current: Observed) -> None:
        resource = where(current.address, current.provider_id)
        try:
            self._run(
                self._client.delete_email_identity, resource, EmailIdentity=current.provider_id
            )
        except NotFoundError:
            return

    def _get(self, domain: str, resource: str) -> dict[str, Any]:
        return self._run(self._client.get_email_identity, resource, EmailIdentity=domain)

    def _mail_from(self, domain: str, mail_from: Any, resource: str) -> None:
        args: dict[str, Any] = {"EmailIdentity": domain}
        if mail_from:
            args.update(MailFromDomain=str(mail_from), BehaviorOnMxFailure="USE_DEFAULT_VALUE")
        self._run(self._client.put_email_identity_mail_from_attributes, resource, **args)

    def _observed(self, domain: str, owner: Owner, got: Mapping[str, Any]) -> Observed:
        dkim = got.get("DkimAttributes") or {}
        mail_from = got.get("MailFromAttributes") or {}
        region = self._client.meta.region_name
        return Observed(
            address=owner.address,
            kind=self.kind,
            provider_id=domain,
            owner=owner,
            props={
                "domain": domain,
                "configuration_set": got.get("ConfigurationSetName"),
                "mail_from_domain": mail_from.get("MailFromDomain"),
                "dkim_key_length": dkim.get("NextSigningKeyLength"),
            },
            outputs={
                "domain": domain,
                "dkim_tokens": list(dkim.get("Tokens") or []),
                "signing_hosted_zone": dkim.get("SigningHostedZone"),
                "dkim_status": dkim.get("Status"),
                "mail_from_status": mail_from.get("MailFromDomainStatus"),
                "verified": bool(got.get("VerifiedForSendingStatus")),
            },
            conditions=(email_ready(domain, region, got),),
        )
