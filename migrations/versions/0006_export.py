"""data_exports (member archives), users/applications.privacy_consent_at

Revision ID: 0006_export
Revises: 0005_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_export"
down_revision = "0005_merge"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "data_exports",
        sa.Column("id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("token_hash", sa.String(64), nullable=True),
        sa.Column("file_name", sa.String(255), nullable=False, server_default=""),
        sa.Column("size", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("ready_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE",
                                name="fk_data_exports_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_data_exports"),
        sa.UniqueConstraint("token_hash", name="uq_data_exports_token_hash"),
    )
    op.create_index("ix_data_exports_user_id", "data_exports", ["user_id"])
    op.create_index("ix_data_exports_state_next", "data_exports", ["state", "next_attempt_at"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("privacy_consent_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("privacy_consent_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("privacy_consent_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("privacy_consent_at")
    op.drop_index("ix_data_exports_state_next", table_name="data_exports")
    op.drop_index("ix_data_exports_user_id", table_name="data_exports")
    op.drop_table("data_exports")
