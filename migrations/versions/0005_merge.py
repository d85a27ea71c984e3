"""Join the schema branches that landed together (polls, events, site, rules, console, mail,
media, API surface) so the next migration has one parent.

Revision ID: 0005_merge
Revises: 0004_apisurface, 0004_console, 0004_events, 0004_mail, 0004_media, 0004_polls,
         0004_rules, 0004_site
"""

from __future__ import annotations

revision = "0005_merge"
down_revision = ("0004_apisurface", "0004_console", "0004_events", "0004_mail", "0004_media",
                 "0004_polls", "0004_rules", "0004_site")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
