"""SES emulator configuration sets and event destinations through boto3: lifecycle,
duplicates, names, paging, and the destination rules SES enforces (event types, exactly
one target, the default EventBridge bus of the endpoint's region, at most 10)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from vibn.sandbox.ses import ACCOUNT_ID

from .conftest import BUS, Ses, error


def bridge(types: list[str] | None = None, bus: str = BUS) -> dict[str, Any]:
    return {
        "Enabled": True,
        "MatchingEventTypes": types or ["BOUNCE", "COMPLAINT"],
        "EventBridgeDestination": {"EventBusArn": bus},
    }


def test_lifecycle(ses: Ses) -> None:
    ses.client.create_configuration_set(
        ConfigurationSetName="vibn-acme-shop", Tags=[{"Key": "vibn-stack", "Value": "shop"}]
    )
    got = ses.client.get_configuration_set(ConfigurationSetName="vibn-acme-shop")
    assert got["ConfigurationSetName"] == "vibn-acme-shop"
    assert got["Tags"] == [{"Key": "vibn-stack", "Value": "shop"}]
    assert got["SendingOptions"] == {"SendingEnabled": True}
    assert ses.client.list_configuration_sets()["ConfigurationSets"] == ["vibn-acme-shop"]
    ses.client.delete_configuration_set(ConfigurationSetName="vibn-acme-shop")
    with pytest.raises(ClientError) as caught:
        ses.client.get_configuration_set(ConfigurationSetName="vibn-acme-shop")
    assert error(caught.value) == (
        404,
        "NotFoundException",
        "Configuration set <vibn-acme-shop> does not exist.",
    )
    with pytest.raises(ClientError) as caught:
        ses.client.delete_configuration_set(ConfigurationSetName="vibn-acme-shop")
    assert error(caught.value)[:2] == (404, "NotFoundException")


def test_options_round_trip(ses: Ses) -> None:
    ses.client.create_configuration_set(
        ConfigurationSetName="cs",
        DeliveryOptions={"TlsPolicy": "REQUIRE"},
        SuppressionOptions={"SuppressedReasons": ["BOUNCE"]},
    )
    got = ses.client.get_configuration_set(ConfigurationSetName="cs")
    assert got["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    assert got["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE"]}


def test_duplicate_and_bad_names(ses: Ses) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    with pytest.raises(ClientError) as caught:
        ses.client.create_configuration_set(ConfigurationSetName="cs")
    assert error(caught.value)[:2] == (400, "AlreadyExistsException")
    for bad in ("has space", "x" * 65, "dot.ted"):
        with pytest.raises(ClientError) as caught:
            ses.client.create_configuration_set(ConfigurationSetName=bad)
        assert error(caught.value)[:2] == (400, "BadRequestException"), bad
    ses.client.create_configuration_set(ConfigurationSetName="x" * 64)


def test_list_pages(ses: Ses) -> None:
    for i in range(5):
        ses.client.create_configuration_set(ConfigurationSetName=f"cs-{i}")
    first = ses.client.list_configuration_sets(PageSize=3)
    assert first["ConfigurationSets"] == ["cs-0", "cs-1", "cs-2"]
    second = ses.client.list_configuration_sets(PageSize=3, NextToken=first["NextToken"])
    assert second["ConfigurationSets"] == ["cs-3", "cs-4"]
    assert "NextToken" not in second


def test_event_destination_lifecycle(ses: Ses) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    ses.client.create_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="vibn-events", EventDestination=bridge()
    )
    listed = ses.client.get_configuration_set_event_destinations(ConfigurationSetName="cs")
    assert listed["EventDestinations"] == [
        {
            "Name": "vibn-events",
            "Enabled": True,
            "MatchingEventTypes": ["BOUNCE", "COMPLAINT"],
            "EventBridgeDestination": {"EventBusArn": BUS},
        }
    ]
    with pytest.raises(ClientError) as caught:
        ses.client.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestinationName="vibn-events", EventDestination=bridge()
        )
    assert error(caught.value)[:2] == (400, "AlreadyExistsException")
    ses.client.update_configuration_set_event_destination(
        ConfigurationSetName="cs",
        EventDestinationName="vibn-events",
        EventDestination=bridge(["BOUNCE"]),
    )
    listed = ses.client.get_configuration_set_event_destinations(ConfigurationSetName="cs")
    assert listed["EventDestinations"][0]["MatchingEventTypes"] == ["BOUNCE"]
    ses.client.delete_configuration_set_event_destination(
        ConfigurationSetName="cs", EventDestinationName="vibn-events"
    )
    assert (
        ses.client.get_configuration_set_event_destinations(ConfigurationSetName="cs")[
            "EventDestinations"
        ]
        == []
    )
    with pytest.raises(ClientError) as caught:
        ses.client.update_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestinationName="vibn-events", EventDestination=bridge()
        )
    assert error(caught.value)[:2] == (404, "NotFoundException")


def test_destination_on_missing_set(ses: Ses) -> None:
    with pytest.raises(ClientError) as caught:
        ses.client.create_configuration_set_event_destination(
            ConfigurationSetName="nope", EventDestinationName="d", EventDestination=bridge()
        )
    assert error(caught.value)[:2] == (404, "NotFoundException")
    with pytest.raises(ClientError) as caught:
        ses.client.get_configuration_set_event_destinations(ConfigurationSetName="nope")
    assert error(caught.value)[:2] == (404, "NotFoundException")


@pytest.mark.parametrize(
    "spec",
    [
        bridge(["BOUNCE", "EXPLODE"]),
        {"Enabled": True, "MatchingEventTypes": [], "EventBridgeDestination": {"EventBusArn": BUS}},
        {"Enabled": True, "MatchingEventTypes": ["BOUNCE"]},
        {
            **bridge(),
            "SnsDestination": {"TopicArn": f"arn:aws:sns:ca-central-1:{ACCOUNT_ID}:t"},
        },
        bridge(bus=f"arn:aws:events:us-east-1:{ACCOUNT_ID}:event-bus/default"),
        bridge(bus=f"arn:aws:events:ca-central-1:{ACCOUNT_ID}:event-bus/custom"),
        {
            "MatchingEventTypes": ["BOUNCE"],
            "SnsDestination": {"TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT_ID}:t"},
        },
        {
            "MatchingEventTypes": ["BOUNCE"],
            "CloudWatchDestination": {
                "DimensionConfigurations": [
                    {
                        "DimensionName": "d",
                        "DimensionValueSource": "NOWHERE",
                        "DefaultDimensionValue": "x",
                    }
                ]
            },
        },
    ],
)
def test_invalid_destinations(ses: Ses, spec: dict[str, Any]) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    with pytest.raises(ClientError) as caught:
        ses.client.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestinationName="d", EventDestination=spec
        )
    assert error(caught.value)[:2] == (400, "BadRequestException")


def test_other_targets_accepted(ses: Ses) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    ses.client.create_configuration_set_event_destination(
        ConfigurationSetName="cs",
        EventDestinationName="sns",
        EventDestination={
            "Enabled": True,
            "MatchingEventTypes": ["BOUNCE", "COMPLAINT"],
            "SnsDestination": {"TopicArn": f"arn:aws:sns:ca-central-1:{ACCOUNT_ID}:ses-events"},
        },
    )
    ses.client.create_configuration_set_event_destination(
        ConfigurationSetName="cs",
        EventDestinationName="cw",
        EventDestination={
            "MatchingEventTypes": ["SEND"],
            "CloudWatchDestination": {
                "DimensionConfigurations": [
                    {
                        "DimensionName": "stack",
                        "DimensionValueSource": "MESSAGE_TAG",
                        "DefaultDimensionValue": "none",
                    }
                ]
            },
        },
    )
    names = [
        d["Name"]
        for d in ses.client.get_configuration_set_event_destinations(ConfigurationSetName="cs")[
            "EventDestinations"
        ]
    ]
    assert names == ["sns", "cw"]


def test_at_most_ten_destinations(ses: Ses) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    for i in range(10):
        ses.client.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestinationName=f"d{i}", EventDestination=bridge()
        )
    with pytest.raises(ClientError) as caught:
        ses.client.create_configuration_set_event_destination(
            ConfigurationSetName="cs", EventDestinationName="d10", EventDestination=bridge()
        )
    assert error(caught.value)[:2] == (400, "LimitExceededException")


def test_configuration_set_tags_by_arn(ses: Ses) -> None:
    ses.client.create_configuration_set(ConfigurationSetName="cs")
    arn = f"arn:aws:ses:ca-central-1:{ACCOUNT_ID}:configuration-set/cs"
    ses.client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert ses.client.get_configuration_set(ConfigurationSetName="cs")["Tags"] == [
        {"Key": "k", "Value": "v"}
    ]
