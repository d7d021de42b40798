"""Loading: size and encoding limits, hostile YAML, JSON, text typing, the public API."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from vibn.specs import (
    Problem,
    SpecError,
    Stack,
    canonical_json,
    check_location,
    digest,
    load_stack,
    parse_document,
    validate_document,
)
from vibn.specs.load import MAX_BYTES
from vibn.specs.model import ENGINES

HEAD = "apiVersion: vibn.dev/v1\nkind: Stack\nmetadata: {name: shop}\n"


def doc(spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "vibn.dev/v1",
        "kind": "Stack",
        "metadata": {"name": "shop"},
        "spec": spec,
    }


def problems(data: bytes | str) -> list[Problem]:
    with pytest.raises(SpecError) as caught:
        load_stack(data)
    return caught.value.problems


def test_billion_laughs_is_refused_at_once() -> None:
    levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, 30):
        prev, name = f"l{n - 1}" if n > 1 else "a", f"l{n}"
        levels.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    start = time.perf_counter()
    found = problems("\n".join(levels))
    assert time.perf_counter() - start < 0.5
    assert [p.message for p in found] == [
        "YAML anchors ('&a') are not supported: write each value out"
    ]


def test_over_one_mebibyte_is_refused_before_parsing() -> None:
    body = HEAD + "spec: {}\n# " + "x" * MAX_BYTES  # valid YAML, just too large
    start = time.perf_counter()
    for data in (body, body.encode()):
        [problem] = problems(data)
        assert problem.path == "" and "the limit is 1 MiB" in problem.message
    assert time.perf_counter() - start < 0.1


def test_exactly_one_mebibyte_is_read() -> None:
    text = HEAD + "spec: {}\n#"
    text += "x" * (MAX_BYTES - len(text) - 1) + "\n"
    assert len(text.encode()) == MAX_BYTES
    assert load_stack(text.encode()).metadata.name == "shop"


def test_size_counts_utf8_bytes_of_text() -> None:
    text = HEAD + "spec: {}\n# " + "é" * (MAX_BYTES // 2)  # fewer characters than bytes
    [problem] = problems(text)
    assert "bytes; the limit is 1 MiB" in problem.message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfeapiVersion", "the document is not UTF-8 text (at byte 0)"),
        ("a: \ud800", "the text is not valid Unicode (at character 3)"),
        ('{"a": "\\ud800"}', "the value contains an unpaired surrogate"),
        ('{"a\\u0000": 1}', "the key contains a NUL character"),
        ("a: \x07", "character U+0007 is not allowed in YAML"),
        ('{"a":' * 40 + "1" + "}" * 40, "nested deeper than 32 levels"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested deeper than 32 levels"),
        ("[" * 5000 + "]" * 5000, "nest"),  # libyaml stops at 1000 levels, before us
        ('{"a": ' * 10, "Expecting value"),
        ('{"a": ' + "9" * 5000 + "}", "invalid JSON"),
        ('{"a": Infinity}', "Infinity is not a JSON value"),
        ("", "the document is empty"),
        ("---\n...\n", "the document is empty"),
        ("just text", "not a single value"),
    ],
)
def test_unreadable_input_is_one_clear_problem(data: bytes | str, message: str) -> None:
    found = problems(data)
    assert any(message in p.message for p in found), found


def test_bom_is_ignored() -> None:
    assert load_stack(("\ufeff" + HEAD + "spec: {}\n").encode()).metadata.name == "shop"


def test_json_is_detected_by_its_first_character() -> None:
    text = "\n  " + json.dumps(doc({"env": {"A": "1"}}))
    assert load_stack(text).spec.env == {"A": "1"}


def test_yaml_values_are_text_until_a_field_types_them() -> None:
    stack = load_stack(
        HEAD
        + "spec:\n"
        + "  env: {DEBUG: no, RATE: 1.10, ZIP: 01234, ON: on, EMPTY: '', HEX: 0x1F}\n"
        + "  databases: [{name: main, engine: postgresql, version: 16, "
        + "backups: {retention_days: '14', enabled: yes}}]\n"
    )
    assert stack.spec.env == {
        "DEBUG": "no",
        "RATE": "1.10",
        "ZIP": "01234",
        "ON": "on",
        "EMPTY": "",
        "HEX": "0x1F",
    }
    db = stack.spec.databases[0]
    assert (db.version, db.backups.retention_days, db.backups.enabled) == ("16", 14, True)


def test_json_numbers_and_booleans_become_env_text() -> None:
    stack = load_stack(json.dumps(doc({"env": {"PORT": 3000, "DEBUG": False}})))
    assert stack.spec.env == {"PORT": "3000", "DEBUG": "false"}


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_is_accepted(engine: str) -> None:
    stack = validate_document(doc({"databases": [{"name": "main", "engine": engine}]}))
    db = stack.spec.databases[0]
    assert db.engine == engine
    assert db.backups.enabled is (engine not in ("redis", "keydb", "dragonfly"))
    assert db.url_env_var == "MAIN_URL"


@pytest.mark.parametrize("engine", ["oracle", "postgres", "PostgreSQL", "sqlite", "", "mssql"])
def test_other_engines_are_refused(engine: str) -> None:
    with pytest.raises(SpecError) as caught:
        validate_document(doc({"databases": [{"name": "main", "engine": engine}]}))
    [problem] = caught.value.problems
    assert problem.path == "spec.databases[0].engine"
    assert f"use one of {', '.join(ENGINES)}" in problem.message


def _location_fields() -> set[str]:
    """Every field of the model called location or region, as a path with [0] for lists."""
    from pydantic import BaseModel

    from vibn.specs.explain import _unwrap

    found: set[str] = set()

    def walk(model: type[BaseModel], path: str) -> None:
        for name, info in model.model_fields.items():
            key = f"{path}.{info.alias or name}"
            tp, suffix = _unwrap(info.annotation), ""
            if getattr(tp, "__origin__", None) is list:
                tp, suffix = _unwrap(tp.__args__[0]), "[0]"
            if name in ("location", "region"):
                found.add(key)
            elif isinstance(tp, type) and issubclass(tp, BaseModel):
                walk(tp, key + suffix)

    walk(Stack, "")
    return {f.lstrip(".") for f in found}


LOCATION_SECTIONS: dict[str, dict[str, Any]] = {
    "spec.storage.location": {"storage": {"location": "us-east1"}},
    "spec.cron[0].location": {
        "cron": [{"name": "a", "schedule": "0 3 * * *", "path": "/a", "location": "us-east1"}]
    },
    "spec.queues[0].location": {"queues": [{"name": "q", "location": "europe-west2"}]},
    "spec.email.region": {"email": {"sender_domain": "acme.ca", "region": "us-east-1"}},
    "spec.logs.location": {"logs": {"location": "global"}},
}


def test_the_location_table_covers_every_location_field() -> None:
    assert _location_fields() == set(LOCATION_SECTIONS)


@pytest.mark.parametrize("path", sorted(LOCATION_SECTIONS))
def test_every_non_canadian_location_is_refused_by_path(path: str) -> None:
    with pytest.raises(SpecError) as caught:
        validate_document(doc(LOCATION_SECTIONS[path]))
    assert [p.path for p in caught.value.problems] == [path]
    assert "is outside Canada" in caught.value.problems[0].message


@pytest.mark.parametrize(
    "location", ["northamerica-northeast1", "northamerica-northeast2", "ca-central-1", "ca-west-1"]
)
def test_canadian_locations_pass(location: str) -> None:
    assert check_location("provider.gcp.location", location) is None


@pytest.mark.parametrize("location", ["us-east1", "", None, "CA-CENTRAL-1", 3])
def test_check_location_names_the_path(location: object) -> None:
    problem = check_location("providers.ses.region", location)
    assert problem is not None and problem.path == "providers.ses.region"
    assert "outside Canada" in problem.message


def test_problems_carry_lines_and_render_one_per_line() -> None:
    text = HEAD + "spec:\n  databases:\n    - name: main\n      engine: oracle\n"
    with pytest.raises(SpecError) as caught:
        load_stack(text, source="stack.yaml")
    [problem] = caught.value.problems
    assert (problem.path, problem.line) == ("spec.databases[0].engine", 7)
    assert str(caught.value) == (
        "spec.databases[0].engine: 'oracle' is not allowed; use one of postgresql, mysql, "
        "mariadb, mongodb, redis, keydb, dragonfly, clickhouse (line 7)"
    )
    with pytest.raises(SpecError) as caught:
        load_stack("a: [", source="stack.yaml")
    assert str(caught.value).startswith("stack.yaml: invalid YAML: ")


def test_a_flood_of_problems_is_cut_short() -> None:
    text = "env:\n" + "".join(f"  A: {i}\n" for i in range(200))
    found = problems(text)
    assert len(found) == 51 and found[-1].message == "... and 149 more problems"


def test_odd_keys_are_quoted_in_paths() -> None:
    with pytest.raises(SpecError) as caught:
        validate_document({**doc({}), "metadata": {"name": "shop", "a.b": 1, 'q"\n': 2}})
    assert sorted(p.path for p in caught.value.problems) == [
        'metadata["a.b"]',
        'metadata["q\\"\\n"]',
    ]


def test_parse_document_does_not_validate() -> None:
    assert parse_document("kind: Nonsense\nextra: [1, 2]\n") == {
        "kind": "Nonsense",
        "extra": ["1", "2"],
    }


def test_digest_is_canonical() -> None:
    a = load_stack(HEAD + "spec: {env: {B: '2', A: '1'}}\n")
    b = load_stack(json.dumps({**doc({}), "spec": {"env": {"A": "1", "B": "2"}}}))
    assert canonical_json(a) == canonical_json(b)
    assert digest(a) == digest(b)
    assert len(digest(a)) == 64
    assert load_stack(canonical_json(a)) == a
    assert json.loads(canonical_json(a))["spec"]["databases"] == []


def test_a_key_spelt_like_pydantics_key_marker_is_just_unknown() -> None:
    with pytest.raises(SpecError) as caught:
        validate_document({**doc({}), "[key]": None})
    [problem] = caught.value.problems
    assert problem.path == '["[key]"]'
    assert problem.message.startswith("unknown field '[key]'")


def test_yaml_surrogate_escapes_are_refused_and_long_escapes_work() -> None:
    [problem] = problems(HEAD + 'spec: {env: {SMILE: "\\ud83d\\ude00"}}\n')
    assert problem.line == 4  # libyaml: an invalid escape; PyYAML: an unpaired surrogate
    stack = load_stack(HEAD + 'spec: {env: {SMILE: "\\U0001F600"}}\n')
    assert stack.spec.env["SMILE"] == "\U0001f600"


@pytest.mark.parametrize(
    "data",
    [
        "a: [" + "1," * 25_000 + "]",
        "".join(f"k{i}: v\n" for i in range(12_000)),
        "a: 1\n" * 12_000,
        '{"a": [' + "1," * 25_000 + "1]}",
        "{" + '"a":1,' * 12_000 + '"a":1}',
    ],
    ids=["flow-list", "keys", "repeated-keys", "json-list", "json-repeated-keys"],
)
def test_more_values_than_any_stack_has_are_refused_quickly(data: str) -> None:
    start = time.perf_counter()
    [problem] = problems(data)
    assert problem.message == "the document holds more than 20000 values"
    assert time.perf_counter() - start < 1
