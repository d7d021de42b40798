"""SES emulator email identities through boto3's ``sesv2`` client: what each operation
answers (fields, status codes, ``x-amzn-ErrorType``), duplicates, missing identities and
configuration sets, MAIL FROM rules, paging, tags by ARN, address identities."""

from __future__ import annotations

import re

import pytest
from botocore.exceptions import ClientError

from vibn.sandbox.ses import ACCOUNT_ID

from .conftest import Ses, error

ARN = f"arn:aws:ses:ca-central-1:{ACCOUNT_ID}:identity/"


def test_create_domain_starts_easy_dkim(ses: Ses) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="stack-events")
    answer = ses.client.create_email_identity(
        EmailIdentity="example.com",
        ConfigurationSetName="stack-events",
        Tags=[{"Key": "stack", "Value": "demo"}],
        DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"},
    )
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    assert answer["IdentityType"] == "DOMAIN"
    assert answer["VerifiedForSendingStatus"] is False
    dkim = answer["DkimAttributes"]
    assert dkim["SigningEnabled"] is True
    assert dkim["Status"] == "PENDING"
    assert dkim["SigningHostedZone"] == "dkim.amazonses.com"
    assert dkim["SigningAttributesOrigin"] == "AWS_SES"
    assert dkim["NextSigningKeyLength"] == dkim["CurrentSigningKeyLength"] == "RSA_2048_BIT"
    assert len(set(dkim["Tokens"])) == 3
    assert all(re.fullmatch(r"[a-z2-7]{32}", t) for t in dkim["Tokens"])
    assert "DkimTokens" not in answer


def test_get_returns_every_field(ses: Ses) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    created = ses.client.create_email_identity(
        EmailIdentity="example.com", ConfigurationSetName="cs", Tags=[{"Key": "k", "Value": "v"}]
    )
    got = ses.client.get_email_identity(EmailIdentity="example.com")
    assert got["IdentityType"] == "DOMAIN"
    assert got["FeedbackForwardingStatus"] is True
    assert got["VerifiedForSendingStatus"] is False
    assert got["DkimAttributes"]["Tokens"] == created["DkimAttributes"]["Tokens"]
    assert got["MailFromAttributes"] == {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
    assert got["Policies"] == {}
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    assert got["ConfigurationSetName"] == "cs"
    assert got["VerificationStatus"] == "PENDING"
    assert "LastCheckedTimestamp" in got["VerificationInfo"]


def test_default_key_length_is_2048(ses: Ses) -> None:
    answer = ses.client.create_email_identity(EmailIdentity="example.com")
    assert answer["DkimAttributes"]["NextSigningKeyLength"] == "RSA_2048_BIT"


@pytest.mark.parametrize("name", ["example.com", "EXAMPLE.com"])
def test_duplicate_is_already_exists(ses: Ses, name: str) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    with pytest.raises(ClientError) as caught:
        ses.client.create_email_identity(EmailIdentity=name)
    status, code, message = error(caught.value)
    assert (status, code) == (400, "AlreadyExistsException")
    assert "already exist" in message
    headers = caught.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-errortype"] == "AlreadyExistsException"
    assert headers["x-amzn-requestid"]


def test_missing_configuration_set_creates_nothing(ses: Ses) -> None:
    with pytest.raises(ClientError) as caught:
        ses.client.create_email_identity(EmailIdentity="example.com", ConfigurationSetName="nope")
    assert error(caught.value) == (
        404,
        "NotFoundException",
        "Configuration set <nope> does not exist.",
    )
    assert ses.client.list_email_identities()["EmailIdentities"] == []


def test_missing_identity_is_not_found(ses: Ses) -> None:
    with pytest.raises(ClientError) as caught:
        ses.client.get_email_identity(EmailIdentity="nowhere.com")
    assert error(caught.value)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as caught:
        ses.client.delete_email_identity(EmailIdentity="nowhere.com")
    assert error(caught.value)[:2] == (404, "NotFoundException")


def test_delete_then_get_is_not_found(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    assert (
        ses.client.delete_email_identity(EmailIdentity="example.com")["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 200
    )
    with pytest.raises(ClientError) as caught:
        ses.client.get_email_identity(EmailIdentity="example.com")
    assert error(caught.value)[1] == "NotFoundException"


@pytest.mark.parametrize("name", ["not a domain", "nodot", "-bad.com", "a@b@c.com"])
def test_invalid_identity_is_bad_request(ses: Ses, name: str) -> None:
    with pytest.raises(ClientError) as caught:
        ses.client.create_email_identity(EmailIdentity=name)
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_mail_from_must_be_a_subdomain(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    for bad in ("mail.other.com", "example.com", "notexample.com"):
        with pytest.raises(ClientError) as caught:
            ses.client.put_email_identity_mail_from_attributes(
                EmailIdentity="example.com", MailFromDomain=bad
            )
        assert error(caught.value)[:2] == (400, "BadRequestException"), bad
    ses.client.put_email_identity_mail_from_attributes(
        EmailIdentity="example.com",
        MailFromDomain="mail.example.com",
        BehaviorOnMxFailure="REJECT_MESSAGE",
    )
    got = ses.client.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]
    assert got == {
        "MailFromDomain": "mail.example.com",
        "MailFromDomainStatus": "PENDING",
        "BehaviorOnMxFailure": "REJECT_MESSAGE",
    }
    ses.client.put_email_identity_mail_from_attributes(EmailIdentity="example.com")
    got = ses.client.get_email_identity(EmailIdentity="example.com")["MailFromAttributes"]
    assert got == {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}


def test_mail_from_bad_behavior_and_unknown_identity(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    with pytest.raises(ClientError) as caught:
        ses.client.put_email_identity_mail_from_attributes(
            EmailIdentity="example.com", MailFromDomain="m.example.com", BehaviorOnMxFailure="NO"
        )
    status, code, message = error(caught.value)
    assert (status, code) == (400, "BadRequestException")
    assert message.startswith("1 validation error detected")
    with pytest.raises(ClientError) as caught:
        ses.client.put_email_identity_mail_from_attributes(
            EmailIdentity="other.com", MailFromDomain="m.other.com"
        )
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_dkim_and_configuration_set_attributes(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    ses.client.put_email_identity_dkim_attributes(EmailIdentity="example.com", SigningEnabled=False)
    got = ses.client.get_email_identity(EmailIdentity="example.com")
    assert got["DkimAttributes"]["SigningEnabled"] is False
    with pytest.raises(ClientError) as caught:
        ses.client.put_email_identity_configuration_set_attributes(
            EmailIdentity="example.com", ConfigurationSetName="nope"
        )
    assert error(caught.value)[:2] == (404, "NotFoundException")
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    ses.client.put_email_identity_configuration_set_attributes(
        EmailIdentity="example.com", ConfigurationSetName="cs"
    )
    assert (
        ses.client.get_email_identity(EmailIdentity="example.com")["ConfigurationSetName"] == "cs"
    )
    ses.client.put_email_identity_configuration_set_attributes(EmailIdentity="example.com")
    assert "ConfigurationSetName" not in ses.client.get_email_identity(EmailIdentity="example.com")
    with pytest.raises(ClientError) as caught:
        ses.client.put_email_identity_dkim_attributes(EmailIdentity="nope.com", SigningEnabled=True)
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_dkim_signing_attributes_change_key_length(ses: Ses) -> None:
    tokens = ses.client.create_email_identity(EmailIdentity="example.com")["DkimAttributes"][
        "Tokens"
    ]
    answer = ses.client.put_email_identity_dkim_signing_attributes(
        EmailIdentity="example.com",
        SigningAttributesOrigin="AWS_SES",
        SigningAttributes={"NextSigningKeyLength": "RSA_1024_BIT"},
    )
    assert answer["DkimTokens"] == tokens
    assert answer["DkimStatus"] == "PENDING"
    dkim = ses.client.get_email_identity(EmailIdentity="example.com")["DkimAttributes"]
    assert dkim["NextSigningKeyLength"] == "RSA_1024_BIT"
    assert dkim["CurrentSigningKeyLength"] == "RSA_2048_BIT"


def test_list_pages_with_next_token(ses: Ses) -> None:
    names = [f"d{i}.example.com" for i in range(5)]
    for name in names:
        ses.client.create_email_identity(EmailIdentity=name)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        kwargs = {"PageSize": 2, **({"NextToken": token} if token else {})}
        page = ses.client.list_email_identities(**kwargs)
        pages += 1
        seen += [i["IdentityName"] for i in page["EmailIdentities"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == names
    assert pages == 3
    item = page["EmailIdentities"][0]
    assert item == {
        "IdentityType": "DOMAIN",
        "IdentityName": "d4.example.com",
        "SendingEnabled": False,
        "VerificationStatus": "PENDING",
    }
    with pytest.raises(ClientError) as caught:
        ses.client.list_email_identities(NextToken="%%%not-a-token")
    assert error(caught.value)[:2] == (400, "BadRequestException")
    with pytest.raises(ClientError) as caught:
        ses.client.list_email_identities(PageSize=1001)
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_list_filters(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    ses.client.create_email_identity(EmailIdentity="me@example.com")
    listed = ses.client.list_email_identities(Filter={"IDENTITY_TYPE": "EMAIL_ADDRESS"})
    assert [i["IdentityName"] for i in listed["EmailIdentities"]] == ["me@example.com"]


def test_tags_by_arn(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com", Tags=[{"Key": "a", "Value": "1"}])
    arn = ARN + "example.com"
    ses.client.tag_resource(
        ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}]
    )
    tags = ses.client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert {t["Key"]: t["Value"] for t in tags} == {"a": "3", "b": "2"}
    ses.client.untag_resource(ResourceArn=arn, TagKeys=["a"])
    assert ses.client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "b", "Value": "2"}
    ]
    for missing in (ARN + "nope.com", arn.replace("ca-central-1", "us-east-1")):
        with pytest.raises(ClientError) as caught:
            ses.client.list_tags_for_resource(ResourceArn=missing)
        assert error(caught.value)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as caught:
        ses.client.list_tags_for_resource(ResourceArn="arn:aws:s3:::bucket")
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_tag_limits(ses: Ses) -> None:
    with pytest.raises(ClientError) as caught:
        ses.client.create_email_identity(
            EmailIdentity="example.com",
            Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)],
        )
    assert error(caught.value)[:2] == (400, "BadRequestException")
    with pytest.raises(ClientError) as caught:
        ses.client.create_email_identity(
            EmailIdentity="example.com", Tags=[{"Key": "x" * 129, "Value": "v"}]
        )
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_address_identity_waits_for_its_link(ses: Ses) -> None:
    answer = ses.client.create_email_identity(EmailIdentity="me@example.com")
    assert answer["IdentityType"] == "EMAIL_ADDRESS"
    assert "DkimAttributes" not in answer
    got = ses.client.get_email_identity(EmailIdentity="me@example.com")
    assert got["VerificationStatus"] == "PENDING"
    assert got["DkimAttributes"]["Status"] == "NOT_STARTED"
    ses.control.post("/ses/verify-address", json={"address": "me@example.com"}).raise_for_status()
    got = ses.client.get_email_identity(EmailIdentity="me@example.com")
    assert (got["VerificationStatus"], got["VerifiedForSendingStatus"]) == ("SUCCESS", True)


def test_address_link_expires_after_a_day(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="me@example.com")
    ses.advance(24 * 3600 + 1)
    got = ses.client.get_email_identity(EmailIdentity="me@example.com")
    assert got["VerificationStatus"] == "FAILED"
