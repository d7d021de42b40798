"""Strict YAML for stack documents: one document, text scalars, no aliases, no tags.

PyYAML's safe loader is still generous in ways a stack must not be: an alias can expand
a few hundred bytes into gigabytes ("billion laughs"), a repeated key silently wins, and
YAML 1.1 reads ``no`` as false, ``010`` as 8 and ``1.10`` as 1.1 (so an env value would
not be what was written). This reader takes the parser's events (libyaml's when PyYAML
has it: pure-Python scanning of a hostile megabyte takes a minute) and builds plain dicts,
lists, strings and None itself, refusing on sight what a stack never needs, so nothing is
ever expanded and nothing grows past a fixed number of values. Numbers and booleans are
left to the model's field types, which convert text (``replicas: 2``) and keep env values
exactly as written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from yaml.error import MarkedYAMLError, YAMLError
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.scanner import Scanner

from vibn.specs.names import shown
from vibn.specs.problems import Problem, SpecError, format_path

MAX_DEPTH = 32
# A stack has hundreds of values, not tens of thousands; the cap bounds the work on any input.
MAX_VALUES = 20_000
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_Path = tuple[str | int, ...]


class _Events(Protocol):
    def get_event(self) -> Event | None: ...
    def peek_event(self) -> Event | None: ...


class _PythonParser(Reader, Scanner, Parser):
    """PyYAML's own event parser, for installations without libyaml."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


try:
    from yaml._yaml import CParser

    _FastParser: type[CParser] | None = CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _FastParser = None


@dataclass
class YamlDocument:
    """The document's value and the line each path starts on (for messages)."""

    value: Any
    lines: dict[str, int] = field(default_factory=dict)


def read_yaml(text: str) -> YamlDocument:
    """The single document in ``text`` as plain data; raises ``SpecError`` with every bad key."""
    builder = _Builder()
    try:
        events: _Events = _FastParser(text) if _FastParser is not None else _PythonParser(text)
        value = builder.document(events)
    except MarkedYAMLError as exc:
        raise SpecError([_syntax_problem(exc)]) from None
    except ReaderError as exc:
        line, column = _position(text, exc.position, in_bytes=_FastParser is not None)
        raise SpecError(
            [Problem("", f"invalid YAML: {_reader_reason(exc)}", line, column)]
        ) from None
    except YAMLError as exc:  # PyYAML raises only the two above; keep any other readable
        raise SpecError([Problem("", f"invalid YAML: {exc}")]) from None
    if builder.problems:
        raise SpecError(builder.problems)
    return YamlDocument(value, builder.lines)


class _Builder:
    """Turns parser events into data, collecting every bad key instead of stopping."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.lines: dict[str, int] = {}
        self.values = 0
        self.events: _Events

    def document(self, events: _Events) -> Any:
        self.events = events
        self._next()  # the stream start
        if isinstance(self._peek(), StreamEndEvent):
            raise SpecError([Problem("", "the document is empty")])
        self._next()  # the document start
        value = self._value((), 0)
        self._next()  # the document end
        after = self._peek()
        if isinstance(after, DocumentStartEvent):
            raise _refusal(
                "found a second YAML document ('---'); a stack file holds exactly one", after
            )
        return value

    def _next(self) -> Event:
        event = self.events.get_event()
        assert event is not None  # the parser ends every stream with StreamEndEvent
        return event

    def _peek(self) -> Event:
        event = self.events.peek_event()
        assert event is not None
        return event

    def _start(self, path: _Path, depth: int) -> Event:
        """The next value's first event, after the checks every value passes."""
        event = self._next()
        if isinstance(event, AliasEvent):
            raise _refusal(
                f"YAML aliases ('*{event.anchor}') are not supported: write each value out "
                "(aliases can also expand a small file into gigabytes)",
                event,
            )
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _refusal(
                f"YAML anchors ('&{anchor}') are not supported: write each value out", event
            )
        tag = getattr(event, "tag", None)
        if tag is not None:
            tag = str(tag).replace("tag:yaml.org,2002:", "!!")
            raise _refusal(
                f"YAML tags ({shown(tag)}) are not supported: write plain values; each field "
                "converts its own text",
                event,
            )
        if depth > MAX_DEPTH:
            raise _refusal(f"the document is nested deeper than {MAX_DEPTH} levels", event)
        self.values += 1
        if self.values > MAX_VALUES:
            raise _refusal(f"the document holds more than {MAX_VALUES} values", event)
        self.lines.setdefault(format_path(path), _line(event))
        return event

    def _value(self, path: _Path, depth: int) -> Any:
        event = self._start(path, depth)
        if isinstance(event, ScalarEvent):
            return None if _plain(event) and event.value in _NULLS else str(event.value)
        if isinstance(event, SequenceStartEvent):
            items: list[Any] = []
            while not isinstance(self._peek(), SequenceEndEvent):
                items.append(self._value((*path, len(items)), depth + 1))
            self._next()
            return items
        if isinstance(event, MappingStartEvent):
            return self._mapping(path, depth)
        raise _refusal(f"unexpected YAML event {type(event).__name__}", event)  # pragma: no cover

    def _mapping(self, path: _Path, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        where = format_path(path)
        while not isinstance(self._peek(), MappingEndEvent):
            line = _line(self._peek())
            if not isinstance(self._peek(), ScalarEvent):
                self._value(path, depth + 1)  # read and drop it
                self.problems.append(
                    Problem(where, "a key must be text, not a list or mapping", line)
                )
                key = None
            else:
                key = self._key(self._start(path, depth + 1), where, line)
            value = self._value((*path, key) if key is not None else path, depth + 1)
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
            out[key] = value
        self._next()
        return out

    def _key(self, event: Event, where: str, line: int) -> str | None:
        assert isinstance(event, ScalarEvent)
        if _plain(event) and event.value in _NULLS:
            self.problems.append(Problem(where, "a key is empty (null)", line))
            return None
        if _plain(event) and event.value == "<<":
            self.problems.append(
                Problem(where, "merge keys ('<<') are not supported: write the fields out", line)
            )
            return None
        return str(event.value)


def _plain(event: ScalarEvent) -> bool:
    """Unquoted (libyaml and PyYAML agree on ``implicit``, not on ``style``)."""
    return bool(event.implicit[0])


def _line(event: Event) -> int:
    mark = event.start_mark
    return int(mark.line) + 1 if mark is not None else 0


def _refusal(message: str, event: Event) -> SpecError:
    mark = event.start_mark
    if mark is None:
        return SpecError([Problem("", message)])
    return SpecError([Problem("", message, int(mark.line) + 1, int(mark.column) + 1)])


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


def _position(text: str, offset: int, *, in_bytes: bool) -> tuple[int, int]:
    """Line and column (from 1) of a character offset, or of a UTF-8 byte offset."""
    before = text.encode("utf-8")[:offset].decode("utf-8", "ignore") if in_bytes else text[:offset]
    return before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
