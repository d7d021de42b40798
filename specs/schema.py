"""The JSON Schema of a stack document, for editors and for agents that generate stacks.

``python -m vibn.specs.schema > docs/stack.schema.json`` writes the file the examples
point their ``# yaml-language-server: $schema=`` comment at; a test keeps it current.
"""

from __future__ import annotations

import json
from typing import Any

from vibn.specs.model import API_VERSION, Stack

SCHEMA_ID = "https://vibn.dev/schemas/stack-v1.json"


def json_schema() -> dict[str, Any]:
    """Pydantic's schema of ``Stack`` (input side, by alias) with ``$schema`` and ``$id``."""
    body = Stack.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **body,
        "title": f"vibn stack ({API_VERSION})",
        "description": "One SaaS product on Coolify, Google Cloud, AWS SES and OpenSRS; "
        "every location stays in Canada. Reference: docs/spec.md.",
    }


def render() -> str:
    """The schema as the text of ``docs/stack.schema.json``."""
    return json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
