"""The Laravel-style validator and the path router, as plain functions."""

from __future__ import annotations

import pytest

from vibn.sandbox.coolify.validation import Arr, Bool, Int, Str, coerce, validate
from vibn.sandbox.routing import Router


@pytest.mark.parametrize(
    ("spec", "value", "messages"),
    [
        (Str(required=True), None, ["The git branch field is required."]),
        (Str(required=True), "  ", ["The git branch field is required."]),
        (Str(), 5, ["The git branch field must be a string."]),
        (Str(nullable=True), None, []),
        (Str(), None, ["The git branch field must be a string."]),
        (Bool(), "yes", ["The git branch field must be true or false."]),
        (Bool(), "1", []),
        (Int(), "12", []),
        (Int(), 1.5, ["The git branch field must be an integer."]),
        (Int(min=60, max=3600), 7200, ["The git branch field must not be greater than 3600."]),
        (Str(max=3), "abcd", ["The git branch field must not be greater than 3 characters."]),
        (Str(choices=("a", "b")), "c", ["The selected git branch is invalid."]),
        (
            Str(regex=r"^\d+$"),
            7,
            ["The git branch field must be a string.", "The git branch field format is invalid."],
        ),
        (
            Arr(items=Str(min=2)),
            ["ok", "x"],
            ["The git branch.1 field must be at least 2 characters."],
        ),
    ],
)
def test_messages(spec: object, value: object, messages: list[str]) -> None:
    errors = validate({"git_branch": value}, {"git_branch": spec})  # type: ignore[dict-item]
    assert errors.get("git_branch", []) == messages


def test_absent_optional_fields_pass_and_extra_fields_are_named() -> None:
    errors = validate({"b": 1, "zz": 2}, {"a": Str(), "b": Int()}, allowed=("a", "b"))
    assert errors == {"zz": ["This field is not allowed."]}


def test_coerce_follows_model_casts() -> None:
    assert coerce("1", Bool()) is True
    assert coerce(0, Bool()) is False
    assert coerce("42", Int()) == 42
    assert coerce("x", Str()) == "x"


def test_router_matches_in_order_and_reports_templates() -> None:
    router: Router[str] = Router("/api/v1")
    router.add("POST", "/applications/public", "create")
    router.add("GET", "/applications/{uuid}", "get")
    router.add("DELETE", "/applications/{uuid}", "delete")
    res = router.resolve("GET", "/api/v1/applications/abc")
    assert (res.route and res.route.handler, res.params) == ("get", {"uuid": "abc"})
    assert router.resolve("HEAD", "/api/v1/applications/abc").route is not None
    wrong = router.resolve("PUT", "/api/v1/applications/abc")
    assert wrong.route is None and wrong.allowed == ("GET", "DELETE")
    assert router.template_for("PUT", "/api/v1/applications/abc") == "/api/v1/applications/{uuid}"
    assert router.template_for("GET", "/api/v1/nothing/here") is None
    assert router.resolve("GET", "/api/v1/applications/a/b").route is None
