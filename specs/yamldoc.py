"""Strict YAML for stack documents: one document, text scalars, no aliases, no tags.

PyYAML's safe loader is still generous in ways a stack must not be: an alias can expand
a few hundred bytes into gigabytes ("billion laughs"), a repeated key silently wins, and
YAML 1.1 reads ``no`` as false, ``010`` as 8 and ``1.10`` as 1.1 (so an env value would
not be what was written). This reader uses PyYAML's scanner, parser and composer, refuses
what a stack never needs while composing (so nothing is ever expanded), and builds plain
dicts, lists, strings and None itself. Numbers and booleans are left to the model's field
types, which convert text (``replicas: 2``) and keep env values exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yaml.composer import Composer
from yaml.error import MarkedYAMLError, YAMLError
from yaml.events import AliasEvent, Event, StreamEndEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from vibn.specs.names import shown
from vibn.specs.problems import Problem, SpecError, format_path

MAX_DEPTH = 32
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})


@dataclass
class YamlDocument:
    """The document's value and the line each path starts on (for messages)."""

    value: Any
    lines: dict[str, int] = field(default_factory=dict)


class _Composer(Reader, Scanner, Parser, Composer, BaseResolver):
    """PyYAML's composer, refusing aliases, anchors, tags and deep nesting on sight."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        BaseResolver.__init__(self)
        self.depth = 0

    def next_event(self) -> Event:
        event: Event = self.peek_event()  # type: ignore[no-untyped-call]
        return event

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        event = self.next_event()
        if isinstance(event, AliasEvent):
            raise _refusal(
                f"YAML aliases ('*{event.anchor}') are not supported: write each value out "
                "(aliases can also expand a small file into gigabytes)",
                event.start_mark,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _refusal(
                f"YAML anchors ('&{anchor}') are not supported: write each value out",
                event.start_mark,
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            tag = str(tag).replace("tag:yaml.org,2002:", "!!")
            raise _refusal(
                f"YAML tags ({shown(tag)}) are not supported: write plain values; each field "
                "converts its own text",
                event.start_mark,
            )
        if self.depth >= MAX_DEPTH:
            raise _refusal(
                f"the document is nested deeper than {MAX_DEPTH} levels", event.start_mark
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def read_yaml(text: str) -> YamlDocument:
    """The single document in ``text`` as plain data; raises ``SpecError`` with every bad key."""
    composer: _Composer | None = None
    try:
        composer = _Composer(text)
        composer.get_event()  # type: ignore[no-untyped-call]  # the stream start
        if composer.check_event(StreamEndEvent):
            raise SpecError([Problem("", "the document is empty")])
        root = composer.compose_document()
        if not composer.check_event(StreamEndEvent):
            raise _refusal(
                "found a second YAML document ('---'); a stack file holds exactly one",
                composer.next_event().start_mark,
            )
    except MarkedYAMLError as exc:
        raise SpecError([_syntax_problem(exc)]) from None
    except ReaderError as exc:
        line, column = _position(text, exc.position)
        raise SpecError(
            [Problem("", f"invalid YAML: {_reader_reason(exc)}", line, column)]
        ) from None
    except YAMLError as exc:  # PyYAML raises only the two above; keep any other readable
        raise SpecError([Problem("", f"invalid YAML: {exc}")]) from None
    finally:
        if composer is not None:
            composer.dispose()
    builder = _Builder()
    value = builder.build(root, ())
    if builder.problems:
        raise SpecError(builder.problems)
    return YamlDocument(value, builder.lines)


class _Builder:
    """Turns composed nodes into data, collecting every bad key instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}

    def build(self, node: Node | None, path: tuple[str | int, ...]) -> Any:
        if node is None:
            return None
        self.lines.setdefault(format_path(path), node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            value: str = node.value
            return None if node.style is None and value in _NULLS else value
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        raise AssertionError(f"unknown YAML node {node!r}")  # pragma: no cover

    def _mapping(self, node: MappingNode, path: tuple[str | int, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            key = self._key(key_node, path, line)
            if key is None:
                continue
            if key in out:
                self.problems.append(
                    Problem(
                        format_path((*path, key)),
                        f"duplicate key {shown(key)} (first on line {first_line[key]})",
                        line,
                    )
                )
                continue
            first_line[key] = line
            self.lines[format_path((*path, key))] = line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _key(self, node: Node, path: tuple[str | int, ...], line: int) -> str | None:
        where = format_path(path)
        if not isinstance(node, ScalarNode):
            self.problems.append(Problem(where, "a key must be text, not a list or mapping", line))
            return None
        if node.style is None and node.value in _NULLS:
            self.problems.append(Problem(where, "a key is empty (null)", line))
            return None
        if node.style is None and node.value == "<<":
            self.problems.append(
                Problem(where, "merge keys ('<<') are not supported: write the fields out", line)
            )
            return None
        key: str = node.value
        return key


def _refusal(message: str, mark: Any) -> SpecError:
    if mark is None:
        return SpecError([Problem("", message)])
    return SpecError([Problem("", message, mark.line + 1, mark.column + 1)])


def _syntax_problem(exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    message = f"invalid YAML: {exc.problem or exc.context or 'syntax error'}"
    if exc.context and exc.problem and exc.context_mark is not None:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    if mark is None:
        return Problem("", message)
    return Problem("", message, mark.line + 1, mark.column + 1)


def _reader_reason(exc: ReaderError) -> str:
    character = exc.character
    if isinstance(character, str):
        character = ord(character)
    if isinstance(character, int):
        return f"character U+{character:04X} is not allowed in YAML ({exc.reason})"
    return str(exc.reason)


def _position(text: str, offset: int) -> tuple[int, int]:
    before = text[:offset]
    return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1
