"""The weekly digest: a member's opt-in and when their last digest went

Revision ID: 0008_digest
Revises: 0007_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_digest"
down_revision = "0007_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("digest_opt_in", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("digest_sent_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("digest_sent_at")
        batch.drop_column("digest_opt_in")
