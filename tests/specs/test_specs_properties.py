"""Properties: any input is a Stack or a SpecError; valid stacks survive their own JSON.

The generators below build arbitrary bytes, arbitrary JSON-like values, mutations of valid
documents (so the fuzzing reaches past the parser into every validator and policy rule),
and valid stacks by construction.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vibn.specs import SpecError, Stack, canonical_json, digest, load_stack, validate_document
from vibn.specs.model import ENGINES

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
BUILT = settings(FAST, max_examples=60)

text = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    max_size=12,
)
scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | text
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=20,
)


def outcome(data: bytes | str) -> Stack | SpecError:
    """What load_stack gives; anything else it raises fails the test."""
    try:
        return load_stack(data)
    except SpecError as error:
        assert error.problems
        for problem in error.problems:
            assert isinstance(problem.path, str) and problem.message
            assert "\n" not in problem.message and "\n" not in problem.path
        assert len(str(error).splitlines()) == len(error.problems)
        return error


@FAST
@given(st.binary(max_size=300))
def test_any_bytes(data: bytes) -> None:
    outcome(data)


@FAST
@given(st.text(max_size=300))
def test_any_text(data: str) -> None:
    outcome(data)


@FAST
@given(json_like)
def test_any_json_like_value(value: Any) -> None:
    outcome(json.dumps(value))
    outcome(yaml.safe_dump(value))
    if isinstance(value, dict):
        with contextlib.suppress(SpecError):
            validate_document(value)


# -- valid stacks, by construction ----------------------------------------------------

label = st.builds(
    "".join,
    st.tuples(
        st.sampled_from("abcxyz"), st.text("abcxyz0129-", max_size=6), st.sampled_from("az09")
    ),
)


def env_names(prefix: str) -> st.SearchStrategy[str]:
    return st.text("ABCXYZ019_", max_size=6).map(lambda rest: prefix + rest)


env_values = st.text(
    alphabet=st.characters(exclude_categories=["Cs", "Cc"]), max_size=10
) | st.integers(0, 10**6)


def unique_names(min_size: int = 0, max_size: int = 3) -> st.SearchStrategy[list[str]]:
    return st.lists(label, min_size=min_size, max_size=max_size, unique=True)


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(unique_names(1, 3))
    services = [
        {"name": names[0], "ports": draw(st.lists(st.integers(1, 65535), min_size=1, max_size=2))}
    ]
    for name in names[1:]:
        kind = draw(st.sampled_from(["web", "worker"]))
        service: dict[str, Any] = {"name": name, "type": kind, "replicas": draw(st.integers(0, 3))}
        if kind == "web":
            service["ports"] = [draw(st.integers(1, 65535))]
            service["healthcheck"] = draw(st.none() | st.just({"path": "/health", "interval": 10}))
        service["env"] = draw(st.dictionaries(env_names("S_"), env_values, max_size=2))
        services.append(service)
    web = names[0]
    spec: dict[str, Any] = {
        "drift": draw(st.sampled_from(["correct", "report"])),
        "app": {
            "repo": "https://github.com/acme/shop",
            "branch": draw(st.sampled_from(["main", "release/v2"])),
            "services": services,
        },
        "env": draw(st.dictionaries(env_names("E_"), env_values, max_size=3)),
        "secrets": draw(
            st.dictionaries(
                env_names("K_"),
                st.sampled_from(["env", "store", "store:shared.key", {"from": "env", "name": "X"}]),
                max_size=2,
            )
        ),
        "databases": [
            {
                "name": name,
                "engine": engine,
                "version": draw(st.none() | st.sampled_from(["16", "7.2", "latest"])),
                **(
                    {"backups": {"enabled": False}}
                    if engine in ("redis", "keydb", "dragonfly")
                    else {"backups": {"retention_days": draw(st.integers(1, 30))}}
                ),
            }
            for name, engine in zip(
                draw(unique_names(0, 3)),
                draw(st.lists(st.sampled_from(ENGINES), min_size=3, max_size=3)),
                strict=False,
            )
        ],
        "cron": [
            {
                "name": name,
                "schedule": draw(st.sampled_from(["0 3 * * *", "*/5 * * * *", "0 9 * * MON-FRI"])),
                "path": f"/jobs/{name}",
                "timezone": draw(st.sampled_from(["UTC", "America/Toronto"])),
                "service": draw(st.sampled_from([None, web])),
            }
            for name in draw(unique_names(0, 2))
        ],
        "queues": [
            {
                "name": name,
                "max_dispatches_per_second": draw(st.integers(1, 500) | st.floats(0.5, 500)),
            }
            for name in draw(unique_names(0, 2))
        ],
    }
    if draw(st.booleans()):
        spec["storage"] = {
            "bucket": draw(
                st.none() | st.text("abc019", min_size=1, max_size=10).map(lambda rest: "vb" + rest)
            ),
            "lifecycle": [{"age_days": draw(st.integers(0, 365))}],
        }
    if draw(st.booleans()):
        spec["domain"] = draw(st.sampled_from(["acme.ca", {"name": "acme.ca", "attach_to": web}]))
        spec["email"] = {"sender_domain": draw(st.sampled_from(["acme.ca", "mail.acme.ca"]))}
    if draw(st.booleans()):
        spec["logs"] = {"retention_days": draw(st.integers(1, 3650))}
    return {
        "apiVersion": "vibn.dev/v1",
        "kind": "Stack",
        "metadata": {
            "name": draw(label),
            "labels": draw(st.dictionaries(label, label, max_size=2)),
        },
        "spec": spec,
    }


@BUILT
@given(documents())
def test_valid_stacks_round_trip_through_canonical_json(document: dict[str, Any]) -> None:
    stack = load_stack(json.dumps(document))
    again = load_stack(canonical_json(stack))
    assert again == stack
    assert canonical_json(again) == canonical_json(stack)
    assert digest(again) == digest(stack)


@BUILT
@given(documents())
def test_yaml_and_json_spellings_are_one_stack(document: dict[str, Any]) -> None:
    from_json = load_stack(json.dumps(document))
    copy = json.loads(json.dumps(document))  # no shared objects, so no YAML anchors
    from_yaml = load_stack(yaml.safe_dump(copy, allow_unicode=True, sort_keys=False))
    assert digest(from_yaml) == digest(from_json)


@BUILT
@given(documents(), st.randoms(use_true_random=False))
def test_digest_ignores_key_order(document: dict[str, Any], random: Any) -> None:
    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = list(value.items())
            random.shuffle(items)
            return {k: shuffled(v) for k, v in items}
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    assert digest(load_stack(json.dumps(shuffled(document)))) == digest(
        load_stack(json.dumps(document))
    )


# -- mutations of valid documents reach every validator ---------------------------------


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += _paths(item, (*path, index))
    return out


@BUILT
@given(documents(), st.data())
def test_mutated_documents_are_a_stack_or_a_spec_error(
    document: dict[str, Any], data: st.DataObject
) -> None:
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(_paths(document)[1:]))
        parent = document
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = data.draw(json_like)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[data.draw(text)] = data.draw(json_like)
    outcome(json.dumps(document))
    outcome(yaml.safe_dump(json.loads(json.dumps(document))))
