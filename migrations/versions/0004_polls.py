"""polls and poll votes (Mastodon polls, ActivityPub Question)

Revision ID: 0004_polls
Revises: 0003_follow_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fedi.db

revision = "0004_polls"
down_revision = "0003_follow_notify"
branch_labels = None
depends_on = None

BIG_ID = (sa.BigInteger().with_variant(sa.BIGINT(), "postgresql")
          .with_variant(sa.INTEGER(), "sqlite"))


def upgrade() -> None:
    op.create_table(
        "polls",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("status_id", BIG_ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("multiple", sa.Boolean(), nullable=False),
        sa.Column("hide_totals", sa.Boolean(), nullable=False),
        sa.Column("expires_at", fedi.db.UTCDateTime(), nullable=True),
        sa.Column("cached_counts", sa.JSON(), nullable=False),
        sa.Column("voters_count", sa.Integer(), nullable=True),
        sa.Column("ended_at", fedi.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE",
                                name=op.f("fk_polls_status_id_statuses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_polls")),
        sa.UniqueConstraint("status_id", name=op.f("uq_polls_status_id")),
    )
    op.create_index("ix_polls_open_expires_at", "polls", ["ended_at", "expires_at"],
                    unique=False)
    op.create_table(
        "poll_votes",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("poll_id", BIG_ID, nullable=False),
        sa.Column("actor_id", BIG_ID, nullable=False),
        sa.Column("choice", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("uri", sa.String(length=2048), nullable=True),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["poll_id"], ["polls.id"], ondelete="CASCADE",
                                name=op.f("fk_poll_votes_poll_id_polls")),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_poll_votes_actor_id_actors")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_poll_votes")),
        sa.UniqueConstraint("poll_id", "actor_id", "slot",
                            name=op.f("uq_poll_votes_poll_id")),
        sa.UniqueConstraint("uri", name=op.f("uq_poll_votes_uri")),
    )
    op.create_index("ix_poll_votes_actor_id", "poll_votes", ["actor_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_poll_votes_actor_id", table_name="poll_votes")
    op.drop_table("poll_votes")
    op.drop_index("ix_polls_open_expires_at", table_name="polls")
    op.drop_table("polls")
