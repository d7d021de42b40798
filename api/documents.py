"""From a PUT body to a validated stack of the caller's workspace, or every reason not.

The URL names the stack and the key names the workspace, so the document must agree
with both: ``metadata.name`` equal to the URL's name, ``metadata.workspace`` absent (it
is filled in) or equal to the key's workspace. Those disagreements are reported together
with every schema and policy problem of the document, in one answer.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request

from vibn.specs import Problem, SpecError, Stack, parse_document, validate_document

from .problems import ApiProblem
from .settings import ApiSettings

#: a stack or workspace name, as ``specs`` accepts it (a DNS label)
NAME_PATTERN = r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$"

YAML_TYPES = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/vnd.yaml"}
)
JSON_TYPES = frozenset({"application/json"})
_MEDIA_TYPE = re.compile(r"^\s*([\w.+-]+/[\w.+-]+)")


def _too_large(limit: int) -> ApiProblem:
    return ApiProblem(
        413,
        "too-large",
        f"the document is larger than {limit} bytes",
        title="Stack document too large",
        hint="Split the product into several stacks.",
    )


async def read_body(request: Request, settings: ApiSettings) -> bytes:
    """The raw body, refused (413) past the limit without reading it all, or (415) when
    it is declared as neither YAML nor JSON."""
    declared = request.headers.get("content-type")
    if declared:
        match = _MEDIA_TYPE.match(declared.lower())
        media = match.group(1) if match else declared
        if media not in YAML_TYPES | JSON_TYPES and not media.endswith(("+json", "+yaml")):
            raise ApiProblem(
                415,
                "unsupported-media-type",
                f"a stack document is YAML or JSON, not {media}",
                hint="Send Content-Type: application/yaml or application/json.",
            )
    limit = settings.max_body_bytes
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def stack_from_body(body: bytes, *, name: str, workspace: str) -> Stack:
    """The stack ``body`` describes, in ``workspace``; ``SpecError`` with all problems."""
    source = f"stack {name}"
    document = parse_document(body, source=source)
    problems: list[Problem] = []
    metadata: Any = document.get("metadata")
    if isinstance(metadata, dict):
        named = metadata.get("name")
        if isinstance(named, str) and named != name:
            problems.append(
                Problem(
                    "metadata.name",
                    f"is {named!r}, but the URL names stack {name!r}; they must be equal",
                )
            )
        owner = metadata.get("workspace")
        if owner is None:
            metadata["workspace"] = workspace
        elif owner != workspace:
            problems.append(
                Problem(
                    "metadata.workspace",
                    f"names workspace {str(owner)[:64]!r}, but this API key belongs to "
                    f"workspace {workspace!r}; leave metadata.workspace out or set it to "
                    f"{workspace!r}",
                )
            )
    try:
        stack = validate_document(document, source=source)
    except SpecError as exc:
        raise SpecError(problems + exc.problems, source=source) from None
    if problems:
        raise SpecError(problems, source=source)
    return stack
