"""Lower layers never import higher ones (DESIGN.md, architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (prefix, layer): the longest matching prefix wins.
LAYERS = [
    ("fedi.config", 1), ("fedi.ids", 1), ("fedi.vocab", 1), ("fedi.signatures", 1),
    ("fedi.keys", 1), ("fedi.rfc9421", 1), ("fedi.keystore", 1), ("outbox.retry", 1),
    ("fedi.verification", 1),
    ("outbox.breaker", 1), ("fedi", 1),
    ("fedi.db", 2), ("fedi.models", 2), ("fedi.migrate", 2), ("fedi.data", 2),
    ("fedi.convert", 3), ("fedi.http", 3), ("fedi.resolve", 3), ("fedi.webfinger", 3),
    ("fedi.peers", 3),
    ("outbox", 4), ("fedi.mail", 4),
    ("fedi.services", 5), ("inbox", 5),
    ("fedi.web", 6), ("fedi.api", 6), ("fedi.site", 6), ("fedi.admin", 6), ("inbox.routes", 6),
    ("fedi.streaming", 2), ("fedi.streaming.dispatch", 6), ("fedi.streaming.routes", 6),
    ("fedi.streaming.render", 6),
    ("fedi.console", 6),
    ("fedi.app", 7), ("fedi.cli", 7), ("fedi.worker_main", 7),
    ("fedi.cli_federation", 7), ("fedi.cli_serve", 7),
]


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            if best is None or len(prefix) > best[0]:
                best = (len(prefix), layer)
    return best[1] if best else None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def test_imports_point_downwards() -> None:
    """Every import of a project module at module level goes to the same or a lower layer."""
    problems = []
    files = [p for pkg in ("fedi", "inbox", "outbox") for p in (ROOT / pkg).rglob("*.py")]
    assert len(files) > 20
    for path in files:
        name = module_name(path)
        own = layer_of(name)
        assert own is not None, name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # module level only: the import graph that loads at start
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            for target in targets:
                layer = layer_of(target)
                if layer is not None and layer > own:
                    problems.append(f"{name} (layer {own}) imports {target} (layer {layer})")
    assert problems == []
