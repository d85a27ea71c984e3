"""Deleting a member's account (« Supprimer mon compte », the console, ``voisins users
delete``) and erasing what a linked hub told us about one of its members it deleted.

Deleting happens in two steps, as in Mastodon:

1. at once (``request_deletion``): the account is suspended (no login, no session, no token,
   posts hidden), its actor is marked deleted, and a ``Delete`` of the actor goes to every
   inbox that received its posts (followers, linked hubs, people it wrote to);
2. once the hub's grace period (``deletion_grace_days``, default 0: at once) has passed
   (``erase_account``, from the request itself or the privacy job): the personal data goes.

What stays, for integrity (README.md, "Deleting an account"): the actor row with its
username, URI and keys (the username is never given again, the keys sign the ``Delete``
until every hub has it), the user row without email or password, the invite-tree edges
(who brought whom, without the territory declaration), the audit log, and reports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.models import (
    AccountDeletion,
    AccountList,
    AccountListEntry,
    Actor,
    Application,
    Article,
    Block,
    CalendarToken,
    ConversationState,
    DataExport,
    DirectoryListing,
    Event,
    EventParticipant,
    Follow,
    IdempotencyKey,
    Interaction,
    Invite,
    LoginRecord,
    MailToken,
    Marker,
    MediaAttachment,
    Mention,
    Notification,
    OAuthCode,
    OAuthToken,
    OutboxActivity,
    OutgoingMail,
    PollVote,
    Sponsorship,
    Status,
    TimelineEntry,
    Tombstone,
    TradeWaitlistEntry,
    User,
    UserSettings,
    WebSession,
)
from fedi.services import audit
from fedi.services.hub_settings import get_setting
from fedi.services.media import file_names
from fedi.services.membership import By, MembershipError
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.publish import publish

GRACE_SETTING = "deletion_grace_days"
PURGE_BATCH = 200


def grace_days(session: Session) -> int:
    return int(get_setting(session, GRACE_SETTING))


def _only_admin(session: Session, user: User) -> bool:
    if user.role != "admin":
        return False
    others = session.scalar(
        select(func.count()).select_from(User).join(Actor, Actor.id == User.actor_id)
        .where(User.role == "admin", User.disabled.is_(False), Actor.deleted_at.is_(None),
               User.id != user.id))
    return not others


def _delete_activity(session: Session, ctx: PublishContext, actor: Actor) -> None:
    """Mastodon's ``Delete`` of an account: the object is the actor's URI. It goes to the
    followers, the linked hubs, and the remote people the member mentioned (DMs)."""
    linked = sorted(d for d in ctx.linked_domains() if d != ctx.settings.domain)
    doc = build.activity("Delete", f"{actor.uri}#delete", actor.uri, actor.uri,
                         to=[actor.followers_url or ""],
                         cc=[ctx.members_collection(d) for d in linked])
    mentioned = session.scalars(
        select(Actor.uri).distinct().join(Mention, Mention.actor_id == Actor.id)
        .join(Status, Status.id == Mention.status_id)
        .where(Status.actor_id == actor.id, Actor.local.is_(False)))
    publish(session, ctx, actor, doc, extra_recipients=list(mentioned))


def request_deletion(session: Session, ctx: PublishContext, by: By, user: User, actor: Actor,
                     *, now: datetime | None = None) -> AccountDeletion:
    """Suspend the account, send the ``Delete``, and erase now or after the grace period.
    ``by`` is the member themselves, an admin, or the command line (audit log)."""
    now = now or utcnow()
    if actor.deleted_at is not None or session.get(AccountDeletion, user.id) is not None:
        raise MembershipError("already", f"@{actor.username} is already deleted",
                              f"le compte @{actor.username} est déjà supprimé")
    if _only_admin(session, user):
        raise MembershipError("last_admin", "the hub's only admin cannot be deleted",
                              "le seul administrateur du hub ne peut pas être supprimé")
    user.disabled = True
    actor.suspended_at = actor.suspended_at or now
    actor.deleted_at = now
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.execute(update(OAuthToken).where(OAuthToken.user_id == user.id,
                                             OAuthToken.revoked_at.is_(None))
                    .values(revoked_at=now))
    _delete_activity(session, ctx, actor)
    _end_exports(session, user.id)
    days = grace_days(session)
    row = AccountDeletion(user_id=user.id, username=actor.username, requested_by=by.username,
                          requested_at=now, erase_after=now + timedelta(days=days))
    session.add(row)
    audit.record(session, by.username, by.role, "member.delete", f"@{actor.username}",
                 {"grace_days": days})
    session.flush()
    if days == 0:
        erase_account(session, row, now=now)
    return row


def _end_exports(session: Session, user_id: int) -> None:
    """The member's data archives: their links stop working now, a pending one is never
    built, and the export job's next expiry pass removes the files of ready ones."""
    session.execute(update(DataExport).where(DataExport.user_id == user_id,
                                             DataExport.state == "pending")
                    .values(state="expired", token_hash=None))
    session.execute(update(DataExport).where(DataExport.user_id == user_id,
                                             DataExport.state == "ready")
                    .values(token_hash=None, created_at=datetime(2000, 1, 1, tzinfo=UTC)))


def erase_due(session: Session, now: datetime, *, limit: int = 20) -> int:
    """Erase the accounts whose grace period is over; returns how many."""
    rows = list(session.scalars(
        select(AccountDeletion).where(AccountDeletion.erased_at.is_(None),
                                      AccountDeletion.erase_after <= now)
        .order_by(AccountDeletion.erase_after).limit(limit)))
    for row in rows:
        erase_account(session, row, now=now)
    return len(rows)


def erase_account(session: Session, row: AccountDeletion, *, now: datetime) -> None:
    """Remove a deleted member's personal data (the list in the module docstring)."""
    user = session.get(User, row.user_id)
    if user is None:
        row.erased_at = now
        return
    actor = session.get(Actor, user.actor_id)
    assert actor is not None
    email = user.email
    _erase_content(session, actor, tombstones=False)
    uid = user.id
    session.execute(delete(OAuthToken).where(OAuthToken.user_id == uid))
    session.execute(delete(OAuthCode).where(OAuthCode.user_id == uid))
    session.execute(delete(WebSession).where(WebSession.user_id == uid))
    session.execute(delete(MailToken).where(MailToken.user_id == uid))
    session.execute(delete(Marker).where(Marker.user_id == uid))
    session.execute(delete(UserSettings).where(UserSettings.user_id == uid))
    session.execute(delete(IdempotencyKey).where(IdempotencyKey.user_id == uid))
    session.execute(delete(LoginRecord).where(LoginRecord.user_id == uid))
    session.execute(delete(OutgoingMail).where(func.lower(OutgoingMail.recipient)
                                               == email.lower()))
    session.execute(delete(Application).where(or_(Application.user_id == uid,
                                                  Application.username == actor.username)))
    session.execute(update(Invite).where(Invite.inviter_user_id == uid,
                                         Invite.revoked_at.is_(None)).values(revoked_at=now))
    session.execute(update(Invite).where(Invite.inviter_user_id == uid).values(note=""))
    # The edge stays (who brought whom); how they declared belonging to the territory goes.
    session.execute(update(Sponsorship).where(Sponsorship.member_user_id == uid)
                    .values(relation=None))
    session.execute(delete(ConversationState).where(ConversationState.owner_id == actor.id))
    session.execute(delete(AccountList).where(AccountList.owner_id == actor.id))
    session.execute(delete(CalendarToken).where(CalendarToken.actor_id == actor.id))
    # What was sent (posts' payloads) goes; the account's Delete stays until delivered.
    session.execute(delete(OutboxActivity).where(
        OutboxActivity.actor_id == actor.id,
        or_(OutboxActivity.object_uri.is_(None), OutboxActivity.object_uri != actor.uri)))
    user.email = f"deleted-{uid}@invalid"
    user.password_hash = "!"
    user.disabled = True
    user.email_confirmed_at = None
    row.erased_at = now


def erase_remote_actor(session: Session, actor: Actor) -> None:
    """A linked hub deleted one of its members: forget their profile, posts, follows and
    directory listing (the row stays, marked deleted, so a late activity finds nothing)."""
    _erase_content(session, actor, tombstones=True)
    session.execute(delete(DirectoryListing).where(DirectoryListing.actor_id == actor.id))
    actor.raw = None
    actor.fetched_at = None


def _erase_content(session: Session, actor: Actor, *, tombstones: bool) -> None:
    """What a local and a remote deleted actor have in common: profile, posts and media
    (files go with the privacy job's ``purge_media``), follows, blocks, favourites, votes,
    RSVPs, notifications they caused, lists they are in."""
    now = utcnow()
    actor.deleted_at = actor.deleted_at or now
    actor.display_name = ""
    actor.summary = ""
    actor.fields = []
    actor.trade = actor.business_name = actor.postal_code = actor.website = None
    actor.updated_at = now
    aid = actor.id
    # Media rows are kept (detached) until their files are deleted, then they go too.
    session.execute(update(MediaAttachment).where(MediaAttachment.actor_id == aid)
                    .values(status_id=None, description=None))
    if tombstones:
        known = set(session.scalars(select(Tombstone.uri).join(
            Status, Status.uri == Tombstone.uri).where(Status.actor_id == aid)))
        for uri in session.scalars(select(Status.uri).where(Status.actor_id == aid)):
            if uri not in known:
                session.add(Tombstone(uri=uri, actor_uri=actor.uri))
        session.flush()
    events = list(session.scalars(select(EventParticipant.event_id).distinct().where(
        EventParticipant.actor_id == aid)))
    session.execute(delete(Article).where(Article.actor_id == aid))
    # Children (edits, mentions, tags, polls, events, timeline entries, boosts by others,
    # notifications about them) go with the statuses (ON DELETE CASCADE).
    session.execute(delete(Status).where(Status.actor_id == aid))
    session.execute(delete(Follow).where(or_(Follow.follower_id == aid, Follow.followee_id == aid)))
    session.execute(delete(Block).where(or_(Block.actor_id == aid, Block.target_id == aid)))
    session.execute(delete(Interaction).where(Interaction.actor_id == aid))
    session.execute(delete(PollVote).where(PollVote.actor_id == aid))
    session.execute(delete(EventParticipant).where(EventParticipant.actor_id == aid))
    session.execute(delete(Notification).where(or_(Notification.from_actor_id == aid,
                                                   Notification.owner_id == aid)))
    session.execute(delete(TimelineEntry).where(TimelineEntry.owner_id == aid))
    session.execute(delete(AccountListEntry).where(AccountListEntry.actor_id == aid))
    session.execute(delete(TradeWaitlistEntry).where(TradeWaitlistEntry.actor_id == aid))
    _recount(session, events)


def _recount(session: Session, event_ids: Iterable[int]) -> None:
    for event_id in event_ids:
        count = session.scalar(select(func.count()).select_from(EventParticipant).where(
            EventParticipant.event_id == event_id, EventParticipant.state == "accepted"))
        session.execute(update(Event).where(Event.status_id == event_id)
                        .values(participant_count=int(count or 0)))


def purge_media(session: Session, delete_file: Callable[[str], None], *, limit: int = PURGE_BATCH) -> int:
    """Delete the stored files, then the rows, of deleted actors' media; returns how many.
    ``delete_file`` is the media storage's ``delete`` (a name → None callable)."""
    rows = list(session.scalars(
        select(MediaAttachment).join(Actor, Actor.id == MediaAttachment.actor_id)
        .where(Actor.deleted_at.is_not(None)).limit(limit)))
    for media in rows:
        for name in file_names(media):
            delete_file(name)
        session.delete(media)
    session.flush()
    return len(rows)
