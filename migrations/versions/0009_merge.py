"""Join the weekly digest and the account mails (email change, new sign-in, reminders by mail)
so the next migration has one parent.

Revision ID: 0009_merge
Revises: 0008_digest, 0008_mail2
"""

from __future__ import annotations

revision = "0009_merge"
down_revision = ("0008_digest", "0008_mail2")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
