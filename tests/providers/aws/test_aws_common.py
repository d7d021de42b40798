"""AWS client wiring: the region is always Canadian (a non-Canadian one is refused
naming the setting), boto3's own endpoint settings are honoured, errors become vibn's
typed errors with AWS's code and message, and only transient faults are retried."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from vibn.providers.aws.common import (
    AwsConfigError,
    AwsSettings,
    RetryPolicy,
    call,
    resolve_region,
    ses_client,
    translate,
)
from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    QuotaError,
    TransientError,
)

from .conftest import Aws

CREDS = AwsSettings(access_key_id="AKIAEXAMPLE", secret_access_key="secret")


@pytest.fixture(autouse=True)
def _no_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Keep the machine's ~/.aws out of these tests."""
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SESV2", raising=False)


def test_default_region_is_ca_central_1() -> None:
    assert resolve_region(AwsSettings(), environ={}) == "ca-central-1"
    assert ses_client(CREDS, environ={}).meta.region_name == "ca-central-1"


def test_canadian_regions_accepted() -> None:
    assert resolve_region(AwsSettings(region="ca-west-1"), environ={}) == "ca-west-1"
    assert resolve_region(AwsSettings(), environ={"AWS_REGION": "ca-west-1"}) == "ca-west-1"


@pytest.mark.parametrize(
    ("settings", "environ", "named"),
    [
        (AwsSettings(region="us-east-1"), {}, "aws.region='us-east-1'"),
        (
            AwsSettings(region="eu-west-1", region_setting="VIBN_AWS_REGION"),
            {},
            "VIBN_AWS_REGION='eu-west-1'",
        ),
        (AwsSettings(), {"AWS_REGION": "us-east-1"}, "AWS_REGION='us-east-1'"),
        (AwsSettings(), {"AWS_DEFAULT_REGION": "us-west-2"}, "AWS_DEFAULT_REGION='us-west-2'"),
    ],
)
def test_non_canadian_region_refused(
    settings: AwsSettings, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(AwsConfigError) as caught:
        ses_client(settings, environ=environ)
    assert named in str(caught.value)
    assert "outside Canada" in str(caught.value)


def test_profile_region_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("[default]\nregion = us-east-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    with pytest.raises(AwsConfigError, match="region of AWS profile 'default'='us-east-1'"):
        resolve_region(AwsSettings(), environ={})
    assert resolve_region(AwsSettings(region="ca-central-1"), environ={}) == "ca-central-1"


def test_endpoint_env_vars_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9/global")
    assert ses_client(CREDS, environ={}).meta.endpoint_url == "http://127.0.0.1:9/global"
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", "http://127.0.0.1:9/ses")
    assert ses_client(CREDS, environ={}).meta.endpoint_url == "http://127.0.0.1:9/ses"
    explicit = AwsSettings(
        endpoint_url="http://127.0.0.1:9/explicit", access_key_id="a", secret_access_key="b"
    )
    assert ses_client(explicit, environ={}).meta.endpoint_url == "http://127.0.0.1:9/explicit"


def test_real_endpoint_when_nothing_configured() -> None:
    assert ses_client(CREDS, environ={}).meta.endpoint_url == (
        "https://email.ca-central-1.amazonaws.com"
    )


def test_env_endpoint_reaches_the_emulator(aws: Aws, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_SESV2", aws.settings.endpoint_url or "")
    settings = AwsSettings(
        access_key_id=aws.settings.access_key_id,
        secret_access_key=aws.settings.secret_access_key,
    )
    assert ses_client(settings, environ={}).get_account()["SendingEnabled"] is True


def client_error(code: str, status: int, message: str = "m") -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}},
        },
        "Op",
    )


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("NotFoundException", 404, NotFoundError),
        ("AlreadyExistsException", 400, ConflictError),
        ("BadRequestException", 400, InvalidError),
        ("MessageRejected", 400, InvalidError),
        ("LimitExceededException", 400, QuotaError),
        ("TooManyRequestsException", 429, QuotaError),
        ("InvalidSignatureException", 403, AuthError),
        ("UnrecognizedClientException", 403, AuthError),
        ("InternalFailure", 500, TransientError),
        ("ConcurrentModificationException", 500, TransientError),
    ],
)
def test_translate(code: str, status: int, kind: type[Exception]) -> None:
    err = translate(client_error(code, status, "what AWS said"), "ses.identity x")
    assert type(err) is kind
    assert err.message == f"{code}: what AWS said"
    assert err.status == status
    assert err.resource == "ses.identity x"


def test_connection_failure_is_transient() -> None:
    err = translate(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert isinstance(err, TransientError)


def test_call_retries_transient_faults(aws: Aws) -> None:
    aws.fault(method="GET", path="^/v2/email/account$", status=503, times=2)
    waits: list[float] = []
    policy = RetryPolicy(attempts=4, initial=0.01, maximum=0.05, sleep=waits.append)
    answer = call(aws.raw.get_account, "ses account", policy)
    assert answer["SendingEnabled"] is True
    assert len(waits) == 2
    assert aws.requests()["GET /v2/email/account"] == 3


def test_call_honours_retry_after_and_gives_up(aws: Aws) -> None:
    aws.fault(method="GET", path="^/v2/email/account$", status=429, times=None)
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, sleep=waits.append)
    with pytest.raises(QuotaError) as caught:
        call(aws.raw.get_account, "ses account", policy)
    assert waits == [1.0, 1.0]
    assert "TooManyRequestsException" in caught.value.message


def test_call_does_not_retry_client_errors(aws: Aws) -> None:
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append)
    with pytest.raises(NotFoundError) as caught:
        call(lambda: aws.raw.get_email_identity(EmailIdentity="nope.com"), "x", policy)
    assert waits == []
    assert caught.value.resource == "x"
    assert aws.requests()["GET /v2/email/identities/{identity}"] == 1
