"""The pure checks every remote field goes through (fedi.vocab.safety), table-driven."""

from __future__ import annotations

import pytest

from fedi.vocab.safety import (
    MAX_TAGS,
    author_named_by,
    hashtag_name,
    hashtags_of,
    http_url,
    link_href,
    may_claim,
    tag_url,
    username,
)


@pytest.mark.parametrize(("value", "expected"), [
    ("https://example.org/a?b=c#d", "https://example.org/a?b=c#d"),
    ("HTTP://example.org/", "HTTP://example.org/"),
    ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/x"),
    ("javascript:alert(1)", None),
    ("JavaScript:alert(1)", None),
    (" javascript:alert(1)", None),
    ("java\tscript:alert(1)", None),
    ("data:text/html,x", None),
    ("vbscript:x", None),
    ("ftp://example.org/", None),
    ("https:///nohost", None),
    ("https://example.org:99999999/", None),
    ("https://[::1", None),
    ('https://example.org/"onmouseover="x', None),
    ("https://example.org/<script>", None),
    ("//example.org/x", None),
    ("/relative", None),
    ("https://example.org/" + "a" * 3000, None),
    (None, None), (42, None), ({"href": "https://x"}, None), ("", None),
])
def test_http_url(value: object, expected: str | None) -> None:
    assert http_url(value) == expected


def test_link_href__prefers_html_and_skips_bad() -> None:
    assert link_href("https://a.example/") == "https://a.example/"
    assert link_href({"type": "Link", "href": "javascript:x"}) is None
    assert link_href([{"href": "javascript:x", "mediaType": "text/html"},
                      {"href": "https://a.example/j", "mediaType": "application/json"},
                      {"href": "https://a.example/h", "mediaType": "text/html"}]
                     ) == "https://a.example/h"
    assert link_href([{"href": "https://a.example/j", "mediaType": "application/json"}]
                     ) == "https://a.example/j"
    assert link_href([1, None, []]) is None


@pytest.mark.parametrize(("value", "expected"), [
    ("#Café", "café"), ("café", "café"), ("#vide_grenier", "vide_grenier"),
    ("_a_", "_a_"), ("a·b", "a·b"), ("日本語", "日本語"), ("#ＡＢＣ", "abc"),
    ("e\u0301te", "éte"), ("2024paris", "2024paris"),
    ("#123", None), ("", None), ("#", None), ("##a", None), ("·a", None), ("a·", None),
    ("<img src=x onerror=alert(1)>", None), ("a b", None), ("a/../b", None), ("a-b", None),
    ("a" * 129, None), (None, None), (["a"], None),
])
def test_hashtag_name(value: object, expected: str | None) -> None:
    assert hashtag_name(value) == expected


def test_tag_url__percent_encoded() -> None:
    assert tag_url("https://h", "café") == "https://h/tags/caf%C3%A9"
    assert tag_url("https://h", "a/b?c") == "https://h/tags/a%2Fb%3Fc"


def test_hashtags_of__valid_deduplicated_capped() -> None:
    tags = [{"type": "Hashtag", "name": "#A"}, {"type": "Hashtag", "name": "#a"},
            {"type": "Mention", "href": "https://x", "name": "@x"},
            {"type": "Hashtag", "name": "<b>"}, "junk", {"type": "Hashtag"}]
    assert hashtags_of(tags) == ["a"]
    many = [{"type": "Hashtag", "name": f"#t{i}"} for i in range(10_000)]
    assert len(hashtags_of(many)) == MAX_TAGS
    assert hashtags_of({"type": "Hashtag", "name": "#solo"}) == ["solo"]


@pytest.mark.parametrize(("value", "ok"), [
    ("alice", True), ("Alice_2", True), ("jean.dupont", True), ("a-b", True),
    ("127.0.0.1", True), ("bob@good.example", False), ("a b", False), ("a/b", False),
    ("-a", False), ("a.", False), ("", False), ("é", False),
])
def test_username(value: str, ok: bool) -> None:
    assert (username(value) is not None) is ok


def test_author_named_by() -> None:
    assert author_named_by("https://B/users/bob/statuses/1") == "https://b/users/bob"
    assert author_named_by("https://b/users/bob#likes/1") == "https://b/users/bob"
    assert author_named_by("https://b/users/bob") == "https://b/users/bob"
    assert author_named_by("https://b/objects/1") is None
    assert author_named_by("https://b/users") is None


@pytest.mark.parametrize(("actor", "object_id", "ok"), [
    ("https://b/users/alice", "https://b/users/alice/statuses/1", True),
    ("https://b/users/alice", "https://b/users/alice/statuses/1/activity", True),
    ("https://b/users/alice", "https://b/users/alice#follows/1", True),
    ("https://b/users/alice", "https://b/users/alice", True),
    ("https://b/users/alice", "https://b/objects/9", True),
    ("https://b/actor", "https://b/actor#follow/1", True),
    ("https://b/users/alice", "https://b/users/bob/statuses/1", False),
    ("https://b/users/alice", "https://b/users/alicex/statuses/1", False),
    ("https://b/users/alice", "https://b/users/alice/../bob/statuses/1", False),
    ("https://b/users/alice", "https://b/users/alice/x%2F..%2Fbob", False),
    ("https://b/users/alice", "https://c/users/alice/statuses/1", False),
    ("https://b/actor", "https://b/users/bob/statuses/1", False),
])
def test_may_claim(actor: str, object_id: str, ok: bool) -> None:
    assert may_claim(actor, object_id) is ok
