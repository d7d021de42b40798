"""Bad stack documents, as data: each file in cases/ holds one and the problems it must raise.

A case lists every problem expected, by path (the set must match exactly, so a document
reports all its problems and nothing else), with a piece of the message and, where given,
the line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from vibn.specs import SpecError, load_stack, yamldoc

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _case(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return case


@pytest.fixture(params=["libyaml", "pure-python"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every case runs against both event parsers PyYAML may have."""
    if request.param == "pure-python":
        monkeypatch.setattr(yamldoc, "_FastParser", None)
    else:
        assert yamldoc._FastParser is not None
    return str(request.param)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_bad_document_is_refused_with_its_problems(path: Path, parser: str) -> None:
    case = _case(path)
    with pytest.raises(SpecError) as caught:
        load_stack(case["document"], source=path.name)
    problems = caught.value.problems
    assert sorted(p.path for p in problems) == sorted(e["path"] for e in case["expect"])
    for expected in case["expect"]:
        matching = [
            p
            for p in problems
            if p.path == expected["path"] and expected.get("message", "") in p.message
        ]
        assert matching, f"no problem at {expected['path']!r} saying {expected.get('message')!r}"
        if "line" in expected:
            assert expected["line"] in [p.line for p in matching]
    rendered = str(caught.value).splitlines()
    assert len(rendered) == len(problems)
    assert all(
        line.startswith(p.path or path.name) for line, p in zip(rendered, problems, strict=True)
    )


def test_there_are_cases() -> None:
    assert len(CASES) >= 40
