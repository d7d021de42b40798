"""Contract tests of the ``ses.configuration_set`` and ``ses.identity`` drivers, through
boto3 against the sandbox's SES emulator: create, observe, update, delete, adoption of
this stack's own leftovers, refusal of anyone else's, and the ``EmailReady`` condition
following what SES sees in public DNS."""

from __future__ import annotations

from typing import Any

import pytest

from vibn.providers.aws.ses import EVENT_DESTINATION, owner_tags
from vibn.providers.base import Desired, Observed, Owner, Recorded, Scope
from vibn.providers.errors import ConflictError

from .conftest import BUS, STACK, WS, Aws, Ctx

CS, ID = "ses.configuration_set", "ses.identity"
CS_NAME = f"vibn-{WS}-{STACK}"
DOMAIN = "mysaas.com"
MX = "10 feedback-smtp.ca-central-1.amazonses.com."
SCOPE = Scope(WS, frozenset({STACK}))


def config_set(
    stack: str = STACK, types: tuple[str, ...] = ("BOUNCE", "COMPLAINT"), ws: str = WS
) -> Desired:
    props = {"name": f"vibn-{ws}-{stack}", "event_types": list(types), "event_bus_arn": BUS}
    return Desired("email.events", CS, Owner(ws, stack, "email.events"), props)


def identity(**over: Any) -> Desired:
    props = {
        "domain": DOMAIN,
        "configuration_set": CS_NAME,
        "mail_from_domain": f"mail.{DOMAIN}",
        "dkim_key_length": "RSA_2048_BIT",
        **over,
    }
    return Desired("email.identity", ID, Owner(WS, STACK, "email.identity"), props)


def record(obs: Observed, stack: str = STACK) -> Recorded:
    return Recorded(obs.address, obs.kind, obs.provider_id, obs.props, obs.outputs, stack=stack)


def observe(aws: Aws, kind: str, records: list[Recorded] | None = None) -> list[Observed]:
    return aws.drivers[kind].observe(SCOPE, Ctx(records={ID: records or []}))


def ready(obs: Observed) -> tuple[str, str, str]:
    (cond,) = obs.conditions
    assert cond.type == "EmailReady"
    return cond.status, cond.reason, cond.message


# -- configuration sets ------------------------------------------------------------


def test_configuration_set_create_and_observe(aws: Aws) -> None:
    created = aws.drivers[CS].create(config_set())
    assert created.provider_id == CS_NAME
    assert created.props == {
        "name": CS_NAME,
        "event_types": ["BOUNCE", "COMPLAINT"],
        "event_bus_arn": BUS,
    }
    assert created.outputs == {"name": CS_NAME}
    tags = aws.raw.get_configuration_set(ConfigurationSetName=CS_NAME)["Tags"]
    assert tags == owner_tags(Owner(WS, STACK, "email.events"))
    dests = aws.raw.get_configuration_set_event_destinations(ConfigurationSetName=CS_NAME)
    assert [d["Name"] for d in dests["EventDestinations"]] == [EVENT_DESTINATION]
    assert observe(aws, CS) == [created]


def test_configuration_set_observe_keeps_only_the_scope(aws: Aws) -> None:
    ours = aws.drivers[CS].create(config_set())
    aws.drivers[CS].create(config_set(stack="other"))
    aws.drivers[CS].create(config_set(stack="shop", ws="acme-co"))  # vibn-acme-co-shop
    aws.raw.create_configuration_set(ConfigurationSetName=f"vibn-{WS}-untagged")
    aws.raw.create_configuration_set(ConfigurationSetName="someone-else")
    aws.control.delete("/requests")
    assert observe(aws, CS) == [ours]
    counts = aws.requests()
    assert counts["POST /v2/email/list-configuration-sets"] == 1
    assert counts["GET /v2/email/configuration-sets/{name}"] == 4  # the vibn-acme-* candidates
    assert counts["GET /v2/email/configuration-sets/{name}/event-destinations"] == 1


def test_configuration_set_observe_pages(aws: Aws) -> None:
    for i in range(3):
        aws.raw.create_configuration_set(ConfigurationSetName=f"filler-{i}")
    ours = aws.drivers[CS].create(config_set())
    assert observe(aws, CS) == [ours]


def test_configuration_set_update_repairs_the_destination(aws: Aws) -> None:
    driver = aws.drivers[CS]
    driver.create(config_set())
    aws.raw.update_configuration_set_event_destination(
        ConfigurationSetName=CS_NAME,
        EventDestinationName=EVENT_DESTINATION,
        EventDestination={
            "Enabled": False,
            "MatchingEventTypes": ["BOUNCE"],
            "EventBridgeDestination": {"EventBusArn": BUS},
        },
    )
    (drifted,) = observe(aws, CS)
    assert drifted.props["event_types"] == []
    fixed = driver.update(config_set(types=("BOUNCE", "COMPLAINT", "DELIVERY")), drifted)
    assert fixed.props["event_types"] == ["BOUNCE", "COMPLAINT", "DELIVERY"]
    aws.raw.delete_configuration_set_event_destination(
        ConfigurationSetName=CS_NAME, EventDestinationName=EVENT_DESTINATION
    )
    (gone,) = observe(aws, CS)
    assert gone.props["event_bus_arn"] is None
    assert driver.update(config_set(), gone).props["event_types"] == ["BOUNCE", "COMPLAINT"]


def test_configuration_set_delete(aws: Aws) -> None:
    created = aws.drivers[CS].create(config_set())
    aws.drivers[CS].delete(created)
    assert observe(aws, CS) == []
    aws.drivers[CS].delete(created)


def test_configuration_set_adopts_its_own(aws: Aws) -> None:
    aws.raw.create_configuration_set(
        ConfigurationSetName=CS_NAME, Tags=owner_tags(Owner(WS, STACK, "email.events"))
    )
    adopted = aws.drivers[CS].create(config_set())
    assert adopted.props["event_types"] == ["BOUNCE", "COMPLAINT"]
    again = aws.drivers[CS].create(config_set())
    assert again == adopted


@pytest.mark.parametrize(
    ("tags", "who"),
    [([], "no vibn tags"), (owner_tags(Owner(WS, "other", "x")), "stack other")],
)
def test_configuration_set_refuses_anyone_else(aws: Aws, tags: list[Any], who: str) -> None:
    aws.raw.create_configuration_set(ConfigurationSetName=CS_NAME, Tags=tags)
    with pytest.raises(ConflictError) as caught:
        aws.drivers[CS].create(config_set())
    assert CS_NAME in str(caught.value)
    assert who in str(caught.value)
    dests = aws.raw.get_configuration_set_event_destinations(ConfigurationSetName=CS_NAME)
    assert dests["EventDestinations"] == []


# -- identities --------------------------------------------------------------------


@pytest.fixture
def with_set(aws: Aws) -> Aws:
    aws.drivers[CS].create(config_set())
    return aws


def test_identity_create(with_set: Aws) -> None:
    aws = with_set
    created = aws.drivers[ID].create(identity())
    assert created.provider_id == DOMAIN
    assert created.props == {
        "domain": DOMAIN,
        "configuration_set": CS_NAME,
        "mail_from_domain": f"mail.{DOMAIN}",
        "dkim_key_length": "RSA_2048_BIT",
    }
    out = created.outputs
    assert len(out["dkim_tokens"]) == 3
    assert (out["signing_hosted_zone"], out["dkim_status"]) == ("dkim.amazonses.com", "PENDING")
    assert (out["mail_from_status"], out["verified"]) == ("PENDING", False)
    status, reason, message = ready(created)
    assert (status, reason) == ("False", "PendingVerification")
    assert f"{out['dkim_tokens'][0]}._domainkey.{DOMAIN} CNAME" in message
    assert "feedback-smtp.ca-central-1.amazonses.com" in message
    got = aws.raw.get_email_identity(EmailIdentity=DOMAIN)
    assert got["Tags"] == owner_tags(Owner(WS, STACK, "email.identity"))
    assert got["MailFromAttributes"]["BehaviorOnMxFailure"] == "USE_DEFAULT_VALUE"


def test_email_ready_follows_dns(with_set: Aws) -> None:
    aws = with_set
    created = aws.drivers[ID].create(identity())
    for token in created.outputs["dkim_tokens"]:
        aws.zones.add(f"{token}._domainkey.{DOMAIN}", "CNAME", f"{token}.dkim.amazonses.com.")
    (dkim_done,) = observe(aws, ID, [record(created)])
    assert dkim_done.outputs["verified"] is True
    status, reason, message = ready(dkim_done)
    assert (status, reason) == ("False", "PendingVerification")
    assert "DKIM" not in message and f"mail.{DOMAIN} MX" in message
    aws.zones.add(f"mail.{DOMAIN}", "MX", MX)
    (done,) = observe(aws, ID, [record(created)])
    assert ready(done)[:2] == ("True", "Verified")
    assert (done.outputs["dkim_status"], done.outputs["mail_from_status"]) == (
        "SUCCESS",
        "SUCCESS",
    )


def test_email_ready_without_mail_from(with_set: Aws) -> None:
    aws = with_set
    created = aws.drivers[ID].create(identity(mail_from_domain=None))
    for token in created.outputs["dkim_tokens"]:
        aws.zones.add(f"{token}._domainkey.{DOMAIN}", "CNAME", f"{token}.dkim.amazonses.com.")
    (done,) = observe(aws, ID, [record(created)])
    assert ready(done)[0] == "True"


def test_email_ready_fails_after_72_hours(with_set: Aws) -> None:
    aws = with_set
    created = aws.drivers[ID].create(identity())
    aws.clock.now += 72 * 3600
    (failed,) = observe(aws, ID, [record(created)])
    status, reason, message = ready(failed)
    assert (status, reason) == ("False", "VerificationFailed")
    assert "72 hours" in message


def test_identity_observe_reads_each_record_once(with_set: Aws) -> None:
    aws = with_set
    created = aws.drivers[ID].create(identity())
    aws.control.delete("/requests")
    others = [
        Recorded("x", ID, "other.com", {"domain": "other.com"}, {}, stack="not-in-scope"),
        Recorded("y", ID, "gone.com", {"domain": "gone.com"}, {}, stack=STACK),
    ]
    assert observe(aws, ID, [record(created), *others]) == [
        aws.drivers[ID].observe(SCOPE, Ctx(records={ID: [record(created)]}))[0]
    ]
    assert aws.requests()["GET /v2/email/identities/{identity}"] == 3  # 2 + the comparison


def test_identity_with_another_owner_is_absent(with_set: Aws) -> None:
    aws = with_set
    aws.raw.create_email_identity(
        EmailIdentity=DOMAIN, Tags=owner_tags(Owner(WS, "other", "email.identity"))
    )
    rec = Recorded("email.identity", ID, DOMAIN, {"domain": DOMAIN}, {}, stack=STACK)
    assert observe(aws, ID, [rec]) == []


def test_identity_update_in_place(with_set: Aws) -> None:
    aws = with_set
    driver = aws.drivers[ID]
    created = driver.create(identity())
    tokens = created.outputs["dkim_tokens"]
    updated = driver.update(
        identity(
            mail_from_domain=f"bounce.{DOMAIN}",
            configuration_set=None,
            dkim_key_length="RSA_1024_BIT",
        ),
        created,
    )
    assert updated.props == {
        "domain": DOMAIN,
        "configuration_set": None,
        "mail_from_domain": f"bounce.{DOMAIN}",
        "dkim_key_length": "RSA_1024_BIT",
    }
    assert updated.outputs["dkim_tokens"] == tokens
    cleared = driver.update(identity(mail_from_domain=None), updated)
    assert cleared.props["mail_from_domain"] is None
    assert cleared.props["configuration_set"] == CS_NAME


def test_identity_delete(with_set: Aws) -> None:
    aws = with_set
    created = aws.drivers[ID].create(identity())
    aws.drivers[ID].delete(created)
    assert observe(aws, ID, [record(created)]) == []
    aws.drivers[ID].delete(created)


def test_identity_adopts_its_own(with_set: Aws) -> None:
    aws = with_set
    aws.raw.create_email_identity(
        EmailIdentity=DOMAIN, Tags=owner_tags(Owner(WS, STACK, "email.identity"))
    )
    adopted = aws.drivers[ID].create(identity())
    assert adopted.props["mail_from_domain"] == f"mail.{DOMAIN}"
    assert adopted.props["configuration_set"] == CS_NAME


@pytest.mark.parametrize(
    ("tags", "who"),
    [
        ([], "no vibn tags"),
        (owner_tags(Owner("rival", STACK, "email.identity")), "workspace rival"),
        (owner_tags(Owner(WS, STACK, "other.address")), "address other.address"),
    ],
)
def test_identity_refuses_anyone_else(with_set: Aws, tags: list[Any], who: str) -> None:
    aws = with_set
    aws.raw.create_email_identity(EmailIdentity=DOMAIN, Tags=tags)
    with pytest.raises(ConflictError) as caught:
        aws.drivers[ID].create(identity())
    assert f"SES identity {DOMAIN} already exists" in str(caught.value)
    assert who in str(caught.value)
    mail_from = aws.raw.get_email_identity(EmailIdentity=DOMAIN)["MailFromAttributes"]
    assert "MailFromDomain" not in mail_from


def test_transient_faults_are_retried(with_set: Aws) -> None:
    aws = with_set
    aws.fault(method="POST", path="^/v2/email/identities$", status=500, times=1)
    aws.fault(method="GET", path="^/v2/email/identities/", status=429, times=1)
    created = aws.drivers[ID].create(identity())
    assert created.outputs["dkim_status"] == "PENDING"
    assert len(aws.waits) == 2
