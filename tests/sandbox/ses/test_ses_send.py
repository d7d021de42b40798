"""SES emulator GetAccount and SendEmail: who may send (verified domain or address),
the SES sandbox's recipient rule, configuration sets and MAIL FROM on send, and the
accepted messages the control plane lists."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import Ses, error

SIMPLE = {"Simple": {"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "Hi"}}}}


def verified_domain(ses: Ses, mail_from: str | None = None, behavior: str = "") -> None:
    tokens = ses.client.create_email_identity(EmailIdentity="example.com")["DkimAttributes"][
        "Tokens"
    ]
    ses.publish_dkim("example.com", tokens)
    if mail_from:
        ses.client.put_email_identity_mail_from_attributes(
            EmailIdentity="example.com",
            MailFromDomain=mail_from,
            BehaviorOnMxFailure=behavior or "USE_DEFAULT_VALUE",
        )


def send(ses: Ses, sender: str = "noreply@example.com", **extra: Any) -> str:
    answer = ses.client.send_email(
        FromEmailAddress=sender,
        Destination={"ToAddresses": ["customer@elsewhere.com"]},
        Content=SIMPLE,
        **extra,
    )
    return str(answer["MessageId"])


def test_get_account(ses: Ses) -> None:
    account = ses.client.get_account()
    assert account["ProductionAccessEnabled"] is True
    assert account["SendingEnabled"] is True
    assert account["SendQuota"] == {
        "Max24HourSend": 50000.0,
        "MaxSendRate": 14.0,
        "SentLast24Hours": 0.0,
    }
    ses.settings(production_access=False)
    assert ses.client.get_account()["SendQuota"]["Max24HourSend"] == 200.0


def test_unverified_sender_is_rejected(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    with pytest.raises(ClientError) as caught:
        send(ses)
    assert error(caught.value) == (
        400,
        "MessageRejected",
        "Email address is not verified. The following identities failed the check in region "
        "CA-CENTRAL-1: noreply@example.com",
    )


def test_verified_domain_sends_and_is_recorded(ses: Ses) -> None:
    verified_domain(ses)
    message_id = send(
        ses, sender="Shop <noreply@example.com>", EmailTags=[{"Name": "t", "Value": "v"}]
    )
    sent = ses.control.get("/ses/messages").json()["messages"]
    assert [m["MessageId"] for m in sent] == [message_id]
    assert sent[0]["from"] == "noreply@example.com"
    assert sent[0]["recipients"] == ["customer@elsewhere.com"]
    assert sent[0]["subject"] == "Hello"
    assert ses.client.get_account()["SendQuota"]["SentLast24Hours"] == 1.0
    ses.control.delete("/ses/messages").raise_for_status()
    assert ses.control.get("/ses/messages").json()["messages"] == []


def test_verified_address_sends(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="me@gmail.com")
    ses.control.post("/ses/verify-address", json={"address": "me@gmail.com"}).raise_for_status()
    assert send(ses, sender="me@gmail.com")


def test_sandbox_account_needs_verified_recipients(ses: Ses) -> None:
    verified_domain(ses)
    ses.settings(production_access=False)
    with pytest.raises(ClientError) as caught:
        send(ses)
    assert error(caught.value)[1] == "MessageRejected"
    assert "customer@elsewhere.com" in error(caught.value)[2]


def test_configuration_sets_on_send(ses: Ses) -> None:
    verified_domain(ses)
    with pytest.raises(ClientError) as caught:
        send(ses, ConfigurationSetName="nope")
    assert error(caught.value)[:2] == (404, "NotFoundException")
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    ses.client.put_email_identity_configuration_set_attributes(
        EmailIdentity="example.com", ConfigurationSetName="cs"
    )
    send(ses)
    assert ses.control.get("/ses/messages").json()["messages"][0]["configuration_set"] == "cs"
    ses.client.delete_configuration_set(ConfigurationSetName="cs")
    with pytest.raises(ClientError) as caught:
        send(ses)
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_reject_message_mail_from_must_be_verified(ses: Ses) -> None:
    verified_domain(ses, mail_from="mail.example.com", behavior="REJECT_MESSAGE")
    with pytest.raises(ClientError) as caught:
        send(ses)
    assert error(caught.value)[:2] == (400, "MailFromDomainNotVerifiedException")
    ses.zones.add("mail.example.com", "MX", "10 feedback-smtp.ca-central-1.amazonses.com.")
    assert send(ses)


def test_raw_message_from_header(ses: Ses) -> None:
    verified_domain(ses)
    data = b"From: noreply@example.com\r\nTo: a@b.com\r\nSubject: Raw\r\n\r\nbody"
    answer = ses.client.send_email(
        Destination={"ToAddresses": ["a@b.com"]}, Content={"Raw": {"Data": data}}
    )
    assert answer["MessageId"]
    assert ses.control.get("/ses/messages").json()["messages"][0]["subject"] == "Raw"


def test_unknown_template_is_not_found(ses: Ses) -> None:
    verified_domain(ses)
    with pytest.raises(ClientError) as caught:
        ses.client.send_email(
            FromEmailAddress="noreply@example.com",
            Destination={"ToAddresses": ["a@b.com"]},
            Content={"Template": {"TemplateName": "welcome", "TemplateData": "{}"}},
        )
    assert error(caught.value)[:2] == (404, "NotFoundException")
