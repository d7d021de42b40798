"""How an identity's verification moves: SES watching public DNS, replayed on each read.

Real SES keeps looking up a domain's records after CreateEmailIdentity: Easy DKIM is
verified once all three ``<token>._domainkey.<domain>`` CNAMEs point at
``<token>.<SigningHostedZone>`` (then the domain is verified for sending), a custom MAIL
FROM domain once its single MX points at ``feedback-smtp.<region>.amazonses.com``. It
gives up after 72 hours (FAILED), and a verified record that disappears later makes the
status TEMPORARY_FAILURE, then FAILED if it stays away for 72 hours. An email address is
verified when its owner follows the link SES mailed (``/_sandbox/ses/verify-address``
here), which expires after 24 hours.

The emulator does the looking up lazily, whenever a request reads an identity
(GetEmailIdentity, ListEmailIdentities, SendEmail), against ``PublicDns`` — the zones
the Cloud DNS emulator serves and the delegations the registrar emulator publishes — and
against the emulator clock, so a test moves time instead of waiting. A record becomes
visible only ``verification_delay`` seconds after the check started.
"""

from __future__ import annotations

from typing import Any

from vibn.sandbox.publicdns import PublicDns, fqdn

WINDOW = 72 * 3600.0
ADDRESS_LINK_TTL = 24 * 3600.0
DKIM_ZONE = "dkim.amazonses.com"
Check = dict[str, Any]


def feedback_host(region: str) -> str:
    return f"feedback-smtp.{region}.amazonses.com."


def dkim_seen(dns: PublicDns, domain: str, dkim: Check) -> bool:
    """Whether the internet sees this domain's DKIM records as SES asks for them."""
    if dkim.get("origin") == "EXTERNAL":
        name = f"{dkim['tokens'][0]}._domainkey.{domain}"
        return any("p=" in txt.replace(" ", "") for txt in dns.resolve(name, "TXT"))
    zone = dkim.get("zone") or DKIM_ZONE
    for token in dkim["tokens"]:
        answer = [fqdn(v) for v in dns.resolve(f"{token}._domainkey.{domain}", "CNAME")]
        if answer != [fqdn(f"{token}.{zone}")]:
            return False
    return True


def mail_from_seen(dns: PublicDns, domain: str, region: str) -> bool:
    """Exactly one MX, pointing at this region's feedback endpoint (any preference)."""
    answer = dns.resolve(domain, "MX")
    if len(answer) != 1:
        return False
    host = answer[0].split()[-1] if answer[0].split() else ""
    return fqdn(host) == feedback_host(region)


def step(check: Check, seen: bool, now: float, delay: float) -> bool:
    """Advance one check (``status``, ``since``, ``checked``, ``success``); True if changed."""
    before = (check.get("status"), check.get("since"))
    status, since = check["status"], float(check["since"])
    if status == "PENDING":
        if seen and now >= since + delay:
            check.update(status="SUCCESS", since=now, success=now)
        elif now >= since + WINDOW:
            check.update(status="FAILED", since=now)
    elif status == "SUCCESS" and not seen:
        check.update(status="TEMPORARY_FAILURE", since=now)
    elif status == "TEMPORARY_FAILURE":
        if seen:
            check.update(status="SUCCESS", since=now, success=now)
        elif now >= since + WINDOW:
            check.update(status="FAILED", since=now)
    elif status == "SUCCESS":
        check["success"] = now
    check["checked"] = now
    return before != (check.get("status"), check.get("since"))


def refresh(
    identity: dict[str, Any], dns: PublicDns, now: float, delay: float, region: str
) -> bool:
    """Re-run every check of one identity record; True if a status changed."""
    changed = False
    if identity["type"] == "EMAIL_ADDRESS":
        check = identity["address"]
        if check["status"] == "PENDING" and now >= float(check["since"]) + ADDRESS_LINK_TTL:
            check.update(status="FAILED", since=now)
            changed = True
    dkim = identity.get("dkim")
    if dkim is not None and dkim["status"] != "FAILED":
        changed |= step(dkim, dkim_seen(dns, identity["name"], dkim), now, delay)
    mail_from = identity.get("mail_from")
    if mail_from is not None and mail_from["status"] != "FAILED":
        changed |= step(mail_from, mail_from_seen(dns, mail_from["domain"], region), now, delay)
    return changed
