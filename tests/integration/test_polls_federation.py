"""A poll across three real hubs, driven with Mastodon.py: a member of A posts it
(``status_post(poll=…)``), members of A, B and C vote (``poll_vote``), the totals agree on
every hub, a second vote is refused, and when the poll ends its author and voters on both
sides get the ``poll`` notification with the final results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError
from sqlalchemy import func, select, update
from support.hubs import HubProcess, wait_for
from support.world import hub_session, query

from fedi.db import utcnow
from fedi.models import Poll, PollVote, Status

pytestmark = pytest.mark.multihub
SCOPES = ["read", "write", "follow", "push"]
FAST_POLLS = "\n[polls]\nmin_expiration = 1\nclose_interval_seconds = 0.2\n"


def link_by_config(hub: HubProcess, *others: HubProcess) -> None:
    text = hub.config_path.read_text(encoding="utf-8")
    listed = ", ".join(f'"{o.domain}"' for o in others)
    hub.config_path.write_text(text.replace("neighbours = []", f"neighbours = [{listed}]"),
                               encoding="utf-8")


def login(hub: HubProcess, name: str) -> Mastodon:
    cid, secret = Mastodon.create_app("polls", api_base_url=hub.base, scopes=SCOPES)
    client = Mastodon(client_id=cid, client_secret=secret, api_base_url=hub.base)
    client.log_in(f"{name}@{hub.host}.test", hub.passwords[name], scopes=SCOPES,
                  allow_http=True)
    return client


@pytest.fixture
def hubs(make_hub: Callable[..., HubProcess], db_backend: str) -> dict[str, HubProcess]:
    a = make_hub("a", backend=db_backend, extra_config=FAST_POLLS)
    b = make_hub("b", extra_config=FAST_POLLS)
    c = make_hub("c", extra_config=FAST_POLLS)
    link_by_config(a, b, c)
    link_by_config(b, a)
    link_by_config(c, a)
    a.add_user("alice")
    a.add_user("ann")
    b.add_user("bob")
    c.add_user("carol")
    for h in (a, b, c):
        h.start()
    return {"a": a, "b": b, "c": c}


def counts_on(client: Mastodon, status_id: str) -> list[int | None]:
    return [o.votes_count for o in client.status(status_id).poll.options]


def test_poll_across_hubs(hubs: dict[str, HubProcess]) -> None:
    a, b, c = hubs["a"], hubs["b"], hubs["c"]
    alice, ann, bob, carol = login(a, "alice"), login(a, "ann"), login(b, "bob"), login(c, "carol")
    posted = alice.status_post("Afterwork du mois : quel soir ?", visibility="public",
                               poll=alice.make_poll(["Jeudi", "Vendredi"], expires_in=3600))
    assert [o.title for o in posted.poll.options] == ["Jeudi", "Vendredi"]
    assert posted.poll.expired is False and posted.poll.votes_count == 0

    def copy_on(client: Mastodon) -> object:
        found = [s for s in client.timeline_public() if s.uri == posted.uri]
        return found[0] if found else None

    on_b = wait_for(lambda: copy_on(bob), what="the poll on B")
    on_c = wait_for(lambda: copy_on(carol), what="the poll on C")
    assert [o.title for o in on_b.poll.options] == ["Jeudi", "Vendredi"]

    voted = bob.poll_vote(on_b.poll.id, [1])
    assert voted.voted and voted.own_votes == [1]
    with pytest.raises(MastodonAPIError) as refused:
        bob.poll_vote(on_b.poll.id, [0])
    assert refused.value.args[1] == 422
    carol.poll_vote(on_c.poll.id, [0])
    ann.poll_vote(posted.poll.id, 1)
    with pytest.raises(MastodonAPIError):
        alice.poll_vote(posted.poll.id, [0])  # her own poll

    # The author's hub counts one vote each, and sends the totals back to both hubs.
    wait_for(lambda: counts_on(alice, posted.id) == [1, 2], what="three votes counted on A")
    wait_for(lambda: counts_on(bob, on_b.id) == [1, 2], what="the totals on B")
    wait_for(lambda: counts_on(carol, on_c.id) == [1, 2], what="the totals on C")
    assert alice.poll(posted.poll.id).voters_count == 3
    assert bob.poll(on_b.poll.id).own_votes == [1]
    assert query(a, lambda s: s.scalar(select(func.count()).select_from(PollVote))) == 3
    # Votes are never statuses on the author's hub.
    assert query(a, lambda s: s.scalar(select(func.count()).select_from(Status).where(
        Status.in_reply_to_uri == posted.uri))) == 0

    # The poll ends (moved in A's database, no waiting): everyone is told, results final.
    with hub_session(a) as (s, _ctx):
        s.execute(update(Poll).values(expires_at=utcnow() - timedelta(seconds=1)))

    def poll_notes(client: Mastodon) -> list[object]:
        return [n for n in client.notifications(types=["poll"]) if n.status]

    for client in (alice, ann):
        note = wait_for(lambda client=client: poll_notes(client), what="poll notification on A")
        assert note[0].status.id == posted.id and note[0].status.poll.expired
    note = wait_for(lambda: poll_notes(bob), what="poll notification for bob on B")
    assert note[0].status.uri == posted.uri
    assert [o.votes_count for o in note[0].status.poll.options] == [1, 2]
    wait_for(lambda: carol.status(on_c.id).poll.expired, what="the end to reach C")
    with pytest.raises(MastodonAPIError):
        carol.poll_vote(on_c.poll.id, [1])
    assert poll_notes(carol)  # she voted too
    assert counts_on(alice, posted.id) == [1, 2]
