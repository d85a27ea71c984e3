"""Issue 13 item 12 (Markdown images): reading a post must not make the reader's app or
browser call a third party (their address and reading time would leak to it).

Member Markdown (articles) shows images only from this hub's own media (``Urls.media``,
``{hub}/media/``); any other image becomes a plain link. Remote HTML keeps no ``<img>`` at
all, as Mastodon does. Real hub; what an app receives is read through the Mastodon API.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from support.client import MemberClient
from support.hostile import create_note, hostile_world, wait_processed
from support.world import hub_session

from fedi.models import Actor, Status
from fedi.services.posting import Draft, create_status, render_markdown

HUB = "https://hub.example"
MEDIA = f"{HUB}/media/"


@pytest.mark.parametrize("markdown", [
    "![photo](https://tracker.example/p.png)",
    "![photo](//tracker.example/p.png)",
    "![photo](http://tracker.example/p.png \"title\")",
    "![photo][ref]\n\n[ref]: https://tracker.example/p.png",
    "[![photo](https://tracker.example/p.png)](https://example.org/)",
    f"![photo]({HUB}.tracker.example/media/p.png)",
    "<img src=\"https://tracker.example/p.png\">",
])
def test_render_markdown__third_party_image__no_img(markdown: str) -> None:
    html = render_markdown(markdown, media_prefix=MEDIA)
    assert "<img" not in html, html


def test_render_markdown__own_media__kept() -> None:
    html = render_markdown(f"![la boutique]({MEDIA}abc.png)", media_prefix=MEDIA)
    assert f'<img src="{MEDIA}abc.png" alt="la boutique">' in html


def test_render_markdown__third_party_image__becomes_a_link() -> None:
    html = render_markdown("![la vitrine](https://example.org/v.png)", media_prefix=MEDIA)
    assert '<a href="https://example.org/v.png"' in html and ">la vitrine</a>" in html


def test_render_markdown__no_media_prefix__no_image_at_all() -> None:
    assert "<img" not in render_markdown(f"![x]({MEDIA}abc.png)")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    with hostile_world(tmp_path_factory.mktemp("md"), "md", users=("alice", "bea")) as w:
        w.alice_api = MemberClient(w.hub, "alice")
        w.bea_api = MemberClient(w.hub, "bea")
        yield w
        w.alice_api.close()
        w.bea_api.close()


def test_member_article__only_hub_media_images(world: SimpleNamespace) -> None:
    media = f"{world.hub.base}/media/"
    body = (f"Notre vitrine ![vitrine]({media}vitrine.png) et la rue "
            "![rue](https://tracker.example/rue.png)")
    with hub_session(world.hub) as (s, ctx):
        author = s.scalar(select(Actor).where(Actor.uri == world.alice))
        status_id = create_status(s, ctx, author, Draft(
            text=body, visibility="hub", title="Nouvelle vitrine")).id
    # Apps get an article as its title, first lines and a link (no image at all); the
    # article's own rendering (the member page) keeps only this hub's media.
    preview = world.bea_api.get(f"/api/v1/statuses/{status_id}")["content"]
    assert "<img" not in preview and "tracker.example" not in preview
    with hub_session(world.hub) as (s, _ctx):
        content = s.scalar(select(Status.content).where(Status.id == status_id))
    assert f'<img src="{media}vitrine.png"' in content
    assert "<img" not in content.replace(f'<img src="{media}vitrine.png"', "")
    assert 'href="https://tracker.example/rue.png"' in content  # a link, not loaded

    # A note edited through the API with a third-party image gets no <img> either.
    note = world.alice_api.post("/api/v1/statuses", {"status": "Vitrine", "visibility": "unlisted"})
    edited = world.alice_api.put(f"/api/v1/statuses/{note['id']}", {
        "status": "Mise à jour ![pixel](https://tracker.example/pixel.gif)"})
    assert "<img" not in edited["content"]
    assert "<img" not in world.bea_api.get(f"/api/v1/statuses/{note['id']}")["content"]


def test_remote_article__img_stripped(world: SimpleNamespace) -> None:
    author = world.evil.add_actor("blogger")
    doc = create_note(author, to=[world.alice], mentions=[world.alice], content=(
        f'<p>Texte <img src="{world.hub.base}/media/x.png"> '
        '<img src="https://tracker.example/pixel.gif" alt="pixel"></p>'))
    doc["object"].update(type="Article", name="Un article")
    assert world.evil.post(world.inbox, doc, author).status_code == 202
    wait_processed(world.hub, doc["id"])
    content = world.alice_api.home_status(doc["object"]["id"])["content"]
    assert "<img" not in content and "tracker.example" not in content
    assert "Texte" in content
