"""The served OpenAPI document, fuzzed: schemathesis generates requests for every
operation — valid ones and deliberately invalid ones — and no answer may be a 5xx."""

from __future__ import annotations

from collections.abc import Callable

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode

from vibn.api import ApiSettings

from .conftest import Api

EXAMPLES = 10


@pytest.mark.slow
def test_no_generated_request_gets_a_server_error(
    make_api: Callable[[ApiSettings], Api],
) -> None:
    api = make_api(ApiSettings(event_poll_seconds=0.05, event_timeout_max_seconds=0.2))
    schema = schemathesis.openapi.from_url(f"{api.url}/openapi.json")
    session = requests.Session()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            @hypothesis.settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def check(case: schemathesis.Case) -> None:
                # a fresh key each time: a generated DELETE /v1/keys/{id} may revoke one
                headers = {"Authorization": f"Bearer {api.key()}"}
                response = case.call(base_url=api.url, session=session, headers=headers)
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

            try:
                check()
            except hypothesis.errors.Unsatisfiable:
                # nothing about the operation can be made invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, operation.label
    session.close()
    assert operations >= 15
    assert failures == []
