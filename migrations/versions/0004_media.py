"""media attachments (uploads, avatars, headers, cached remote media)

Revision ID: 0004_media
Revises: 0003_follow_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fedi.db

revision = "0004_media"
down_revision = "0003_follow_notify"
branch_labels = None
depends_on = None

BIG_ID = (sa.BigInteger().with_variant(sa.BIGINT(), "postgresql")
          .with_variant(sa.INTEGER(), "sqlite"))


def upgrade() -> None:
    op.create_table(
        "media_attachments",
        sa.Column("id", BIG_ID, autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("actor_id", BIG_ID, nullable=False),
        sa.Column("status_id", BIG_ID, nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("extension", sa.String(length=8), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("focus_x", sa.Float(), nullable=False),
        sa.Column("focus_y", sa.Float(), nullable=False),
        sa.Column("blurhash", sa.String(length=128), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("remote_url", sa.String(length=2048), nullable=True),
        sa.Column("fetched_at", fedi.db.UTCDateTime(), nullable=True),
        sa.Column("stored_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", fedi.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["actor_id"], ["actors.id"], ondelete="CASCADE",
                                name=op.f("fk_media_attachments_actor_id_actors")),
        sa.ForeignKeyConstraint(["status_id"], ["statuses.id"], ondelete="CASCADE",
                                name=op.f("fk_media_attachments_status_id_statuses")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_attachments")),
        sa.UniqueConstraint("key", name=op.f("uq_media_attachments_key")),
    )
    op.create_index("ix_media_attachments_actor_id", "media_attachments", ["actor_id"])
    op.create_index("ix_media_attachments_status_id", "media_attachments", ["status_id"])


def downgrade() -> None:
    op.drop_index("ix_media_attachments_status_id", table_name="media_attachments")
    op.drop_index("ix_media_attachments_actor_id", table_name="media_attachments")
    op.drop_table("media_attachments")
