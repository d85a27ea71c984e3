"""Account migration: actors.also_known_as, moved_to_uri, moved_at; moved_followers

Revision ID: 0006_move
Revises: 0005_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_move"
down_revision = "0005_merge"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.INTEGER(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("actors") as batch:
        batch.add_column(sa.Column("also_known_as", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("moved_to_uri", sa.String(2048), nullable=True))
        batch.add_column(sa.Column("moved_at", sa.DateTime(), nullable=True))
    op.create_table(
        "moved_followers",
        sa.Column("id", BigId, nullable=False),
        sa.Column("target_id", BigId, nullable=False),
        sa.Column("origin_uri", sa.String(2048), nullable=False),
        sa.Column("follower_uri", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["target_id"], ["actors.id"], ondelete="CASCADE",
                                name="fk_moved_followers_target_id_actors"),
        sa.PrimaryKeyConstraint("id", name="pk_moved_followers"),
        sa.UniqueConstraint("target_id", "follower_uri",
                            name="uq_moved_followers_target_id"),
    )


def downgrade() -> None:
    op.drop_table("moved_followers")
    with op.batch_alter_table("actors") as batch:
        batch.drop_column("moved_at")
        batch.drop_column("moved_to_uri")
        batch.drop_column("also_known_as")
