"""The shipped examples load cleanly and the committed JSON Schema matches the model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vibn.specs import json_schema, load_stack
from vibn.specs.schema import SCHEMA_ID, render

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_loads(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=../docs/stack.schema.json\n")
    stack = load_stack(text.encode(), source=path.name)
    assert stack.spec.app is not None and stack.spec.app.services[0].type == "web"


def test_saas_example_is_the_documented_product() -> None:
    stack = load_stack((ROOT / "examples" / "saas.yaml").read_bytes())
    spec = stack.spec
    assert stack.metadata.name == "mysaas" and stack.metadata.workspace == "default"
    assert spec.app is not None
    assert [(s.name, s.type, s.replicas) for s in spec.app.services] == [
        ("web", "web", 1),
        ("worker", "worker", 2),
    ]
    assert [ref.from_ for ref in spec.secrets.values()].count("env") == 1
    assert [(d.name, d.engine, d.backups.enabled) for d in spec.databases] == [
        ("database", "postgresql", True),
        ("cache", "redis", False),
    ]


def test_example_count() -> None:
    assert {p.name for p in EXAMPLES} >= {"minimal.yaml", "saas.yaml"}


def test_committed_schema_is_current() -> None:
    committed = (ROOT / "docs" / "stack.schema.json").read_text(encoding="utf-8")
    assert committed == render(), "run: python -m vibn.specs.schema > docs/stack.schema.json"


def test_schema_header() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID
    assert schema["title"].startswith("vibn stack")
    assert set(schema["required"]) == {"apiVersion", "kind", "metadata", "spec"}
    assert schema["additionalProperties"] is False
    secrets = schema["$defs"]["StackSpec"]["properties"]["secrets"]["additionalProperties"]
    assert {"$ref": "#/$defs/SecretRef"} in secrets["anyOf"]  # and the "store" shorthand


def test_schema_module_runs_without_warnings() -> None:
    out = subprocess.run(
        [sys.executable, "-W", "error", "-m", "vibn.specs.schema"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stderr == ""
    assert json.loads(out.stdout)["$id"] == SCHEMA_ID
