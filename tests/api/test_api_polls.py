"""Polls through the client API (create, vote, results, edit, bad input) and the inbox
(a Mastodon-shaped Question, votes from other hubs), on one in-process hub."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from apiworld import FAR, LINKED, ApiWorld, Member, ok
from sqlalchemy import func, select

from fedi.db import utcnow
from fedi.models import Actor, Notification, OutboxActivity, Poll, PollVote, Status, StatusEdit
from fedi.services.poll_closer import PollCloser
from inbox.dispatch import HandlerContext, dispatch

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
POLL = {"options": ["Jeudi", "Vendredi"], "expires_in": 86400}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    path: Path = tmp_path_factory.mktemp("polls")
    w = ApiWorld(f"sqlite:///{path / 'hub.db'}")
    yield w
    w.close()


@pytest.fixture(scope="module")
def people(world: ApiWorld) -> dict[str, Member]:
    alice, bob, carol = world.member("alice"), world.member("bob"), world.member("carol")
    world.follow(bob, alice)  # bob follows alice; carol follows nobody
    return {"alice": alice, "bob": bob, "carol": carol}


def poll_post(world: ApiWorld, who: Member, poll: dict[str, Any] | None = None,
              **extra: Any) -> dict[str, Any]:
    body = {"status": "Afterwork : quel jour ?", "poll": poll or POLL, **extra}
    return ok(world.post_json(who, "/api/v1/statuses", body))


def vote(world: ApiWorld, who: Member, poll_id: str, *choices: int) -> Any:
    return world.post_form(who, f"/api/v1/polls/{poll_id}/votes",
                           {"choices[]": [str(c) for c in choices]})


def counts(world: ApiWorld) -> tuple[int, int]:
    with world.session() as s:
        return (s.scalar(select(func.count()).select_from(Status)) or 0,
                s.scalar(select(func.count()).select_from(Poll)) or 0)


def end_now(world: ApiWorld, poll_id: str) -> None:
    with world.session() as s:
        s.get(Poll, int(poll_id)).expires_at = utcnow() - timedelta(seconds=1)


def inbox(world: ApiWorld, sender_id: int, doc: dict[str, Any]) -> None:
    with world.session() as s:
        dispatch(HandlerContext(s, world.ctx(), s.get(Actor, sender_id)), doc)


def test_create_from_json_and_form_with_the_poll_entity(world: ApiWorld,
                                                         people: dict[str, Member]) -> None:
    alice = people["alice"]
    status = poll_post(world, alice, visibility="public")
    poll = status["poll"]
    assert [o["title"] for o in poll["options"]] == ["Jeudi", "Vendredi"]
    assert poll["multiple"] is False and poll["expired"] is False
    assert poll["votes_count"] == 0 and poll["voters_count"] == 0 and poll["emojis"] == []
    assert poll["voted"] is True and poll["own_votes"] == []  # her own poll
    assert poll["expires_at"].endswith("Z")
    form = ok(world.post_form(alice, "/api/v1/statuses", {
        "status": "Sondage en formulaire", "poll[options][]": ["Oui", "Non", "Peut-être"],
        "poll[expires_in]": "3600", "poll[multiple]": "1", "poll[hide_totals]": "0"}))
    assert [o["title"] for o in form["poll"]["options"]] == ["Oui", "Non", "Peut-être"]
    assert form["poll"]["multiple"] is True
    # The Create carries a Question with oneOf, endTime and votersCount.
    with world.session() as s:
        doc = s.scalar(select(OutboxActivity.payload).where(
            OutboxActivity.object_uri == status["uri"], OutboxActivity.type == "Create"))
    assert doc["object"]["type"] == "Question"
    assert [o["name"] for o in doc["object"]["oneOf"]] == ["Jeudi", "Vendredi"]
    assert doc["object"]["oneOf"][0]["replies"]["totalItems"] == 0
    assert "endTime" in doc["object"] and doc["object"]["votersCount"] == 0
    for version in ("v1", "v2"):
        config = ok(world.get(None, f"/api/{version}/instance"))["configuration"]["polls"]
        assert config == {"max_options": 4, "max_characters_per_option": 50,
                          "min_expiration": 300, "max_expiration": 2629746}


@pytest.mark.parametrize(("poll", "message"), [
    ({"options": ["Seul"], "expires_in": 3600}, "au moins 2 choix"),
    ({"options": [f"choix {i}" for i in range(30)], "expires_in": 3600}, "plus de 4 choix"),
    ({"options": ["a", "b"], "expires_in": -60}, "au moins 300 secondes"),
    ({"options": ["a", "b"], "expires_in": 60}, "au moins 300 secondes"),
    ({"options": ["a", "b"], "expires_in": 2629747}, "plus de 2629746 secondes"),
    ({"options": ["a", "b"]}, "durée du sondage"),
    ({"options": ["a", "  "], "expires_in": 3600}, "vide"),
    ({"options": ["a", "x" * 51], "expires_in": 3600}, "50 caractères"),
    ({"options": ["Oui", "oui"], "expires_in": 3600}, "différents"),
])
def test_bad_polls_are_refused_and_nothing_is_saved(world: ApiWorld, people: dict[str, Member],
                                                    poll: dict[str, Any], message: str) -> None:
    before = counts(world)
    answer = world.post_json(people["alice"], "/api/v1/statuses",
                             {"status": "Mauvais sondage", "poll": poll})
    assert answer.status_code == 422, answer.text
    assert message in answer.json()["error"]
    assert counts(world) == before


def test_english_members_read_english_and_media_is_refused(world: ApiWorld) -> None:
    dave = world.member("dave")
    with world.session() as s:
        from fedi.models import User
        s.get(User, dave.user_id).locale = "en"
    answer = world.post_json(dave, "/api/v1/statuses",
                             {"status": "x", "poll": {"options": ["a"], "expires_in": 3600}})
    assert answer.status_code == 422
    assert answer.json()["error"] == "Validation failed: a poll must have at least 2 options"
    answer = world.post_json(dave, "/api/v1/statuses",
                             {"status": "x", "poll": POLL, "media_ids": ["1"]})
    assert answer.status_code == 422 and "media" in answer.json()["error"]


def test_votes_counts_and_refusals(world: ApiWorld, people: dict[str, Member]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    posted = poll_post(world, alice, visibility="public")
    public = posted["poll"]
    answer = ok(vote(world, bob, public["id"], 1))
    assert answer["voted"] is True and answer["own_votes"] == [1]
    assert [o["votes_count"] for o in answer["options"]] == [0, 1]
    again = vote(world, bob, public["id"], 0)
    assert again.status_code == 422 and "déjà voté" in again.json()["error"]
    both = vote(world, carol, public["id"], 0, 1)
    assert both.status_code == 422 and "une seule" in both.json()["error"]
    assert vote(world, carol, public["id"], 7).status_code == 422
    assert vote(world, alice, public["id"], 0).status_code == 422  # her own poll
    ok(vote(world, carol, public["id"], 0))
    seen = ok(world.get(alice, f"/api/v1/polls/{public['id']}"))
    assert seen["votes_count"] == 2 and seen["voters_count"] == 2
    assert [o["votes_count"] for o in seen["options"]] == [1, 1]
    # Each vote sent the new counts to the poll's audience.
    with world.session() as s:
        last = s.scalars(select(OutboxActivity.payload).where(
            OutboxActivity.type == "Update", OutboxActivity.object_uri == posted["uri"])
            .order_by(OutboxActivity.id.desc())).first()
    assert last["object"]["type"] == "Question"
    assert [o["replies"]["totalItems"] for o in last["object"]["oneOf"]] == [1, 1]

    # A followers-only poll is invisible to carol: 404, as for the status itself.
    private = poll_post(world, alice, visibility="private")["poll"]
    assert world.get(carol, f"/api/v1/polls/{private['id']}").status_code == 404
    assert vote(world, carol, private["id"], 0).status_code == 404
    ok(vote(world, bob, private["id"], 0))

    # An ended poll refuses votes and shows its results.
    end_now(world, public["id"])
    late = vote(world, people["carol"], public["id"], 1)
    assert late.status_code == 422 and "terminé" in late.json()["error"]
    assert ok(world.get(bob, f"/api/v1/polls/{public['id']}"))["expired"] is True


def test_multiple_choice_and_hidden_totals(world: ApiWorld, people: dict[str, Member]) -> None:
    alice, bob, carol = people["alice"], people["bob"], people["carol"]
    poll = poll_post(world, alice, {"options": ["a", "b", "c"], "expires_in": 3600,
                                    "multiple": True, "hide_totals": True},
                     visibility="public")["poll"]
    mine = ok(vote(world, bob, poll["id"], 0, 2))
    assert mine["own_votes"] == [0, 2] and mine["votes_count"] == 2
    assert [o["votes_count"] for o in mine["options"]] == [None, None, None]
    assert vote(world, bob, poll["id"], 2).status_code == 422  # that choice again
    assert ok(vote(world, bob, poll["id"], 1))["own_votes"] == [0, 1, 2]
    ok(vote(world, carol, poll["id"], 0))
    author_view = ok(world.get(alice, f"/api/v1/polls/{poll['id']}"))
    assert [o["votes_count"] for o in author_view["options"]] == [2, 1, 1]
    assert author_view["voters_count"] == 2
    end_now(world, poll["id"])
    after = ok(world.get(bob, f"/api/v1/polls/{poll['id']}"))
    assert [o["votes_count"] for o in after["options"]] == [2, 1, 1]


def test_edit_resets_votes_when_options_change(world: ApiWorld,
                                               people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    status = poll_post(world, alice, visibility="public")
    ok(vote(world, bob, status["poll"]["id"], 0))
    same = ok(world.client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                               json={"status": "Toujours la question", "poll": POLL}))
    assert same["poll"]["votes_count"] == 1
    changed = ok(world.client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                                  json={"status": "Autre question", "poll": {
                                      "options": ["Lundi", "Mardi"], "expires_in": 7200}}))
    assert [o["title"] for o in changed["poll"]["options"]] == ["Lundi", "Mardi"]
    assert changed["poll"]["votes_count"] == 0
    bad = world.client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                           json={"status": "x", "poll": {"options": ["seul"], "expires_in": 60}})
    assert bad.status_code == 422
    assert ok(world.get(alice, f"/api/v1/statuses/{status['id']}"))["content"] == (
        "<p>Autre question</p>")
    gone = ok(world.client.put(f"/api/v1/statuses/{status['id']}", headers=alice.headers,
                               json={"status": "Plus de sondage"}))
    assert gone["poll"] is None


def mastodon_question(author_uri: str, qid: str, *, counts: tuple[int, int] = (3, 1),
                      closed: bool = False) -> dict[str, Any]:
    """A Question as a Mastodon server sends it (hand-written from its serializer)."""
    obj: dict[str, Any] = {
        "id": qid, "type": "Question", "attributedTo": author_uri,
        "content": "<p>Pain au levain ou baguette ?</p>", "published": "2026-11-30T10:00:00Z",
        "to": [f"{author_uri}/followers"], "cc": [], "sensitive": False,
        "endTime": "2026-12-01T10:00:00Z", "votersCount": sum(counts),
        "oneOf": [{"type": "Note", "name": "Levain",
                   "replies": {"type": "Collection", "totalItems": counts[0]}},
                  {"type": "Note", "name": "Baguette",
                   "replies": {"type": "Collection", "totalItems": counts[1]}}],
    }
    if closed:
        obj["closed"] = "2026-11-30T12:00:00Z"
    return obj


def test_inbound_mastodon_question_shows_as_a_poll(world: ApiWorld,
                                                   people: dict[str, Member]) -> None:
    bob = people["bob"]
    baker = world.remote("boulanger", LINKED)
    world.follow(bob, baker)
    with world.session() as s:
        baker_uri = s.get(Actor, baker).uri
    qid = f"{baker_uri}/statuses/1"
    inbox(world, baker, {"id": f"{qid}/activity", "type": "Create", "actor": baker_uri,
                         "object": mastodon_question(baker_uri, qid)})
    home = ok(world.get(bob, "/api/v1/timelines/home"))
    status = next(s for s in home if s["uri"] == qid)
    poll = status["poll"]
    assert [(o["title"], o["votes_count"]) for o in poll["options"]] == [("Levain", 3),
                                                                         ("Baguette", 1)]
    assert poll["voters_count"] == 4 and poll["voted"] is False
    # Bob votes: the vote goes to the baker only, as a Note with a name and no content.
    ok(vote(world, bob, poll["id"], 1))
    with world.session() as s:
        sent = s.scalar(select(OutboxActivity.payload).where(
            OutboxActivity.type == "Create", OutboxActivity.object_uri.like("%#votes/%")))
    assert sent["object"]["name"] == "Baguette" and sent["object"]["inReplyTo"] == qid
    assert sent["object"]["to"] == [baker_uri] and "content" not in sent["object"]
    # The author's hub sends new counts: applied, and not an edit.
    inbox(world, baker, {"id": f"{qid}#updates/1", "type": "Update", "actor": baker_uri,
                         "object": mastodon_question(baker_uri, qid, counts=(3, 2),
                                                     closed=True)})
    after = ok(world.get(bob, f"/api/v1/statuses/{status['id']}"))
    assert [o["votes_count"] for o in after["poll"]["options"]] == [3, 2]
    assert after["poll"]["expired"] is True and after["edited_at"] is None
    assert after["poll"]["own_votes"] == [1]
    with world.session() as s:
        assert s.scalar(select(func.count()).select_from(StatusEdit).where(
            StatusEdit.status_id == int(status["id"]))) == 0


def test_votes_from_other_hubs(world: ApiWorld, people: dict[str, Member]) -> None:
    alice = people["alice"]
    status = poll_post(world, alice, visibility="public")
    private = poll_post(world, alice, visibility="private")
    rita, far = world.remote("rita", LINKED), world.remote("fabien", FAR)
    with world.session() as s:
        rita_uri, far_uri = s.get(Actor, rita).uri, s.get(Actor, far).uri

    alice_uri = world.urls.actor(alice.username)

    def remote_vote(sender: int, uri: str, question: str, name: str, n: int) -> None:
        inbox(world, sender, {"id": f"{uri}#votes/{n}/activity", "type": "Create",
                              "actor": uri, "to": [alice_uri],
                              "object": {"id": f"{uri}#votes/{n}", "type": "Note",
                                         "name": name, "inReplyTo": question,
                                         "attributedTo": uri, "to": [alice_uri]}})

    remote_vote(rita, rita_uri, status["uri"], "Vendredi", 1)
    remote_vote(rita, rita_uri, status["uri"], "Vendredi", 1)  # replayed
    remote_vote(rita, rita_uri, status["uri"], "Jeudi", 2)  # a second vote: refused
    remote_vote(far, far_uri, status["uri"], "Jeudi", 1)  # an unlinked hub: cannot see it
    remote_vote(rita, rita_uri, private["uri"], "Jeudi", 3)  # not a follower: cannot see it
    remote_vote(rita, rita_uri, status["uri"], "Samedi", 4)  # no such option: dropped
    poll = ok(world.get(alice, f"/api/v1/polls/{status['poll']['id']}"))
    assert [o["votes_count"] for o in poll["options"]] == [0, 1]
    assert ok(world.get(alice, f"/api/v1/polls/{private['poll']['id']}"))["votes_count"] == 0
    with world.session() as s:
        # Votes are never statuses, and nothing was stored for the refused ones.
        assert s.scalar(select(func.count()).select_from(Status).where(
            Status.in_reply_to_uri.in_([status["uri"], private["uri"]]))) == 0
        assert s.scalar(select(func.count()).select_from(PollVote).where(
            PollVote.actor_id.in_([rita, far]))) == 1


def test_the_end_notifies_author_and_voters(world: ApiWorld, people: dict[str, Member]) -> None:
    alice, bob = people["alice"], people["bob"]
    status = poll_post(world, alice, visibility="public")
    ok(vote(world, bob, status["poll"]["id"], 0))
    end_now(world, status["poll"]["id"])
    closer = PollCloser(world.sessions, world.ctx())
    assert closer.run_once() >= 1
    assert closer.run_once() == 0  # once only
    for who in (alice, bob):
        notes = ok(world.get(who, "/api/v1/notifications", params={"types[]": "poll"}))
        ours = [n for n in notes if n["status"]["id"] == status["id"]]
        assert len(ours) == 1 and ours[0]["account"]["username"] == alice.username
        assert ours[0]["status"]["poll"]["expired"] is True
    with world.session() as s:
        final = s.scalars(select(OutboxActivity.payload).where(
            OutboxActivity.type == "Update").order_by(OutboxActivity.id.desc())).first()
        assert s.scalar(select(Notification.id).where(
            Notification.type == "poll", Notification.owner_id == alice.actor_id)) is not None
    assert final["object"]["id"] == status["uri"] and "closed" in final["object"]


def test_results_go_only_to_voters_still_in_the_audience(world: ApiWorld,
                                                         people: dict[str, Member]) -> None:
    """A remote voter gets the Update(Question) of a followers-only poll while following
    its author; once the follow ends, the poll's text and counts no longer go to them."""
    from sqlalchemy import delete

    from fedi.models import Delivery, Follow

    alice = people["alice"]
    vera = world.remote("vera", LINKED)
    vera_inbox = f"https://{LINKED}/users/vera/inbox"
    with world.session() as s:
        s.get(Actor, vera).shared_inbox = None  # deliveries to its own inbox are its own
        vera_uri = s.get(Actor, vera).uri
    world.follow(vera, alice)
    status = poll_post(world, alice, visibility="private")
    alice_uri = world.urls.actor(alice.username)
    inbox(world, vera, {"id": f"{vera_uri}#votes/9/activity", "type": "Create",
                        "actor": vera_uri, "to": [alice_uri],
                        "object": {"id": f"{vera_uri}#votes/9", "type": "Note",
                                   "name": "Jeudi", "inReplyTo": status["uri"],
                                   "attributedTo": vera_uri, "to": [alice_uri]}})

    def last_update_inboxes() -> set[str]:
        with world.session() as s:
            update = s.scalar(select(OutboxActivity.id).where(
                OutboxActivity.type == "Update", OutboxActivity.object_uri == status["uri"])
                .order_by(OutboxActivity.id.desc()).limit(1))
            return set(s.scalars(select(Delivery.inbox_url).where(
                Delivery.activity_id == update)))

    assert vera_inbox in last_update_inboxes()  # the new counts after her vote
    with world.session() as s:
        s.execute(delete(Follow).where(Follow.follower_id == vera,
                                       Follow.followee_id == alice.actor_id))
    end_now(world, status["poll"]["id"])
    assert PollCloser(world.sessions, world.ctx()).run_once() >= 1
    assert vera_inbox not in last_update_inboxes()  # the final results
@pytest.mark.parametrize("choice", ["²", "٣", "1²", "-1", "", "x" * 5])
def test_a_choice_that_is_not_an_option_number_is_refused(world: ApiWorld,
                                                           people: dict[str, Member],
                                                           choice: str) -> None:
    poll = poll_post(world, people["alice"], visibility="public")["poll"]
    before = counts(world)
    answer = world.post_form(people["bob"], f"/api/v1/polls/{poll['id']}/votes",
                             {"choices[]": [choice]})
    assert answer.status_code == 422, (choice, answer.text)
    as_json = world.post_json(people["bob"], f"/api/v1/polls/{poll['id']}/votes",
                              {"choices": [choice]})
    assert as_json.status_code == 422, (choice, as_json.text)
    assert counts(world) == before


@pytest.mark.parametrize("key", ["ungrouped-²", "favourite-1-²", "favourite-²-1", "mention-x"])
def test_a_malformed_notification_group_key_is_404(world: ApiWorld, people: dict[str, Member],
                                                   key: str) -> None:
    for path in (f"/api/v2/notifications/{key}", f"/api/v2/notifications/{key}/accounts"):
        answer = world.get(people["bob"], path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]
