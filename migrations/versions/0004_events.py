"""Events and their participants, blog articles, calendar feed tokens

Revision ID: 0004_events
Revises: 0003_follow_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fedi.db

revision = "0004_events"
down_revision = "0003_follow_notify"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.BIGINT(), "postgresql").with_variant(
        sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("status_id", _id(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("starts_at", fedi.db.UTCDateTime(), nullable=False),
        sa.Column("ends_at", fedi.db.UTCDateTime(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("place_name", sa.String(length=255), nullable=True),
        sa.Column("street", sa.String(length=255), nullable=True),
        sa.Column("postal_code", sa.String(length=32), nullable=True),
        sa.Column("locality", sa.String(length=255), nullable=True),
        sa.Column("region", sa.String(length=255), nullable=True),
        sa.Column("country", sa.String(length=255), nullable=True),
        sa.Column("online_url", sa.String(length=2048), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("join_mode", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("comments_enabled", sa.Boolean(), nullable=False),
        sa.Column("participant_count", sa.Integer(), nullable=False),
        sa.Column("reminded_at", fedi.db.UTCDateTime(), nullable=True),
        sa.Column("updated_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE",
                                name=op.f("fk_events_status_id_statuses")),
        sa.PrimaryKeyConstraint("status_id", name=op.f("pk_events")),
    )
    op.create_index(op.f("ix_events_starts_at"), "events", ["starts_at"])
    op.create_table(
        "event_participants",
        sa.Column("id", _id(), autoincrement=False, nullable=False),
        sa.Column("event_id", _id(), nullable=False),
        sa.Column("actor_id", _id(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("message", sa.String(length=1000), nullable=True),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.status_id"], ondelete="CASCADE",
                                name=op.f("fk_event_participants_event_id_events")),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_event_participants_actor_id_actors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_participants")),
        sa.UniqueConstraint("event_id", "actor_id",
                            name=op.f("uq_event_participants_event_id")),
    )
    op.create_index(op.f("ix_event_participants_actor_id"), "event_participants", ["actor_id"])
    op.create_index("ix_event_participants_event_state", "event_participants",
                    ["event_id", "state"])
    op.create_table(
        "articles",
        sa.Column("id", _id(), autoincrement=False, nullable=False),
        sa.Column("actor_id", _id(), nullable=False),
        sa.Column("status_id", _id(), nullable=True),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(length=1000), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("published_at", fedi.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_articles_actor_id_actors")),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="SET NULL",
                                name=op.f("fk_articles_status_id_statuses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("status_id", name=op.f("uq_articles_status_id")),
    )
    op.create_index(op.f("ix_articles_actor_id"), "articles", ["actor_id"])
    op.create_table(
        "calendar_tokens",
        sa.Column("actor_id", _id(), autoincrement=False, nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_calendar_tokens_actor_id_actors")),
        sa.PrimaryKeyConstraint("actor_id", name=op.f("pk_calendar_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_calendar_tokens_token_hash")),
    )


def downgrade() -> None:
    op.drop_table("calendar_tokens")
    op.drop_index(op.f("ix_articles_actor_id"), table_name="articles")
    op.drop_table("articles")
    op.drop_index("ix_event_participants_event_state", table_name="event_participants")
    op.drop_index(op.f("ix_event_participants_actor_id"), table_name="event_participants")
    op.drop_table("event_participants")
    op.drop_index(op.f("ix_events_starts_at"), table_name="events")
    op.drop_table("events")
