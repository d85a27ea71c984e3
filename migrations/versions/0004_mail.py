"""Outgoing mail queue, mailed single-use links, users.email_confirmed_at

Revision ID: 0004_mail
Revises: 0003_follow_notify
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_mail"
down_revision = "0003_follow_notify"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outgoing_mail",
        sa.Column("id", BIG, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("language", sa.String(8), nullable=False, server_default="fr"),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=False, server_default=""),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.String(1000), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outgoing_mail"),
    )
    op.create_index("ix_outgoing_mail_status_next", "outgoing_mail",
                    ["status", "next_attempt_at"])
    op.create_table(
        "mail_tokens",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("email", sa.String(320), nullable=False, server_default=""),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_mail_tokens_user_id_users"),
        sa.PrimaryKeyConstraint("token_hash", name="pk_mail_tokens"),
    )
    op.create_index("ix_mail_tokens_user_id", "mail_tokens", ["user_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_confirmed_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_confirmed_at")
    op.drop_index("ix_mail_tokens_user_id", table_name="mail_tokens")
    op.drop_table("mail_tokens")
    op.drop_index("ix_outgoing_mail_status_next", table_name="outgoing_mail")
    op.drop_table("outgoing_mail")
