"""The README's command table documents every command and every flag `voisins` takes."""

from __future__ import annotations

import argparse
from pathlib import Path

from fedi.cli import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield path, parser
        return
    for name, sub in subs[0].choices.items():
        yield from _commands(sub, (*path, name))


def test_readme_command_table__every_command_and_flag() -> None:
    """`voisins <cmd> --help` flags all appear in the README's table row for <cmd>."""
    text = README.read_text(encoding="utf-8")
    table = text.split("## The `voisins` command", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `voisins")]
    missing = []
    for path, parser in _commands(build_parser()):
        row = next((r for r in rows if f"`voisins {path[0]}" in r), None)
        if row is None:
            missing.append(" ".join(path))
            continue
        for action in parser._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help" and flag not in row:
                    missing.append(f"{' '.join(path)} {flag}")
    assert not missing, f"README.md's command table lacks: {missing}"
