"""Domain policies: other domains an admin allowed or blocked from the console or the CLI

Revision ID: 0006_neigh
Revises: 0005_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_neigh"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "domain_policies",
        sa.Column("domain", sa.String(255), nullable=False),
        sa.Column("policy", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_by", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("domain", name="pk_domain_policies"),
    )


def downgrade() -> None:
    op.drop_table("domain_policies")
