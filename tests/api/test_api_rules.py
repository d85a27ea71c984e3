"""The neighbourhood rules hold after sign-up (issue 13, item 6): a profile change through
``PATCH /api/v1/accounts/update_credentials`` gets sign-up's checks and messages (postal
code in the territory, a trade of the hub's list, free under the trade rule), and a refused
change leaves the whole profile as it was. Driven as apps do: Mastodon.py and raw HTTP,
against a real ``voisins serve`` on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from mastodon import Mastodon
from support.hubs import HubProcess
from support.world import actor, hub_session

from fedi.services.trades import set_trade_rule

SCOPES = ["read", "write", "follow"]
PROFILE = ("display_name", "note", "fields", "trade", "postal_code", "business_name", "website",
           "hide_collections")


@pytest.fixture
def hub(make_hub: Callable[..., HubProcess], db_backend: str) -> HubProcess:
    h = make_hub("rules", backend=db_backend, territory=("75011",))
    for name in ("alice", "bob", "carol", "dan"):
        h.add_user(name)
    with hub_session(h) as (s, _ctx):
        for name, trade in (("bob", "plombier"), ("carol", "electricien"), ("dan", "electricien")):
            member = actor(s, f"{h.base}/users/{name}")
            member.trade, member.postal_code = trade, "75011"
        # Turned on after two electricians joined: nobody is removed (trades.py).
        set_trade_rule(s, True)
    h.start()
    return h


def login(hub: HubProcess, name: str) -> Mastodon:
    cid, secret = Mastodon.create_app("rules", api_base_url=hub.base, scopes=SCOPES)
    client = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
    client.log_in(f"{name}@{hub.host}.test", hub.passwords[name], scopes=SCOPES, allow_http=True)
    return client


def profile(me: Any) -> dict[str, Any]:
    return {k: me[k] for k in PROFILE} | {"source_note": me["source"]["note"]}


def test_profile_changes_keep_the_sign_up_rules(hub: HubProcess) -> None:
    alice = login(hub, "alice")
    # An app that knows nothing of trades and postal codes is never refused for them.
    me = alice.account_update_credentials(display_name="Alice Martin", note="Fleuriste",
                                          fields=[("Horaires", "9h-19h")])
    assert me.display_name == "Alice Martin" and me.trade is None
    # Mastodon's hide_collections, as Mastodon.py sends it (test_api_follow_lists.py: what
    # it hides), shown in the account and in its source.
    me = alice.account_update_credentials(hide_collections=True)
    assert me.hide_collections is True and me.source.hide_collections is True
    headers = {"Authorization": f"Bearer {alice.access_token}"}
    url = f"{hub.base}/api/v1/accounts/update_credentials"
    before = httpx.patch(url, headers=headers, data={
        "trade": "Fleuriste", "postal_code": "75011", "business_name": "Les Roses"})
    assert before.status_code == 200, before.text
    assert before.json()["trade"] == "fleuriste"
    kept = profile(before.json())

    refused = [
        ({"postal_code": "75015"}, "postal_code", "ERR_OUTSIDE_TERRITORY",
         "hors du territoire de ce hub", "outside this hub's territory"),
        ({"postal_code": "Paris"}, "postal_code", "ERR_INVALID",
         "Le code postal compte 5 chiffres", "The postal code must be 5 digits"),
        ({"postal_code": ""}, "postal_code", "ERR_INVALID",
         "Le code postal compte 5 chiffres", "The postal code must be 5 digits"),
        ({"trade": "Plombier·ère"}, "trade", "ERR_TRADE_TAKEN",
         "a déjà son membre sur ce hub", "already has a member on this hub"),
        ({"trade": "astronaute"}, "trade", "ERR_INVALID",
         "Choisissez votre métier dans la liste du hub", "Choose your trade in the hub's list"),
        ({"trade": ""}, "trade", "ERR_INVALID",
         "Choisissez votre métier dans la liste du hub", "Choose your trade in the hub's list"),
    ]
    for change, field, code, french, english in refused:
        # Several fields at once: the valid ones are not saved either.
        body = {"display_name": "Changé", "note": "Autre chose", "business_name": "Autre",
                "website": "https://autre.example", "hide_collections": "false",
                "fields_attributes[0][name]": "X", "fields_attributes[0][value]": "Y", **change}
        answer = httpx.patch(url, headers=headers, data=body)
        assert answer.status_code == 422, (change, answer.text)
        error = answer.json()
        # Asked in French (the member's language): the whole message is French.
        assert error["error"].startswith("La validation a échoué : ") and french in error["error"]
        assert error["details"][field][0]["error"] == code
        english_answer = httpx.patch(url, headers={**headers, "Accept-Language": "en-GB"},
                                     json={"display_name": "Changed", **change})
        assert english_answer.status_code == 422 and english in english_answer.json()["error"]
        assert profile(alice.account_verify_credentials()) == kept, change
    # Mastodon.py sees the refusal as an API error too (its own call, the raw parameter).
    with pytest.raises(Exception, match="hors du territoire"):
        alice._Mastodon__api_request("PATCH", "/api/v1/accounts/update_credentials",
                                     {"display_name": "Changé", "postal_code": "13001"})
    assert profile(alice.account_verify_credentials()) == kept

    # Keeping one's own trade is fine, even where the category already holds two members
    # (the rule was turned on after both joined); a free trade is fine too.
    carol = login(hub, "carol")
    carol_headers = {"Authorization": f"Bearer {carol.access_token}"}
    same = httpx.patch(url, headers=carol_headers, json={"trade": "Électricien·ne",
                                                        "display_name": "Carole"})
    assert same.status_code == 200, same.text
    assert same.json()["trade"] == "electricien"
    moved = httpx.patch(url, headers=carol_headers, data={"trade": "libraire",
                                                         "postal_code": "75011"})
    assert moved.status_code == 200 and moved.json()["trade"] == "libraire"
    # Now that carol left it, the electrician trade is dan's alone: nobody may take it back.
    back = httpx.patch(url, headers=carol_headers, data={"trade": "electricien"})
    assert back.status_code == 422 and "ERR_TRADE_TAKEN" in back.text
    # With the rule off, a taken trade is allowed, as at sign-up.
    with hub_session(hub) as (s, _ctx):
        set_trade_rule(s, False)
    free = httpx.patch(url, headers=headers, data={"trade": "plombier"})
    assert free.status_code == 200 and free.json()["trade"] == "plombier"
