"""The stack document: models, loading, policy, schema and digests — vibn's bottom layer.

Everything above (reconciler, providers, state, api, cli) takes a ``Stack`` from here and
nothing here imports from above.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vibn.specs.canonical import canonical_json, digest
from vibn.specs.load import load_stack, parse_document, validate_document
from vibn.specs.model import Stack
from vibn.specs.policy import check_location
from vibn.specs.problems import Problem, SpecError

if TYPE_CHECKING:
    from vibn.specs.schema import json_schema


def __getattr__(name: str) -> Any:
    # Imported on first use, so that `python -m vibn.specs.schema` does not find the
    # module already loaded by this package (runpy warns about that).
    if name == "json_schema":
        from vibn.specs.schema import json_schema

        return json_schema
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Problem",
    "SpecError",
    "Stack",
    "canonical_json",
    "check_location",
    "digest",
    "json_schema",
    "load_stack",
    "parse_document",
    "validate_document",
]
