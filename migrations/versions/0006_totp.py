"""TOTP second factor on users, and the hub's announcements

Revision ID: 0006_totp
Revises: 0005_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_totp"
down_revision = "0005_merge"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("totp_secret", sa.String(64), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("totp_last_step", BIG_ID, nullable=True))
    op.create_table(
        "announcements",
        sa.Column("id", BIG_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_html", sa.Text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=True),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("author_username", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_announcements"),
    )
    op.create_index("ix_announcements_published_at", "announcements", ["published_at"])
    op.create_table(
        "announcement_dismissals",
        sa.Column("announcement_id", BIG_ID, nullable=False),
        sa.Column("user_id", BIG_ID, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["announcement_id"], ["announcements.id"], ondelete="CASCADE",
                                name="fk_announcement_dismissals_announcement_id_announcements"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_announcement_dismissals_user_id_users"),
        sa.PrimaryKeyConstraint("announcement_id", "user_id", name="pk_announcement_dismissals"),
    )
    op.create_index("ix_announcement_dismissals_user_id", "announcement_dismissals",
                    ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_announcement_dismissals_user_id", table_name="announcement_dismissals")
    op.drop_table("announcement_dismissals")
    op.drop_index("ix_announcements_published_at", table_name="announcements")
    op.drop_table("announcements")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
