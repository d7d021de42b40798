"""SES emulator request authentication: SigV4 for service ``ses`` in the one Canadian
region the endpoint serves, with the sandbox key pair; every refusal is the 403 AWS
answers with, under the error code AWS uses."""

from __future__ import annotations

from datetime import datetime

import botocore.auth
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from vibn.sandbox.ses import ACCESS_KEY_ID

from .conftest import Ses, error, ses_client


def raw(ses: Ses, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=ses.url, timeout=10.0, trust_env=False) as http:
        return http.get("/v2/email/account", headers=headers)


def signed_headers(ses: Ses, service: str = "ses", region: str = "ca-central-1") -> dict[str, str]:
    request = AWSRequest(method="GET", url=ses.url + "/v2/email/account")
    botocore.auth.SigV4Auth(Credentials(ACCESS_KEY_ID, ses.token), service, region).add_auth(
        request
    )
    return dict(request.headers.items())


def test_no_authorization_is_missing_token(ses: Ses) -> None:
    resp = raw(ses, {})
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert resp.json() == {"message": "Missing Authentication Token"}
    assert resp.headers["x-amzn-RequestId"]


@pytest.mark.parametrize(
    "auth",
    [
        "Bearer 1|abc",
        "AWS4-HMAC-SHA256 Credential=AKIA/20260101/ca-central-1/ses/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIA/ca-central-1/ses/aws4_request, SignedHeaders=host, "
        "Signature=00",
    ],
)
def test_malformed_authorization_is_incomplete(ses: Ses, auth: str) -> None:
    resp = raw(ses, {"Authorization": auth, "X-Amz-Date": "20260101T000000Z"})
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"


def test_missing_date_is_incomplete(ses: Ses) -> None:
    headers = signed_headers(ses)
    del headers["X-Amz-Date"]
    resp = raw(ses, headers)
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] == "IncompleteSignatureException"


@pytest.mark.parametrize("region", ["us-east-1", "ca-west-1"])
def test_other_region_is_refused(ses: Ses, region: str) -> None:
    client = ses_client(ses.url, ses.token, region=region)
    with pytest.raises(ClientError) as caught:
        client.get_account()
    assert error(caught.value) == (
        403,
        "InvalidSignatureException",
        f"Credential should be scoped to a valid region, not '{region}'.",
    )


def test_serving_ca_west_1(ses: Ses) -> None:
    ses.settings(region="ca-west-1")
    assert ses_client(ses.url, ses.token, region="ca-west-1").get_account()["SendingEnabled"]
    with pytest.raises(ClientError) as caught:
        ses.client.get_account()
    assert error(caught.value)[1] == "InvalidSignatureException"
    bad = ses.control.post("/ses/settings", json={"region": "us-east-1"})
    assert bad.status_code == 400


def test_wrong_service_scope(ses: Ses) -> None:
    resp = raw(ses, signed_headers(ses, service="sesv2"))
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert "correct service" in resp.json()["message"]


def test_unknown_key_and_wrong_secret(ses: Ses) -> None:
    with pytest.raises(ClientError) as caught:
        ses_client(ses.url, ses.token, key="AKIAOTHERKEY00000000").get_account()
    assert error(caught.value)[:2] == (403, "UnrecognizedClientException")
    with pytest.raises(ClientError) as caught:
        ses_client(ses.url, "not-the-secret").get_account()
    status, code, message = error(caught.value)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith("The request signature we calculated does not match")


def test_tampered_body_fails_the_signature(ses: Ses) -> None:
    request = AWSRequest(
        method="POST",
        url=ses.url + "/v2/email/configuration-sets",
        data=b'{"ConfigurationSetName":"a"}',
        headers={"Content-Type": "application/json"},
    )
    botocore.auth.SigV4Auth(Credentials(ACCESS_KEY_ID, ses.token), "ses", "ca-central-1").add_auth(
        request
    )
    with httpx.Client(timeout=10.0, trust_env=False) as http:
        resp = http.post(
            request.url, content=b'{"ConfigurationSetName":"b"}', headers=dict(request.headers)
        )
    assert resp.status_code == 403
    assert resp.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


def test_expired_signature(ses: Ses, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: datetime(2020, 1, 1))
    with pytest.raises(ClientError) as caught:
        ses.client.get_account()
    status, code, message = error(caught.value)
    assert (status, code) == (403, "InvalidSignatureException")
    assert message.startswith("Signature expired: 20200101T000000Z is now earlier than")


def test_unknown_operation(ses: Ses) -> None:
    request = AWSRequest(method="GET", url=ses.url + "/v2/email/nothing-here")
    botocore.auth.SigV4Auth(Credentials(ACCESS_KEY_ID, ses.token), "ses", "ca-central-1").add_auth(
        request
    )
    with httpx.Client(timeout=10.0, trust_env=False) as http:
        resp = http.get(request.url, headers=dict(request.headers))
    assert resp.status_code == 404
    assert resp.headers["x-amzn-ErrorType"] == "UnknownOperationException"
