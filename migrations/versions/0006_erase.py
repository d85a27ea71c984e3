"""Account deletions (erasure after a grace period) and login records (kept 30 days)

Revision ID: 0006_erase
Revises: 0005_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_erase"
down_revision = "0005_merge"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "account_deletions",
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=False, server_default=""),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("erase_after", sa.DateTime(), nullable=False),
        sa.Column("erased_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_account_deletions_user_id_users"),
        sa.PrimaryKeyConstraint("user_id", name="pk_account_deletions"),
        sa.UniqueConstraint("username", name="uq_account_deletions_username"),
    )
    op.create_index("ix_account_deletions_erase_after", "account_deletions", ["erase_after"])
    op.create_table(
        "login_records",
        sa.Column("id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="web"),
        sa.Column("ip", sa.String(64), nullable=False, server_default=""),
        sa.Column("user_agent", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_login_records_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_login_records"),
    )
    op.create_index("ix_login_records_user_id", "login_records", ["user_id"])
    op.create_index("ix_login_records_created_at", "login_records", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_login_records_created_at", table_name="login_records")
    op.drop_index("ix_login_records_user_id", table_name="login_records")
    op.drop_table("login_records")
    op.drop_index("ix_account_deletions_erase_after", table_name="account_deletions")
    op.drop_table("account_deletions")
