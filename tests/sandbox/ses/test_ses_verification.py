"""SES emulator verification: DKIM and MAIL FROM statuses move only when the sandbox's
public DNS shows the records SES looks for, after the configured delay, and give up
after 72 hours, measured on the emulator's clock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vibn.sandbox.publicdns import PublicDns
from vibn.sandbox.server import RunningSandbox, start_in_thread

from ..helpers import FakeClock
from .conftest import Ses, Zones, ses_client, start

MX = "10 feedback-smtp.ca-central-1.amazonses.com."
HOURS = 3600.0


def create(ses: Ses, mail_from: str | None = "mail.example.com") -> list[str]:
    tokens: list[str] = ses.client.create_email_identity(EmailIdentity="example.com")[
        "DkimAttributes"
    ]["Tokens"]
    if mail_from:
        ses.client.put_email_identity_mail_from_attributes(
            EmailIdentity="example.com", MailFromDomain=mail_from
        )
    return tokens


def client_for(running: RunningSandbox) -> Any:
    return ses_client(running.providers["ses"].url, running.token)


def state(ses: Ses) -> tuple[str, bool, str, str | None]:
    got: dict[str, Any] = ses.client.get_email_identity(EmailIdentity="example.com")
    return (
        got["DkimAttributes"]["Status"],
        got["VerifiedForSendingStatus"],
        got["VerificationStatus"],
        got["MailFromAttributes"].get("MailFromDomainStatus"),
    )


def test_dkim_succeeds_only_once_all_three_cnames_resolve(ses: Ses) -> None:
    tokens = create(ses, mail_from=None)
    ses.publish_dkim("example.com", tokens[:2])
    assert state(ses) == ("PENDING", False, "PENDING", None)
    ses.publish_dkim("example.com", tokens[2:])
    assert state(ses) == ("SUCCESS", True, "SUCCESS", None)
    listed = ses.client.list_email_identities()["EmailIdentities"][0]
    assert (listed["SendingEnabled"], listed["VerificationStatus"]) == (True, "SUCCESS")
    info = ses.client.get_email_identity(EmailIdentity="example.com")["VerificationInfo"]
    assert "LastSuccessTimestamp" in info


def test_cname_to_the_wrong_target_is_not_enough(ses: Ses) -> None:
    tokens = create(ses, mail_from=None)
    ses.publish_dkim("example.com", tokens[:2])
    ses.zones.add(f"{tokens[2]}._domainkey.example.com", "CNAME", "elsewhere.example.net.")
    assert state(ses)[0] == "PENDING"


def test_undelegated_zone_is_invisible(tmp_path: Path, clock: FakeClock) -> None:
    zones = Zones()
    dns = PublicDns()
    dns.publish_zones(zones.lookup)
    dns.publish_delegations(lambda domain: ["ns-elsewhere.test."])
    with start_in_thread(tmp_path / "s", names=["ses"], clock=clock, public_dns=dns) as running:
        client = ses_client(running.providers["ses"].url, running.token)
        tokens = client.create_email_identity(EmailIdentity="example.com")["DkimAttributes"][
            "Tokens"
        ]
        for token in tokens:
            zones.add(f"{token}._domainkey.example.com", "CNAME", f"{token}.dkim.amazonses.com.")
        assert (
            client.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]["Status"]
            == "PENDING"
        )
        client.close()


def test_mail_from_succeeds_on_the_feedback_mx(ses: Ses) -> None:
    tokens = create(ses)
    ses.publish_dkim("example.com", tokens)
    assert state(ses) == ("SUCCESS", True, "SUCCESS", "PENDING")
    ses.zones.add("mail.example.com", "MX", "10 feedback-smtp.ca-west-1.amazonses.com.")
    assert state(ses)[3] == "PENDING"
    ses.zones.add("mail.example.com", "MX", MX, "20 backup.example.com.")
    assert state(ses)[3] == "PENDING"
    ses.zones.add("mail.example.com", "MX", MX)
    assert state(ses)[3] == "SUCCESS"


def test_gives_up_after_72_hours(ses: Ses) -> None:
    tokens = create(ses)
    ses.advance(71 * HOURS)
    assert state(ses) == ("PENDING", False, "PENDING", "PENDING")
    ses.advance(1 * HOURS + 1)
    got = ses.client.get_email_identity(EmailIdentity="example.com")
    assert got["DkimAttributes"]["Status"] == "FAILED"
    assert got["MailFromAttributes"]["MailFromDomainStatus"] == "FAILED"
    assert got["VerificationInfo"]["ErrorType"] == "HOST_NOT_FOUND"
    ses.publish_dkim("example.com", tokens)
    assert state(ses)[0] == "FAILED"


def test_delay_holds_records_back(ses: Ses) -> None:
    ses.settings(verification_delay=600)
    tokens = create(ses, mail_from=None)
    ses.publish_dkim("example.com", tokens)
    assert state(ses)[0] == "PENDING"
    ses.advance(599)
    assert state(ses)[0] == "PENDING"
    ses.advance(1)
    assert state(ses)[0] == "SUCCESS"


def test_records_removed_later_is_temporary_then_failed(ses: Ses) -> None:
    tokens = create(ses, mail_from=None)
    ses.publish_dkim("example.com", tokens)
    assert state(ses)[0] == "SUCCESS"
    ses.zones.remove(f"{tokens[0]}._domainkey.example.com", "CNAME")
    assert state(ses)[:2] == ("TEMPORARY_FAILURE", True)
    ses.publish_dkim("example.com", tokens)
    assert state(ses)[0] == "SUCCESS"
    ses.zones.remove(f"{tokens[0]}._domainkey.example.com", "CNAME")
    assert state(ses)[0] == "TEMPORARY_FAILURE"
    ses.advance(72 * HOURS)
    assert state(ses)[:2] == ("FAILED", False)


def test_address_identity_borrows_its_domain_dkim(ses: Ses) -> None:
    tokens = create(ses, mail_from=None)
    ses.client.create_email_identity(EmailIdentity="me@example.com")
    ses.publish_dkim("example.com", tokens)
    dkim = ses.client.get_email_identity(EmailIdentity="me@example.com")["DkimAttributes"]
    assert (dkim["Status"], dkim["Tokens"]) == ("SUCCESS", tokens)


def test_restart_keeps_tokens_and_status(ses: Ses) -> None:
    tokens = create(ses, mail_from=None)
    ses.publish_dkim("example.com", tokens)
    assert state(ses)[0] == "SUCCESS"
    state_dir = ses.sandbox.state_dir
    ses.sandbox.stop()
    with start(state_dir, ses.clock, Zones()) as again:
        client = client_for(again)
        got = client.get_email_identity(EmailIdentity="example.com")
        assert got["DkimAttributes"]["Tokens"] == tokens
        assert got["DkimAttributes"]["Status"] == "TEMPORARY_FAILURE"
        client.close()
