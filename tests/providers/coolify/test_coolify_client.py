"""The Coolify client's retry policy and error mapping, over ``httpx.MockTransport``.

These pin the transport rules the drivers rely on: only timeouts, connection failures,
429 and 5xx are retried (honouring a capped ``Retry-After``); every other answer becomes
a typed error in Coolify's own words, at once.
"""

from __future__ import annotations

import json

import httpx
import pytest

from vibn.providers.coolify.client import CoolifyClient, RetryPolicy, api_base
from vibn.providers.errors import (
    AuthError,
    ConflictError,
    InvalidError,
    NotFoundError,
    QuotaError,
    TransientError,
)


class Script:
    """Answers requests from a list, recording each request and each wait."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.waits: list[float] = []
        self.hooked: list[tuple[str, str, int]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, attempts: int = 4, cap: float = 30.0) -> CoolifyClient:
        policy = RetryPolicy(
            attempts=attempts,
            initial=1.0,
            maximum=4.0,
            retry_after_cap=cap,
            sleep=self.waits.append,
            jitter=lambda: 1.0,
        )
        return CoolifyClient(
            "http://coolify.test",
            "tok",
            transport=httpx.MockTransport(self),
            retry=policy,
            on_request=lambda m, p, s: self.hooked.append((m, p, s)),
        )


def ok(body: object, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_requests_carry_bearer_token_and_api_prefix() -> None:
    script = Script(ok([{"uuid": "p1", "name": "x", "description": None}]))
    assert script.client().list_projects()[0]["uuid"] == "p1"
    request = script.requests[0]
    assert request.headers["Authorization"] == "Bearer tok"
    assert request.url.path == "/api/v1/projects"
    assert script.hooked == [("GET", "/projects", 200)]


def test_api_base_accepts_instance_url_with_or_without_prefix() -> None:
    assert api_base("https://c.example/") == "https://c.example/api/v1"
    assert api_base("https://c.example/api/v1") == "https://c.example/api/v1"


def test_path_parameters_are_escaped_and_hook_gets_the_route_template() -> None:
    script = Script(ok({"uuid": "a/b"}))
    script.client().get_application("a/b")
    assert script.requests[0].url.raw_path == b"/api/v1/applications/a%2Fb"
    assert script.hooked == [("GET", "/applications/{uuid}", 200)]


def test_5xx_is_retried_with_exponential_backoff_then_succeeds() -> None:
    script = Script(ok({"message": "boom"}, 500), ok({"message": "boom"}, 503), ok([]))
    assert script.client().list_databases() == []
    assert len(script.requests) == 3
    assert script.waits == [1.0, 2.0]  # jitter pinned to its top: full exponential step
    assert [s for _, _, s in script.hooked] == [500, 503, 200]


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(initial=1.0, maximum=4.0, jitter=lambda: 0.0)
    assert [policy.delay(n, None) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    top = RetryPolicy(initial=1.0, maximum=4.0, jitter=lambda: 1.0)
    assert [top.delay(n, None) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 4.0]


def test_retries_are_bounded_and_end_in_a_transient_error_with_coolify_message() -> None:
    script = Script(*[ok({"message": "Server Error"}, 502) for _ in range(3)])
    with pytest.raises(TransientError) as caught:
        script.client(attempts=3).list_servers()
    assert caught.value.status == 502
    assert caught.value.message == "Server Error"
    assert len(script.requests) == 3
    assert len(script.waits) == 2


def test_429_honours_retry_after_capped() -> None:
    script = Script(
        ok({"message": "Too Many Attempts."}, 429, **{"Retry-After": "7"}),
        ok({"message": "Too Many Attempts."}, 429, **{"Retry-After": "120"}),
        ok([]),
    )
    assert script.client(cap=30.0).list_applications() == []
    assert script.waits == [7.0, 30.0]


def test_429_after_all_attempts_is_a_quota_error() -> None:
    script = Script(*[ok({"message": "Too Many Attempts."}, 429) for _ in range(2)])
    with pytest.raises(QuotaError, match="Too Many Attempts"):
        script.client(attempts=2).list_applications()


def test_timeouts_and_connection_failures_are_retried() -> None:
    script = Script(
        httpx.ConnectTimeout("slow"),
        httpx.ConnectError("refused"),
        ok({"uuid": "d1", "status": "finished"}),
    )
    assert script.client().get_deployment("d1")["status"] == "finished"
    assert [s for _, _, s in script.hooked] == [0, 0, 200]


def test_connection_failure_after_all_attempts_is_transient() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.ConnectError("refused"))
    with pytest.raises(TransientError, match="connection failed"):
        script.client(attempts=2).list_servers()


def test_422_is_not_retried_and_renders_field_errors() -> None:
    body = {"message": "Validation failed.", "errors": {"name": ["The name field is required."]}}
    script = Script(ok(body, 422))
    with pytest.raises(InvalidError) as caught:
        script.client().create_project("")
    err = caught.value
    assert len(script.requests) == 1
    assert script.waits == []
    assert err.status == 422
    assert "name: The name field is required." in err.message
    assert err.details == {"name": ["The name field is required."]}


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (404, {"message": "Application not found."}, NotFoundError),
        (409, {"message": "Environment with this name already exists."}, ConflictError),
        (401, {"message": "Unauthenticated."}, AuthError),
        (403, {"success": True, "message": "API is disabled."}, AuthError),
        (400, {"message": "Invalid token.", "docs": "https://coolify.io/docs"}, AuthError),
        (400, {"message": "Bulk data is required."}, InvalidError),
    ],
)
def test_failures_are_typed_in_coolify_words(
    status: int, body: dict[str, object], kind: type[Exception]
) -> None:
    script = Script(ok(body, status))
    with pytest.raises(kind) as caught:
        script.client().get_application("x")
    assert body["message"] in str(caught.value)
    assert len(script.requests) == 1


def test_non_json_content_type_error_keeps_the_detail() -> None:
    body = {"message": "Invalid request.", "error": "Content-Type must be application/json."}
    script = Script(ok(body, 400))
    with pytest.raises(InvalidError, match="Content-Type must be application/json"):
        script.client().create_project("x")


def test_project_with_resources_is_a_conflict() -> None:
    script = Script(ok({"message": "Project has resources, so it cannot be deleted."}, 400))
    with pytest.raises(ConflictError, match="has resources"):
        script.client().delete_project("p1")


def test_version_is_plain_text() -> None:
    script = Script(httpx.Response(200, text="4.3.11", headers={"Content-Type": "text/plain"}))
    assert script.client().version() == "4.3.11"


def test_write_bodies_are_json() -> None:
    script = Script(ok([], 201))
    script.client().upsert_envs("a1", [{"key": "K", "value": "v"}])
    request = script.requests[0]
    assert request.method == "PATCH"
    assert request.url.path == "/api/v1/applications/a1/envs/bulk"
    assert json.loads(request.content) == {"data": [{"key": "K", "value": "v"}]}


def test_deployments_by_app_unwraps_the_count_envelope() -> None:
    script = Script(ok({"count": 1, "deployments": [{"deployment_uuid": "d1"}]}))
    assert script.client().list_app_deployments("a1") == [{"deployment_uuid": "d1"}]
    assert script.requests[0].url.params["take"] == "10"
