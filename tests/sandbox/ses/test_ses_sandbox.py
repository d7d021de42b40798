"""The SES emulator inside the sandbox: registered and listed like the others, its data
persisted across restarts and wiped by reset, faults answered in AWS's error shape,
requests counted by operation."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from vibn.sandbox.registry import EMULATORS

from ..helpers import FakeClock
from ..helpers import client as http_client
from .conftest import Ses, Zones, error, ses_client, start


def test_registered_and_listed(ses: Ses) -> None:
    assert "ses" in EMULATORS
    info = ses.sandbox.info().to_json()["providers"]["ses"]
    assert info["url"].startswith("http://127.0.0.1:")
    assert info["control_url"] == info["url"] + "/_sandbox"
    assert ses.control.get("/health").json()["emulator"] == "ses"


def test_data_survives_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    with start(tmp_path / "s", clock, Zones()) as first:
        client = ses_client(first.providers["ses"].url, first.token)
        client.create_configuration_set(ConfigurationSetName="cs")
        tokens = client.create_email_identity(EmailIdentity="example.com")["DkimAttributes"][
            "Tokens"
        ]
        client.close()
    assert (tmp_path / "s" / "ses.json").exists()
    with start(tmp_path / "s", clock, Zones()) as second:
        client = ses_client(second.providers["ses"].url, second.token)
        got = client.get_email_identity(EmailIdentity="example.com")
        assert got["DkimAttributes"]["Tokens"] == tokens
        assert client.list_configuration_sets()["ConfigurationSets"] == ["cs"]
        client.close()


def test_settings_survive_a_restart(tmp_path: Path, clock: FakeClock) -> None:
    for delay in (30, None):
        with start(tmp_path / "s", clock, Zones()) as running:
            control = http_client(running.providers["ses"].control_url)
            if delay is not None:
                control.post("/ses/settings", json={"verification_delay": delay})
            settings = control.get("/ses/settings").json()
            control.close()
        assert settings["verification_delay"] == 30


def test_reset_wipes(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    ses.control.post("/reset").raise_for_status()
    assert ses.client.list_email_identities()["EmailIdentities"] == []


@pytest.mark.parametrize(
    ("status", "code"),
    [(500, "InternalFailure"), (503, "ServiceUnavailable"), (429, "TooManyRequestsException")],
)
def test_faults_answer_as_aws(ses: Ses, status: int, code: str) -> None:
    ses.control.post(
        "/faults", json={"method": "GET", "path": "^/v2/email/identities/", "status": status}
    ).raise_for_status()
    ses.client.create_email_identity(EmailIdentity="example.com")
    with pytest.raises(ClientError) as caught:
        ses.client.get_email_identity(EmailIdentity="example.com")
    assert error(caught.value)[:2] == (status, code)
    assert ses.client.get_email_identity(EmailIdentity="example.com")["IdentityType"] == "DOMAIN"


def test_requests_counted_by_operation(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="a.com")
    ses.client.get_email_identity(EmailIdentity="a.com")
    ses.client.list_email_identities()
    counts = ses.control.get("/requests").json()["by_route"]
    assert counts == {
        "GET /v2/email/identities/{identity}": 1,
        "POST /v2/email/identities": 1,
        "POST /v2/email/list-identities": 1,
    }


def test_clock_control_moves_time(ses: Ses) -> None:
    ses.client.create_email_identity(EmailIdentity="example.com")
    ses.control.post("/ses/clock", json={"advance": 72 * 3600}).raise_for_status()
    got = ses.client.get_email_identity(EmailIdentity="example.com")
    assert got["DkimAttributes"]["Status"] == "FAILED"
