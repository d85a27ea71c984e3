"""Reproducible installs: every third-party module the code imports is declared in
pyproject.toml, and constraints.txt pins every declared package."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("fedi", "inbox", "outbox", "migrations")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(spec: str) -> str:
    match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", spec.strip())
    assert match is not None, spec
    return _norm(match.group(0))


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    # Runtime extras count (``s3``: boto3, imported only when a hub chooses S3 storage);
    # the test extra does not: the hub's code must not import test tools.
    extras = [spec for name, specs in project.get("optional-dependencies", {}).items()
              if name != "test" for spec in specs]
    return {_requirement_name(spec) for spec in [*project["dependencies"], *extras]}


def _imported_modules() -> dict[str, str]:
    """Top-level third-party module → one file importing it."""
    found: dict[str, str] = {}
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in SOURCES:
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def test_every_imported_module_is_declared() -> None:
    """`import httpcore` in fedi/http.py means httpcore is in [project] dependencies."""
    declared = _declared()
    owners = packages_distributions()
    missing = []
    for module, where in _imported_modules().items():
        dists = {_norm(d) for d in owners.get(module, [])}
        assert dists, f"{module} (imported in {where}) is not installed"
        if not dists & declared:
            missing.append(f"{module} ({where}) from {sorted(dists)}")
    assert not missing, "imported but not declared in pyproject.toml: " + ", ".join(missing)


def test_constraints_pin_every_declared_package() -> None:
    """constraints.txt (scripts/refresh-constraints) pins each dependency to one version."""
    pins = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not name==version"
            pins[_norm(name)] = version
    assert "voisins" not in pins
    unpinned = sorted(name for name in _declared() if name not in pins)
    assert not unpinned, f"not in constraints.txt (run scripts/refresh-constraints): {unpinned}"
