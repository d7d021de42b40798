"""pyproject lists vibn's packages by hand (the repository root is the package), so a
new sub-package must be added there or a non-editable install would miss it."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"tests", "benchmarks", "scripts", "docs", "examples", ".venv", "build", ".git"}


def test_every_package_directory_is_listed_in_pyproject() -> None:
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {"vibn"}
    for init in ROOT.rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if not rel.parts or rel.parts[0] in SKIP or rel.parts[0].startswith("."):
            continue
        found.add("vibn." + ".".join(rel.parts))
    assert sorted(found - listed) == [], "add these to [tool.setuptools] packages"
    assert sorted(listed - found) == [], "these listed packages do not exist"
