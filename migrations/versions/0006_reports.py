"""Reports for the console: category, rules, forwarding, the hub a Flag came from, and how
a moderator resolved it

Revision ID: 0006_reports
Revises: 0005_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import fedi.db

revision = "0006_reports"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("category", sa.String(16), nullable=False,
                                   server_default="other"))
        batch.add_column(sa.Column("rule_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("forward_requested", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("forwarded_at", fedi.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("origin_domain", sa.String(255), nullable=True))
        batch.add_column(sa.Column("resolved_at", fedi.db.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(255), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(32), nullable=True))
        batch.create_index("ix_reports_resolved_id", ["resolved", "id"])


def downgrade() -> None:
    with op.batch_alter_table("reports") as batch:
        batch.drop_index("ix_reports_resolved_id")
        for column in ("outcome", "resolved_by", "resolved_at", "origin_domain", "forwarded_at",
                       "forward_requested", "rule_ids", "category"):
            batch.drop_column(column)
