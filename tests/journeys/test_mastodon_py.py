"""Mastodon.py 2.3.3 against a real ``voisins serve`` on loopback: apps, both logins,
every visibility, replies, favourites, follow requests, DMs, notifications, search and
paging through several pages (client-api.md §7)."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError
from support.hubs import HubProcess

SCOPES = ["read", "write", "follow", "push"]
REDIRECT = "http://127.0.0.1:9/callback"
pytestmark = pytest.mark.multihub


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess]) -> HubProcess:
    h = make_hub("mp")
    h.add_user("alice")
    h.add_user("bob")
    h.start()
    return h


def email(hub: HubProcess, name: str) -> str:
    return f"{name}@{hub.host}.test"


def password_login(hub: HubProcess, name: str) -> Mastodon:
    cid, secret = Mastodon.create_app("journey", api_base_url=hub.base, scopes=SCOPES)
    client = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
    client.log_in(email(hub, name), hub.passwords[name], scopes=SCOPES, allow_http=True)
    return client


def code_login(hub: HubProcess, name: str) -> Mastodon:
    """The authorization-code flow, with the consent page driven over HTTP."""
    cid, secret = Mastodon.create_app("journey-web", api_base_url=hub.base, scopes=SCOPES,
                                      redirect_uris=REDIRECT)
    client = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
    url = client.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, state="s1",
                                  allow_http=True)
    page = httpx.get(url)
    assert page.status_code == 200 and "journey-web" in page.text
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
    fields.update(login=email(hub, name), password=hub.passwords[name], decision="approve")
    answer = httpx.post(url.split("?")[0], data=fields, follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s1"]
    client.log_in(code=query["code"][0], redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    return client


def test_mastodon_py_journey(hub: HubProcess) -> None:
    alice = password_login(hub, "alice")
    bob = code_login(hub, "bob")
    me = alice.me()
    assert me.username == "alice" and me.source.privacy == "private"
    bob_id = bob.me().id

    # Bob asks to follow alice; she authorizes; the relationship says so on both sides.
    rel = bob.account_follow(me.id)
    assert rel.requested and not rel.following
    requests = alice.follow_requests()
    assert [a.id for a in requests] == [bob_id]
    alice.follow_request_authorize(bob_id)
    assert bob.account_relationships(me.id)[0].following
    kinds = {n.type for n in alice.notifications()}
    assert {"follow_request", "follow"} <= kinds

    # Every visibility, mapped to our audiences and back.
    posted = {v: alice.status_post(f"statut {v}", visibility=v) for v in
              ("public", "unlisted", "private")}
    assert {v: s.visibility for v, s in posted.items()} == {
        "public": "public", "unlisted": "unlisted", "private": "private"}
    default = alice.status_post("sans visibilité")
    assert default.visibility == "private"
    again = alice.status_post("une fois", idempotency_key="k-1")
    assert alice.status_post("une fois", idempotency_key="k-1").id == again.id

    # Bob sees the followers-only post, replies (keeps the audience), favourites it.
    home = bob.timeline_home()
    assert posted["private"].id in [s.id for s in home]
    reply = bob.status_reply(posted["private"], "Bien reçu")
    assert reply.visibility == "private" and reply.in_reply_to_id == posted["private"].id
    fav = bob.status_favourite(posted["private"])
    assert fav.favourited and fav.favourites_count == 1
    context = alice.status_context(posted["private"])
    assert [s.id for s in context.descendants] == [reply.id]
    assert {n.type for n in alice.notifications()} >= {"mention", "favourite"}
    local = bob.timeline_local()
    assert {posted["public"].id, posted["unlisted"].id} <= {s.id for s in local}
    assert posted["private"].id not in {s.id for s in local}
    with pytest.raises(MastodonAPIError):
        bob.status_reblog(posted["private"])
    boost = bob.status_reblog(posted["public"])
    assert boost.reblog.id == posted["public"].id and boost.visibility == "public"

    # A DM and its conversation, read by bob.
    dm = alice.status_post("@bob un devis ?", visibility="direct")
    convs = bob.conversations()
    assert convs[0].last_status.id == dm.id and convs[0].unread
    assert [a.acct for a in convs[0].accounts] == ["alice"]
    assert not bob.conversations_read(convs[0].id).unread
    mention = [n for n in bob.notifications(types=["mention"]) if n.status.id == dm.id]
    assert mention

    # Search by name and by handle.
    found = bob.search_v2("alice", result_type="accounts")
    assert [a.acct for a in found.accounts] == ["alice"]
    assert bob.search_v2("devis", result_type="statuses").statuses[0].id == dm.id

    # Paging through several pages of the home timeline.
    ids = [alice.status_post(f"page {i}").id for i in range(25)]
    page = alice.timeline_home(limit=10)
    seen = []
    while page:
        seen.extend(s.id for s in page)
        page = alice.fetch_next(page)
    assert seen[:25] == list(reversed(ids))
    assert len(seen) == len(set(seen))
    newer = alice.timeline_home(min_id=ids[19], limit=3)
    assert [s.id for s in newer] == list(reversed(ids[20:23]))

    alice.status_delete(posted["unlisted"])
    assert posted["unlisted"].id not in {s.id for s in bob.timeline_local()}
    alice.revoke_access_token(allow_http=True)
    with pytest.raises(MastodonAPIError):
        alice.me()
