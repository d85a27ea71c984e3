"""Remote HTML goes through an allowlist sanitizer: catalogue row 18 of
security-and-performance.md §5.2 (CVE-2023-36459, XSS through remote HTML).

The ``content`` of a remote note and the summary and profile fields of a remote actor are
stored without scripts, event handlers, ``javascript:`` links or embedded frames.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from support.hostile import (
    actor_by_uri,
    create_note,
    hostile_world,
    status_by_uri,
    wait_processed,
)

HOSTILE_HTML = (
    '<p>Salut <a href="javascript:alert(1)">clic</a>'
    '<img src="x" onerror="alert(2)">'
    '<script>alert(3)</script>'
    '<iframe src="http://127.0.0.1/"></iframe>'
    '<span onclick="alert(4)" style="position:fixed">voisin</span>'
    '<a href="https://example.org/ok">lien</a></p>'
)
FORBIDDEN = ("javascript:", "onerror", "<script", "alert(3)", "<iframe", "onclick", "style=",
             "<img")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("html"), "html") as w:
        yield w


def test_note_content__sanitized(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("scripter")
    doc = create_note(author, to=[world.alice], mentions=[world.alice], content=HOSTILE_HTML)
    assert world.evil.post(world.inbox, doc, author).status_code == 202
    wait_processed(world.hub, doc["id"])
    content = status_by_uri(world.hub, doc["object"]["id"]).content
    for needle in FORBIDDEN:
        assert needle not in content, (needle, content)
    assert "Salut" in content and "voisin" in content  # the text itself survives
    assert 'href="https://example.org/ok"' in content


def test_actor_summary_and_fields__sanitized(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("profile")
    author.overrides["summary"] = HOSTILE_HTML
    author.overrides["attachment"] = [{"type": "PropertyValue", "name": "Site",
                                       "value": HOSTILE_HTML}]
    doc = create_note(author, to=[world.alice], mentions=[world.alice])
    assert world.evil.post(world.inbox, doc, author).status_code == 202
    stored = actor_by_uri(world.hub, author.uri)
    assert stored is not None
    for text in (stored.summary, stored.fields[0]["value"]):
        for needle in FORBIDDEN:
            assert needle not in text, (needle, text)
        assert "voisin" in text
