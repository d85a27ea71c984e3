"""An event's RSVP poll: how Mastodon apps answer an event.

Every local event carries a poll of kind ``rsvp`` « J'y vais / Peut-être / Je ne viens pas »
(no end: it follows the event). A vote is the RSVP: for a member here, or of any linked hub
(their hub sends the vote, and for its own copy of the event also a Join). Changing the vote
changes the RSVP; « Je ne viens pas » leaves. The polls service calls ``rsvp_voted`` after
storing a vote in such a poll (and ``events.event_document`` for its Update).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlalchemy.orm import Session

from fedi.models import Actor, Event, PollVote, Status
from fedi.services.events import EventError, send_update
from fedi.services.participation import answer, rsvp, rsvp_remote, set_rsvp
from fedi.services.polls import VoteError
from outbox.context import PublishContext

WISH_OF_CHOICE = {0: "going", 1: "maybe", 2: "no"}


class RsvpRefused(VoteError):
    """A vote the event refuses (full, cancelled, …), with the event's own message."""

    def __init__(self, refusal: EventError) -> None:
        ValueError.__init__(self, refusal.en)
        self.code, self.params = "rsvp", {}
        self.status = 404 if refusal.status == 404 else 422
        self.refusal = refusal

    def message(self, locale: str | None = "fr") -> str:
        return self.refusal.text("en" if (locale or "fr").startswith("en") else "fr")


def rsvp_voted(session: Session, ctx: PublishContext, status: Status, voter: Actor,
               votes: Sequence[PollVote]) -> None:
    """A vote stored in an RSVP poll becomes the voter's RSVP (see the module doc)."""
    if not votes or session.get(Event, status.id) is None:
        return
    wish = WISH_OF_CHOICE.get(votes[0].choice, "no")
    if not status.local or voter.local:
        try:
            if status.local:
                set_rsvp(session, ctx, status, voter, wish)
            else:
                rsvp_remote(session, ctx, status, voter, wish)
        except EventError as exc:
            raise RsvpRefused(exc) from None
        return
    # A member of a linked hub voted in our event's poll: answered as their Join would be.
    try:
        outcome = rsvp(session, ctx, status, voter, wish)
    except EventError:
        outcome = None
    if outcome is None or outcome.full:
        session.execute(delete(PollVote).where(PollVote.poll_id == votes[0].poll_id,
                                               PollVote.actor_id == voter.id))
        answer(session, ctx, status, voter, None, False)
        return
    if outcome.state == "accepted" and outcome.changed:
        answer(session, ctx, status, voter, None, True)
    event = session.get(Event, status.id)
    if outcome.changed and event is not None:
        send_update(session, ctx, status, event)
