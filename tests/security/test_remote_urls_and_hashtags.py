"""Issue 13 item 4: a linked hub must not put ``javascript:`` URLs or HTML into the API.

Every URL a remote document brings (a note's ``url`` and ``inReplyTo``, an actor's ``url``,
links in HTML) reaches storage, the API or a page only when it is http(s); hashtag names
follow the hashtag grammar (else the tag is dropped) and their URLs are percent-encoded;
an object carries at most 64 hashtags and 64 mentions. Real hub, real signed POSTs from a
hostile remote, assertions through the Mastodon API as an app reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import func, select
from support.client import MemberClient
from support.hostile import (
    actor_by_uri,
    create_note,
    hostile_world,
    new_token,
    pg_database_url,
    status_by_uri,
    wait_processed,
)
from support.world import hub_session, query

from fedi.ids import new_id
from fedi.models import Status, Tag
from fedi.vocab.safety import MAX_TAGS

XSS_TAG = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def world(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    url = pg_database_url(request, "urls") if request.param == "postgresql" else None
    with hostile_world(tmp_path_factory.mktemp(f"urls-{request.param}"), "urls",
                       database_url=url) as w:
        w.client = MemberClient(w.hub, "alice")
        yield w
        w.client.close()


def deliver(world: SimpleNamespace, doc: dict[str, Any], who: Any) -> None:
    response = who.remote.post(world.inbox, doc, who)
    assert response.status_code == 202, response.text
    wait_processed(world.hub, doc["id"])


def neighbourhood_note(world: SimpleNamespace, who: Any, **fields: Any) -> dict[str, Any]:
    """A neighbourhood post that mentions alice (so it is in her home timeline)."""
    doc = create_note(who, to=[f"{world.hub.base}/members"], cc=[world.alice],
                      mentions=[world.alice])
    doc["object"].update(fields)
    return doc


@pytest.mark.parametrize("url", ["javascript:alert(document.cookie)", "data:text/html,<b>x",
                                 " javascript:alert(1)", "java\tscript:alert(1)",
                                 [{"type": "Link", "href": "javascript:alert(1)",
                                   "mediaType": "text/html"}]])
def test_note_url__not_http__replaced_by_the_id(world: SimpleNamespace, url: object) -> None:
    author = world.evil.add_actor(f"linker{new_token()}")
    doc = neighbourhood_note(world, author, url=url)
    deliver(world, doc, author)
    uri = doc["object"]["id"]
    entity = world.client.home_status(uri)
    assert entity["url"] == uri
    assert status_by_uri(world.hub, uri).url == uri


def test_note_url__link_list__the_html_one(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("linklist")
    page = world.evil.url("/@linklist/1")
    doc = neighbourhood_note(world, author, url=[
        {"type": "Link", "href": world.evil.url("/raw.json"), "mediaType": "application/json"},
        {"type": "Link", "href": page, "mediaType": "text/html"}])
    deliver(world, doc, author)
    assert world.client.home_status(doc["object"]["id"])["url"] == page


def test_in_reply_to__not_http__not_stored(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("replier")
    doc = neighbourhood_note(world, author, inReplyTo="javascript:alert(1)")
    deliver(world, doc, author)
    assert status_by_uri(world.hub, doc["object"]["id"]).in_reply_to_uri is None


def test_hashtags__html_dropped__valid_kept_and_encoded(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("tagger")
    doc = neighbourhood_note(world, author, tag=[
        {"type": "Mention", "href": world.alice},
        {"type": "Hashtag", "name": XSS_TAG},
        {"type": "Hashtag", "name": "#a/../../admin"},
        {"type": "Hashtag", "name": "#123"},
        {"type": "Hashtag", "name": "#Café"},
        {"type": "Hashtag", "name": "#vide_grenier"}])
    deliver(world, doc, author)
    entity = world.client.home_status(doc["object"]["id"])
    assert sorted(entity["tags"], key=lambda t: t["name"]) == [
        {"name": "café", "url": f"{world.hub.base}/tags/caf%C3%A9"},
        {"name": "vide_grenier", "url": f"{world.hub.base}/tags/vide_grenier"},
    ]
    assert world.client.tagged("caf%C3%A9") == [doc["object"]["id"]]


def test_tag_endpoints__html_name__nothing(world: SimpleNamespace) -> None:
    quoted = "%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"
    assert world.client.get(f"/api/v1/timelines/tag/{quoted}") == []
    assert world.client.call("GET", f"/api/v1/tags/{quoted}").status_code == 404
    tag = world.client.get("/api/v1/tags/Caf%C3%A9")
    assert tag["name"] == "café" and tag["url"].endswith("/tags/caf%C3%A9")


def test_hashtags__capped_per_object(world: SimpleNamespace) -> None:
    """A Create with tens of thousands of Hashtag items wrote one row each; now 64."""
    author = world.evil.add_actor("flooder")
    doc = neighbourhood_note(world, author)
    doc["object"]["tag"] += [{"type": "Hashtag", "name": f"#t{i}"} for i in range(15_000)]
    deliver(world, doc, author)
    status = status_by_uri(world.hub, doc["object"]["id"])
    tags = query(world.hub, lambda s: s.scalar(
        select(func.count()).select_from(Tag).where(Tag.status_id == status.id)))
    assert tags == MAX_TAGS
    assert len(world.client.home_status(status.uri)["tags"]) == MAX_TAGS


def test_remote_html__links_only_http__no_images(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("htmler")
    doc = neighbourhood_note(world, author, content=(
        '<p>voir <a href="ftp://example.org/x">ftp</a> <a href="mailto:a@b.example">mail</a>'
        ' <img src="https://tracker.example/pixel.png"> <a href="https://example.org/ok">ok</a>'
        "</p>"))
    deliver(world, doc, author)
    content = world.client.home_status(doc["object"]["id"])["content"]
    assert "ftp:" not in content and "mailto:" not in content
    assert "<img" not in content and "tracker.example" not in content
    assert 'href="https://example.org/ok"' in content


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://elsewhere.example/@me"])
def test_actor_url__not_http_or_other_host__dropped(world: SimpleNamespace, url: str) -> None:
    """Mastodon keeps an actor's ``url`` only when it is http(s) on the actor's host."""
    author = world.evil.add_actor(f"profile{new_token()}")
    author.overrides["url"] = url
    doc = neighbourhood_note(world, author)
    deliver(world, doc, author)
    assert actor_by_uri(world.hub, author.uri).url is None
    entity = world.client.home_status(doc["object"]["id"])
    assert entity["account"]["url"] == author.uri


def test_actor_username__not_a_username__refused(world: SimpleNamespace) -> None:
    """``bob@good.example`` as a username would make a misleading ``acct``: the actor is
    not stored, so nothing it sends is."""
    author = world.evil.add_actor("spoofer")
    author.overrides["preferredUsername"] = "bob@good.example"
    doc = neighbourhood_note(world, author)
    response = world.evil.post(world.inbox, doc, author)
    assert response.status_code >= 400
    assert actor_by_uri(world.hub, author.uri) is None
    assert status_by_uri(world.hub, doc["object"]["id"]) is None


def test_stored_bad_url__never_emitted(world: SimpleNamespace) -> None:
    """Defence in depth: a row stored before the rule (or by a bug) with a ``javascript:``
    URL or an HTML tag name still gives the app only http(s) URLs and valid tags."""
    author = world.evil.add_actor("legacy")
    doc = neighbourhood_note(world, author)
    deliver(world, doc, author)
    uri = doc["object"]["id"]
    with hub_session(world.hub) as (s, _ctx):
        status = s.scalar(select(Status).where(Status.uri == uri))
        status.url = "javascript:alert(1)"
        s.add(Tag(id=new_id(), status_id=status.id, name=XSS_TAG))
    entity = world.client.home_status(uri)
    assert entity["url"] == uri
    assert entity["tags"] == []
