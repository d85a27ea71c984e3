"""Every model, imported so that Alembic sees the whole metadata. No logic here."""

from fedi.models.actor import Actor, Neighbour, User
from fedi.models.jobs import Delivery, InboxItem, OutboxActivity
from fedi.models.oauth import OAuthApp, OAuthCode, OAuthToken
from fedi.models.status import (
    Block,
    Follow,
    Interaction,
    Mention,
    Notification,
    Report,
    Status,
    StatusEdit,
    Tag,
    TimelineEntry,
    Tombstone,
)

__all__ = [
    "Actor", "Block", "Delivery", "Follow", "InboxItem", "Interaction", "Mention",
    "Neighbour", "Notification", "OAuthApp", "OAuthCode", "OAuthToken", "OutboxActivity",
    "Report", "Status", "StatusEdit", "Tag", "TimelineEntry", "Tombstone", "User",
]
from fedi.models.api import ConversationState, IdempotencyKey, Marker, UserSettings

__all__ += ["ConversationState", "IdempotencyKey", "Marker", "UserSettings"]
from fedi.models.neighbourhood import (
    Application,
    DirectoryListing,
    HubSetting,
    Invite,
    NeighbourSync,
    Sponsorship,
    TradeCategory,
    TradeWaitlistEntry,
)

__all__ += ["Application", "DirectoryListing", "HubSetting", "Invite", "NeighbourSync",
            "Sponsorship", "TradeCategory", "TradeWaitlistEntry"]
from fedi.models.poll import Poll, PollVote

__all__ += ["Poll", "PollVote"]
from fedi.models.site import WebSession

__all__ += ["WebSession"]
from fedi.models.event import Article, CalendarToken, Event, EventParticipant

__all__ += ["Article", "CalendarToken", "Event", "EventParticipant"]
from fedi.models.media import MediaAttachment

__all__ += ["MediaAttachment"]
from fedi.models.console import AuditEntry

__all__ += ["AuditEntry"]
from fedi.models.mail import MailToken, OutgoingMail

__all__ += ["MailToken", "OutgoingMail"]
from fedi.models.lists import AccountList, AccountListEntry

__all__ += ["AccountList", "AccountListEntry"]
from fedi.models.privacy import AccountDeletion, LoginRecord

__all__ += ["AccountDeletion", "LoginRecord"]
from fedi.models.announcement import Announcement, AnnouncementDismissal

__all__ += ["Announcement", "AnnouncementDismissal"]
from fedi.models.export import DataExport

__all__ += ["DataExport"]
from fedi.models.move import MovedFollower

__all__ += ["MovedFollower"]
from fedi.models.domain_policy import DomainPolicy

__all__ += ["DomainPolicy"]
