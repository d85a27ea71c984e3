"""Merge the API and neighbourhood schemas; follows.notify (notify me when they post)

Revision ID: 0003_follow_notify
Revises: 0002_api, 0002_neighbourhood
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_follow_notify"
down_revision = ("0002_api", "0002_neighbourhood")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.add_column(sa.Column("notify", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("follows") as batch:
        batch.drop_column("notify")
