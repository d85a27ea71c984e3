"""Media between real hubs: Mastodon.py uploads a photo and an avatar on hub A; a follower
on linked hub B sees both through B (B fetches and serves them); a non-follower on A and
a non-follower on B (signed fetch) get 404 for the photo of the followers-only post."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from journeys.test_mastodon_py import password_login
from journeys.test_privacy_hubs import Api, link_by_config
from PIL import Image
from sqlalchemy import select
from support.hubs import HubProcess, wait_for

from fedi.db import make_engine, make_sessionmaker
from fedi.models import Actor
from fedi.signatures import sign_request

pytestmark = pytest.mark.multihub


def jpeg(color: tuple[int, int, int], size: tuple[int, int] = (120, 90)) -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def signed_get(hub: HubProcess, username: str, url: str) -> httpx.Response:
    """A GET signed with the key of ``username``, a member of ``hub``."""
    engine = make_engine(hub.settings().database_url)
    try:
        with make_sessionmaker(engine)() as session:
            actor = session.scalar(select(Actor).where(Actor.username == username,
                                                       Actor.local.is_(True)))
            assert actor is not None
            key_id, pem = actor.key_id or "", actor.private_key_pem or ""
    finally:
        engine.dispose()
    headers = sign_request("GET", url, headers={"Accept": "*/*"}, body=None,
                           private_key_pem=pem, key_id=key_id, now=datetime.now(UTC))
    return httpx.get(url, headers=headers, timeout=10)


@pytest.fixture
def hubs(make_hub: Callable[..., HubProcess]) -> tuple[HubProcess, HubProcess]:
    a, b = make_hub("a"), make_hub("b")
    link_by_config(a, b)
    link_by_config(b, a)
    a.add_user("alice")
    a.add_user("carol")
    b.add_user("bob")
    b.add_user("bea")
    a.start()
    b.start()
    return a, b


def test_photos_and_avatars_across_hubs(hubs: tuple[HubProcess, HubProcess]) -> None:
    a, b = hubs
    alice = password_login(a, "alice")
    carol = Api(a, "carol")
    bob = Api(b, "bob")

    # The avatar, set with Mastodon.py, on the profile.
    me = alice.account_update_credentials(avatar=jpeg((10, 150, 90), (256, 256)),
                                          avatar_mime_type="image/jpeg")
    assert "/media/default/" not in me.avatar
    mine = httpx.get(me.avatar, headers={"Authorization": f"Bearer {alice.access_token}"})
    assert mine.status_code == 200 and mine.headers["content-type"] == "image/jpeg"

    # bob on B follows alice; she accepts.
    # B may have stored alice from A's member list before her avatar was set: the change
    # reaches B as an Update (the directory push), so B shows the photo once it has it.
    def alice_seen_on_b() -> tuple[dict[str, Any], httpx.Response] | None:
        found = bob.get("/api/v2/search", q=f"alice@{a.domain}", resolve="true",
                        type="accounts")
        account = found["accounts"][0]
        assert account["avatar"].startswith(b.base + "/media/profile/")
        shown = httpx.get(account["avatar"], headers=bob.headers, timeout=15)
        ready = shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        return (account, shown) if ready else None

    alice_on_b, shown = wait_for(alice_seen_on_b, what="alice's new avatar shown on B")
    assert Image.open(io.BytesIO(shown.content)).size == (256, 256)
    bob.post(f"/api/v1/accounts/{alice_on_b['id']}/follow")
    request = wait_for(lambda: alice.follow_requests(), what="the follow request on A")
    alice.follow_request_authorize(request[0].id)
    wait_for(lambda: bob.get("/api/v1/accounts/relationships",
                             id=alice_on_b["id"])[0]["following"], what="the Accept on B")

    # A photo on a followers-only post, with Mastodon.py.
    media = alice.media_post(jpeg((200, 40, 40)), mime_type="image/jpeg",
                             description="La vitrine")
    status = alice.status_post("Nouvelle collection", media_ids=[media.id],
                               visibility="private")
    assert status.media_attachments[0].description == "La vitrine"
    url = status.media_attachments[0].url
    photo = httpx.get(url)  # as an app loads it: no header, the URL is the capability
    assert photo.status_code == 200
    assert 0x8825 not in Image.open(io.BytesIO(photo.content)).getexif()

    # Not for a non-follower of A (token) nor a non-follower of B (signed fetch).
    assert httpx.get(url, headers=carol.headers).status_code == 404
    assert signed_get(b, "bea", url).status_code == 404
    assert signed_get(b, "bob", url).status_code == 200

    # bob sees the photo through his own hub.
    def on_b() -> list[dict[str, object]]:
        home = bob.get("/api/v1/timelines/home")
        return [s for s in home if "Nouvelle collection" in str(s["content"])]

    post = wait_for(on_b, what="the post on B")[0]
    attachment = post["media_attachments"][0]
    assert attachment["url"].startswith(b.base + "/media/")
    assert attachment["description"] == "La vitrine"
    through_b = httpx.get(attachment["url"], headers=bob.headers, timeout=15)
    assert through_b.status_code == 200, through_b.text
    assert through_b.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(through_b.content)).size == (120, 90)
    bea = Api(b, "bea")
    assert httpx.get(attachment["url"], headers=bea.headers).status_code == 404
