"""Join the schema branches that landed together (TOTP and announcements, reports, data
export and consent, account deletion, moving between hubs, domain policies) so the next
migration has one parent.

Revision ID: 0007_merge
Revises: 0006_erase, 0006_export, 0006_move, 0006_neigh, 0006_reports, 0006_totp
"""

from __future__ import annotations

revision = "0007_merge"
down_revision = ("0006_erase", "0006_export", "0006_move", "0006_neigh", "0006_reports",
                 "0006_totp")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
