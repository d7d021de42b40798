"""What is wrong with a stack document, as data: a path, a message, maybe a line.

Every stage of loading (size, syntax, schema, policy) reports in this one shape, so a
caller gets all the problems of a document at once and can print them, return them from
the HTTP API, or compare them in a test, without knowing which stage found which.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$")
_KEY_SHOWN = 100


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document. ``path`` is ``""`` for the document as a whole."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def render(self, source: str = "<stack>") -> str:
        where = self.path or source
        at = ""
        if self.line is not None:
            at = f" (line {self.line}" + (f", column {self.column})" if self.column else ")")
        return f"{where}: {self.message}{at}"

    def __str__(self) -> str:
        return self.render()


class SpecError(ValueError):
    """A stack document was refused; ``problems`` holds every reason found."""

    def __init__(self, problems: Sequence[Problem], *, source: str = "<stack>") -> None:
        self.problems = list(problems)
        self.source = source
        super().__init__("\n".join(p.render(source) for p in self.problems))


def format_path(parts: Iterable[str | int]) -> str:
    """``("spec", "app", "services", 0, "replicas")`` -> ``spec.app.services[0].replicas``.

    Keys that are not plain words are quoted as JSON strings (``labels["app.io/name"]``),
    so a path stays on one line whatever the key holds; very long keys are shortened.
    """
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part[:_KEY_SHOWN] + ('...' if len(part) > _KEY_SHOWN else ''))}]"
    return out
