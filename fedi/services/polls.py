"""Polls: create, vote, count, publish results. Mastodon's behaviour, our audiences.

Interface (for the API, the inbox and the events service):

- ``validate_poll(spec, limits, now) -> (options, expires_at)``: a poll asked for by a client
  (``PollSpec``: options, expires_in, multiple, hide_totals), checked against ``PollLimits``
  (``poll_limits(settings)``; Mastodon's defaults: 4 options of 50 characters, 5 minutes to
  a month). Raises ``PollError`` (``.code``, ``.message(locale)`` in French or English).
- ``create_poll(session, status, options, *, expires_at, multiple, hide_totals, kind)``: the
  poll of a status (no limits checked: events make their own RSVP polls with ``kind="rsvp"``).
  ``create_status`` calls it for ``Draft.poll``; the ``Create`` then carries a ``Question``.
- ``poll_of(session, status_id)``, ``poll_results(session, poll) -> PollResults``
  (counts per option, voters), ``with_question(session, status, doc)`` (a status document
  becomes a ``Question`` when the status has a poll: used by every place that builds one).
- ``cast_vote(session, ctx, voter, poll, status, choices, is_linked)``: a local member votes
  (API). ``receive_vote(session, ctx, voter, status, name, uri, is_linked)``: a vote from
  another hub. **Both go through ``record_vote``**, the one place a vote is checked and
  stored; a poll's ``kind`` (``"poll"``, ``"rsvp"``) is where other services hook in
  (``changeable`` says whose votes may be changed; add the RSVP effect at the end of
  ``record_vote``). Raises ``VoteError`` (``.status``: 404 invisible, 422 otherwise).
- ``publish_results(session, ctx, status, poll)``: ``Update(Question)`` to the original
  recipients; ``apply_remote_question(session, status, obj)``: a remote ``Question``'s
  options and counts; ``edit_poll(...)``: a status edit with a poll (votes reset when the
  options change, as Mastodon does). ``fedi.services.poll_closer`` ends polls when their
  time is up (the ``poll`` notifications, final results).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fedi.config import ConfigError, Settings
from fedi.convert.model_to_ap import note
from fedi.convert.question import parse_question, question_fields, vote_note
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Mention, Poll, PollVote, Status, Tag
from fedi.services.visibility import can_see, who_may_see
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.publish import publish

IsLinked = Callable[[str], bool]

MESSAGES: dict[str, tuple[str, str]] = {
    "too_few_options": ("un sondage doit proposer au moins 2 choix",
                        "a poll must have at least 2 options"),
    "too_many_options": ("un sondage ne peut pas proposer plus de {max} choix",
                         "a poll cannot have more than {max} options"),
    "blank_option": ("un choix du sondage est vide", "a poll option is blank"),
    "option_too_long": ("un choix du sondage dépasse {max} caractères",
                        "a poll option is over {max} characters"),
    "duplicate_options": ("les choix du sondage doivent être tous différents",
                          "poll options must all be different"),
    "no_expiry": ("indiquez la durée du sondage (expires_in)",
                  "the poll needs a duration (expires_in)"),
    "expiry_too_short": ("un sondage doit durer au moins {min} secondes",
                         "a poll must last at least {min} seconds"),
    "expiry_too_long": ("un sondage ne peut pas durer plus de {max} secondes",
                        "a poll cannot last more than {max} seconds"),
    "with_media": ("un sondage ne peut pas accompagner des médias",
                   "a poll cannot be combined with media"),
    "expired": ("ce sondage est terminé", "this poll has already ended"),
    "own_poll": ("vous ne pouvez pas voter à votre propre sondage",
                 "you cannot vote in your own poll"),
    "already_voted": ("vous avez déjà voté à ce sondage", "you have already voted in this poll"),
    "no_choice": ("choisissez au moins une réponse", "choose at least one option"),
    "one_choice": ("ce sondage n'accepte qu'une seule réponse",
                   "this poll accepts only one choice"),
    "invalid_choice": ("ce choix n'existe pas dans ce sondage", "that choice is not in this poll"),
    "not_found": ("sondage introuvable", "poll not found"),
}


class PollError(ValueError):
    """A poll cannot be created, changed or voted in; ``message(locale)`` says why."""

    status = 422

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(MESSAGES[code][1].format(**params))
        self.code = code
        self.params = params

    def message(self, locale: str | None = "fr") -> str:
        french, english = MESSAGES[self.code]
        return (english if (locale or "fr").startswith("en") else french).format(**self.params)


class VoteError(PollError):
    """A vote is refused (404 when the voter may not see the poll, else 422)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code, **params)
        self.status = 404 if code == "not_found" else 422


@dataclass(frozen=True)
class PollLimits:
    max_options: int = 4
    max_characters_per_option: int = 50
    min_expiration: int = 300
    max_expiration: int = 2629746

    def as_dict(self) -> dict[str, int]:
        return {"max_options": self.max_options,
                "max_characters_per_option": self.max_characters_per_option,
                "min_expiration": self.min_expiration, "max_expiration": self.max_expiration}


MASTODON_LIMITS = PollLimits()


def poll_limits(settings: Settings) -> PollLimits:
    """Mastodon's limits; ``[polls] min_expiration`` (seconds, ≥ 1) lowers the minimum for
    test hubs, so a test can see a poll end without waiting five minutes."""
    table = settings.extra.get("polls", {})
    if not isinstance(table, Mapping) or "min_expiration" not in table:
        return MASTODON_LIMITS
    value = table["min_expiration"]
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        raise ConfigError("polls.min_expiration", f"expected seconds, got {value!r}") from None
    if isinstance(value, bool) or seconds < 1:
        raise ConfigError("polls.min_expiration", f"must be at least 1, got {value!r}")
    return PollLimits(min_expiration=seconds)


@dataclass(frozen=True)
class PollSpec:
    """A poll as a client asks for it (``poll[...]`` on ``POST /api/v1/statuses``)."""

    options: tuple[str, ...]
    expires_in: int | None
    multiple: bool = False
    hide_totals: bool = False


@dataclass(frozen=True)
class PollResults:
    counts: list[int]
    voters_count: int | None


def validate_poll(spec: PollSpec, limits: PollLimits,
                  now: datetime) -> tuple[list[str], datetime]:
    """Options (trimmed) and end of a requested poll, or ``PollError``."""
    options = [o.strip() for o in spec.options]
    if len(options) < 2:
        raise PollError("too_few_options")
    if len(options) > limits.max_options:
        raise PollError("too_many_options", max=limits.max_options)
    if any(not o for o in options):
        raise PollError("blank_option")
    if any(len(o) > limits.max_characters_per_option for o in options):
        raise PollError("option_too_long", max=limits.max_characters_per_option)
    if len({o.casefold() for o in options}) != len(options):
        raise PollError("duplicate_options")
    if spec.expires_in is None:
        raise PollError("no_expiry")
    if spec.expires_in < limits.min_expiration:
        raise PollError("expiry_too_short", min=limits.min_expiration)
    if spec.expires_in > limits.max_expiration:
        raise PollError("expiry_too_long", max=limits.max_expiration)
    return options, now + timedelta(seconds=spec.expires_in)


def create_poll(session: Session, status: Status, options: Sequence[str], *,
                expires_at: datetime | None, multiple: bool = False,
                hide_totals: bool = False, kind: str = "poll") -> Poll:
    """The poll of ``status`` (validated by the caller: ``validate_poll`` for members)."""
    poll = Poll(id=new_id(), status_id=status.id, kind=kind, options=list(options),
                multiple=multiple, hide_totals=hide_totals, expires_at=expires_at,
                cached_counts=[0] * len(options), voters_count=0, created_at=utcnow(),
                updated_at=utcnow())
    session.add(poll)
    session.flush()
    return poll


def poll_of(session: Session, status_id: int) -> Poll | None:
    return session.scalar(select(Poll).where(Poll.status_id == status_id))


def is_expired(poll: Poll, now: datetime | None = None) -> bool:
    return poll.expires_at is not None and poll.expires_at <= (now or utcnow())


def count_votes(session: Session, poll: Poll) -> PollResults:
    """Counts from the vote rows (the truth for a local poll)."""
    per_choice = dict(session.execute(select(PollVote.choice, func.count()).where(
        PollVote.poll_id == poll.id).group_by(PollVote.choice)).all())
    voters = session.scalar(select(func.count(distinct(PollVote.actor_id))).where(
        PollVote.poll_id == poll.id)) or 0
    return PollResults([int(per_choice.get(i, 0)) for i in range(len(poll.options))], voters)


def poll_results(session: Session, poll: Poll, *, local: bool | None = None) -> PollResults:
    """A local poll is counted from its votes; a remote one is what its hub published."""
    if local is None:
        local = bool(session.scalar(select(Status.local).where(Status.id == poll.status_id)))
    if local:
        return count_votes(session, poll)
    counts = list(poll.cached_counts or [])
    counts += [0] * (len(poll.options) - len(counts))
    return PollResults(counts[:len(poll.options)], poll.voters_count)


def with_question(session: Session, status: Status, doc: dict[str, Any],
                  poll: Poll | None = None) -> dict[str, Any]:
    """``doc`` (a local status as built by ``note``) as a ``Question`` if it has a poll."""
    poll = poll or poll_of(session, status.id)
    if poll is None:
        return doc
    results = poll_results(session, poll, local=True)
    doc.update(question_fields(poll.options, results.counts, multiple=poll.multiple,
                               expires_at=poll.expires_at, voters_count=results.voters_count,
                               ended=is_expired(poll), hide_totals=poll.hide_totals))
    return doc


def question_document(session: Session, status: Status, author: Actor,
                      poll: Poll) -> dict[str, Any]:
    if poll.kind == "rsvp" and status.type == "Event":
        from fedi.services.events import event_document  # events import this module

        return event_document(session, status, author)
    mentions = list(session.scalars(select(Actor).join(Mention, Mention.actor_id == Actor.id)
                                    .where(Mention.status_id == status.id)))
    tags = list(session.scalars(select(Tag.name).where(Tag.status_id == status.id)))
    return with_question(session, status, note(status, author, mentions, tags), poll)


def publish_results(session: Session, ctx: PublishContext, status: Status, poll: Poll) -> None:
    """``Update(Question)`` with the current counts, to the original recipients (and the
    remote voters who may still see it)."""
    author = session.get(Actor, status.actor_id)
    if author is None or not status.local or status.deleted_at is not None:
        return
    poll.cached_counts = count_votes(session, poll).counts
    obj = question_document(session, status, author, poll)
    linked = ctx.linked_domains()
    voters = [a.uri for a in who_may_see(session, status, session.scalars(
        select(Actor).where(Actor.local.is_(False), Actor.id.in_(
            select(PollVote.actor_id).where(PollVote.poll_id == poll.id)))),
        is_linked=linked.__contains__)]
    doc = build.activity("Update", f"{status.uri}#updates/{new_id()}", author.uri, obj,
                         to=obj["to"], cc=obj["cc"])
    publish(session, ctx, author, doc, extra_recipients=voters,
            federate=status.visibility != "hub")


def changeable(poll: Poll) -> bool:
    """May a voter change their vote (their earlier choices are replaced)? Not in a
    member's poll (Mastodon never allows it); in an event's RSVP poll, yes."""
    return poll.kind == "rsvp"


def record_vote(session: Session, poll: Poll, status: Status, voter: Actor,
                choices: Sequence[int], *, is_linked: IsLinked,
                uris: Sequence[str | None] | None = None,
                now: datetime | None = None) -> list[PollVote]:
    """The one place a vote is checked and stored, for local and federated votes alike.

    Refused (``VoteError``): a voter who may not see the poll (the ``can_see`` rule of every
    read path), the poll's author, an ended poll, an unknown choice, several choices in a
    single-choice poll, and a second vote (the unique key also refuses replays and races).
    """
    now = now or utcnow()
    if not can_see(session, voter, status, is_linked=is_linked):
        raise VoteError("not_found")
    if voter.id == status.actor_id:
        raise VoteError("own_poll")
    if is_expired(poll, now):
        raise VoteError("expired")
    picked = list(dict.fromkeys(choices))
    if not picked:
        raise VoteError("no_choice")
    if any(c < 0 or c >= len(poll.options) for c in picked):
        raise VoteError("invalid_choice")
    if not poll.multiple and len(picked) > 1:
        raise VoteError("one_choice")
    earlier = select(PollVote).where(PollVote.poll_id == poll.id, PollVote.actor_id == voter.id)
    if changeable(poll):
        session.execute(delete(PollVote).where(PollVote.poll_id == poll.id,
                                               PollVote.actor_id == voter.id))
    else:
        taken = {v.slot for v in session.scalars(earlier)}
        if any((c if poll.multiple else 0) in taken for c in picked):
            raise VoteError("already_voted")
    rows = [PollVote(id=new_id(), poll_id=poll.id, actor_id=voter.id, choice=c,
                     slot=c if poll.multiple else 0,
                     uri=uris[i] if uris is not None and i < len(uris) else None,
                     created_at=now)
            for i, c in enumerate(picked)]
    try:
        with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        raise VoteError("already_voted") from None
    if status.local:
        results = count_votes(session, poll)
        poll.cached_counts, poll.voters_count = results.counts, results.voters_count
    else:
        # Until the author's hub sends its counts (Update(Question)), count ours in.
        counts = list(poll.cached_counts or []) + [0] * len(poll.options)
        for c in picked:
            counts[c] += 1
        poll.cached_counts = counts[:len(poll.options)]
        poll.voters_count = (poll.voters_count or 0) + 1
    poll.updated_at = now
    # Hook for other kinds of poll (an event's RSVP poll): here, after the vote is stored.
    return rows


def _after_vote(session: Session, ctx: PublishContext, poll: Poll, status: Status,
                voter: Actor, rows: Sequence[PollVote]) -> None:
    """Other kinds of poll act on a stored vote: an event's RSVP poll is the RSVP."""
    if poll.kind == "rsvp":
        from fedi.services.event_polls import rsvp_voted  # it imports this module

        rsvp_voted(session, ctx, status, voter, rows)


def cast_vote(session: Session, ctx: PublishContext, voter: Actor, poll: Poll, status: Status,
              choices: Sequence[int], *, is_linked: IsLinked) -> list[PollVote]:
    """A local member votes: stored, then the author's hub is told (a remote poll) or the
    new counts go to the poll's audience (a local poll)."""
    rows = record_vote(session, poll, status, voter, choices, is_linked=is_linked)
    _after_vote(session, ctx, poll, status, voter, rows)
    if status.local:
        publish_results(session, ctx, status, poll)
        return rows
    author = session.get(Actor, status.actor_id)
    if author is None:
        return rows
    for row in rows:
        row.uri = f"{voter.uri}#votes/{row.id}"
        obj = vote_note(row.uri, voter.uri, status.uri, author.uri, poll.options[row.choice])
        doc = build.activity("Create", f"{row.uri}/activity", voter.uri, obj, to=[author.uri])
        publish(session, ctx, voter, doc, extra_recipients=[author.uri])
    return rows


def local_poll_for_vote(session: Session, question_uri: str,
                        name: str) -> tuple[Status, Poll] | None:
    """The local poll a ``Create(Note{name, inReplyTo})`` votes in, if ``name`` is an option
    (how Mastodon tells a vote from a reply)."""
    status = session.scalar(select(Status).where(Status.uri == question_uri, Status.local))
    if status is None:
        return None
    poll = poll_of(session, status.id)
    if poll is None or name not in poll.options:
        return None
    return status, poll


def receive_vote(session: Session, ctx: PublishContext, voter: Actor, status: Status,
                 poll: Poll, name: str, uri: str, *, is_linked: IsLinked) -> PollVote:
    """A vote from another hub in one of our polls; the new counts go to its audience."""
    if session.scalar(select(PollVote.id).where(PollVote.uri == uri)) is not None:
        raise VoteError("already_voted")
    rows = record_vote(session, poll, status, voter, [poll.options.index(name)],
                       is_linked=is_linked, uris=[uri])
    _after_vote(session, ctx, poll, status, voter, rows)
    publish_results(session, ctx, status, poll)
    return rows[0]


def apply_remote_question(session: Session, status: Status, obj: dict[str, Any]) -> Poll | None:
    """Store or refresh the poll of a remote status from its ``Question``."""
    question = parse_question(obj)
    if question is None:
        return None
    poll = poll_of(session, status.id)
    if poll is None:
        poll = Poll(id=new_id(), status_id=status.id, kind="poll", created_at=utcnow())
        session.add(poll)
    elif poll.options != question.options:
        session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
    poll.options = question.options
    poll.cached_counts = question.counts
    poll.voters_count = question.voters_count
    poll.multiple = question.multiple
    poll.hide_totals = question.hide_totals
    poll.expires_at = question.expires_at
    if question.closed and (poll.expires_at is None or poll.expires_at > utcnow()):
        poll.expires_at = utcnow()
    poll.updated_at = utcnow()
    session.flush()
    return poll


def edit_poll(session: Session, status: Status, spec: PollSpec | None, limits: PollLimits,
              now: datetime | None = None) -> Poll | None:
    """A status edit's poll (Mastodon's UpdateStatusService): new options reset the votes;
    no poll in the edit removes it. An event's RSVP poll is not the member's to edit."""
    now = now or utcnow()
    poll = poll_of(session, status.id)
    if poll is not None and poll.kind not in (None, "poll"):
        return poll
    if spec is None:
        if poll is not None:
            session.delete(poll)
            session.flush()
        return None
    options, expires_at = validate_poll(spec, limits, now)
    if poll is None:
        return create_poll(session, status, options, expires_at=expires_at,
                           multiple=spec.multiple, hide_totals=spec.hide_totals)
    if poll.options != options or poll.multiple != spec.multiple:
        session.execute(delete(PollVote).where(PollVote.poll_id == poll.id))
        poll.cached_counts, poll.voters_count = [0] * len(options), 0
    poll.options, poll.multiple, poll.hide_totals = options, spec.multiple, spec.hide_totals
    poll.expires_at, poll.ended_at, poll.updated_at = expires_at, None, now
    session.flush()
    return poll


def own_votes(session: Session, poll_ids: Sequence[int], viewer_id: int) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    if not poll_ids:
        return out
    for poll_id, choice in session.execute(select(PollVote.poll_id, PollVote.choice).where(
            PollVote.poll_id.in_(poll_ids), PollVote.actor_id == viewer_id)):
        out.setdefault(poll_id, []).append(choice)
    return out
