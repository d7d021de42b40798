"""SES SMTP password derivation, checked against published vectors.

The expected passwords are the test vectors of terraform-provider-aws
(``internal/service/iam/access_key_test.go``, ``TestSESSMTPPasswordFromSecretKeySigV4``),
an implementation known to authenticate against SES; deriving expectations from this
code would only prove it is stable."""

from __future__ import annotations

import pytest

from vibn.providers.aws.smtp import (
    SMTP_HOST,
    derive_smtp_password,
    smtp_endpoint,
    smtp_password,
)


@pytest.mark.parametrize(
    ("region", "secret", "expected"),
    [
        ("eu-central-1", "some+secret+key", "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"),
        ("eu-central-1", "another+secret+key", "BBbphbrQmrKMx42d1N6+C7VINYEBGI5v9VsZeTxwskfh"),
        ("us-west-1", "some+secret+key", "BH+jbMzper5WwlwUar9E1ySBqHa9whi0GPo+sJ0mVYJj"),
        ("us-west-1", "another+secret+key", "BKVmjjMDFk/qqw8EROW99bjCS65PF8WKvK5bSr4Y6EqF"),
    ],
)
def test_published_vectors(region: str, secret: str, expected: str) -> None:
    assert derive_smtp_password(secret, region) == expected


def test_canadian_password_differs_per_region() -> None:
    central = smtp_password("some+secret+key", "ca-central-1")
    west = smtp_password("some+secret+key", "ca-west-1")
    assert central != west
    assert central.startswith("B")  # version byte 0x04 in front
    assert len(central) == 44


def test_non_canadian_region_refused() -> None:
    with pytest.raises(ValueError, match="outside Canada"):
        smtp_password("some+secret+key", "us-west-1")
    with pytest.raises(ValueError, match="outside Canada"):
        smtp_endpoint("eu-central-1")


def test_endpoint() -> None:
    assert SMTP_HOST == "email-smtp.ca-central-1.amazonaws.com"
    assert smtp_endpoint("ca-west-1") == "email-smtp.ca-west-1.amazonaws.com"
