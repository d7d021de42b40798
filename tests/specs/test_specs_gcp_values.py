"""Values Google Cloud would silently rewrite are refused up front (else every plan would
show a change that can never settle)."""

from __future__ import annotations

import pytest

from vibn.specs import SpecError, load_stack

BASE = """apiVersion: vibn.dev/v1
kind: Stack
metadata: {name: shop}
spec:
  app:
    repo: https://github.com/acme/shop
    services: [{name: web, ports: [3000]}]
"""


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ("  queues: [{name: q, max_attempts: 0}]\n", "spec.queues[0].max_attempts"),
        ("  queues: [{name: q, min_backoff_seconds: 0}]\n", "spec.queues[0].min_backoff_seconds"),
        (
            "  storage: {lifecycle: [{action: delete, age_days: 3, storage_class: COLDLINE}]}\n",
            "spec.storage.lifecycle[0]",
        ),
        (
            "  storage: {lifecycle: [{action: set_storage_class, age_days: 3}]}\n",
            "spec.storage.lifecycle[0]",
        ),
    ],
)
def test_unsettleable_values_are_refused(section: str, path: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_stack(BASE + section)
    assert [p.path for p in caught.value.problems] == [path]


def test_the_settleable_ones_pass() -> None:
    load_stack(BASE + "  queues: [{name: q, max_attempts: -1, min_backoff_seconds: 0.5}]\n")
    load_stack(
        BASE + "  storage: {lifecycle: [{action: set_storage_class, age_days: 3, "
        "storage_class: COLDLINE}]}\n"
    )
