"""the neighbourhood: hub settings, trades, invites, applications, invite tree, mesh state

Revision ID: 0002_neighbourhood
Revises: 0001
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from alembic import op

import fedi.db
from fedi.ids import new_id

revision = "0002_neighbourhood"
down_revision = "0001"
branch_labels = None
depends_on = None

TRADES_FILE = Path(__file__).resolve().parents[2] / "fedi" / "data" / "trades.json"


def seed_trades() -> None:
    """The French default list of neighbourhood trades (admins edit it afterwards)."""
    rows = json.loads(TRADES_FILE.read_text(encoding="utf-8"))["trades"]
    table = sa.table(
        "trade_categories", sa.column("id", sa.BigInteger()), sa.column("slug", sa.String()),
        sa.column("label_fr", sa.String()), sa.column("label_en", sa.String()),
        sa.column("position", sa.Integer()), sa.column("exclusive", sa.Boolean()),
        sa.column("created_at", fedi.db.UTCDateTime()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(table, [
        {"id": new_id(), "slug": row[0], "label_fr": row[1], "label_en": row[2],
         "position": i, "exclusive": row[3] if len(row) > 3 else True, "created_at": now}
        for i, row in enumerate(rows)
    ])


def upgrade() -> None:
    op.create_table('hub_settings',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', fedi.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_hub_settings'))
    )
    op.create_table('neighbour_sync',
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('links', sa.JSON(), nullable=False),
    sa.Column('due_at', fedi.db.UTCDateTime(), nullable=True),
    sa.Column('synced_at', fedi.db.UTCDateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('domain', name=op.f('pk_neighbour_sync'))
    )
    with op.batch_alter_table('neighbour_sync', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_neighbour_sync_due_at'), ['due_at'], unique=False)

    op.create_table('sponsorships',
    sa.Column('id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('member_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_username', sa.String(length=255), nullable=False),
    sa.Column('sponsor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('sponsor_username', sa.String(length=255), nullable=True),
    sa.Column('invite_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('relation', sa.String(length=16), nullable=True),
    sa.Column('created_at', fedi.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sponsorships')),
    sa.UniqueConstraint('member_user_id', name=op.f('uq_sponsorships_member_user_id'))
    )
    with op.batch_alter_table('sponsorships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sponsorships_sponsor_user_id'), ['sponsor_user_id'], unique=False)

    op.create_table('trade_categories',
    sa.Column('id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('slug', sa.String(length=128), nullable=False),
    sa.Column('label_fr', sa.String(length=255), nullable=False),
    sa.Column('label_en', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('exclusive', sa.Boolean(), nullable=False),
    sa.Column('created_at', fedi.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trade_categories')),
    sa.UniqueConstraint('slug', name=op.f('uq_trade_categories_slug'))
    )
    op.create_table('directory_listings',
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('domain', sa.String(length=255), nullable=False),
    sa.Column('listed_at', fedi.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_directory_listings_actor_id_actors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('actor_id', name=op.f('pk_directory_listings'))
    )
    with op.batch_alter_table('directory_listings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_directory_listings_domain'), ['domain'], unique=False)

    op.create_table('invites',
    sa.Column('id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('inviter_user_id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('inviter_username', sa.String(length=255), nullable=True),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('expires_at', fedi.db.UTCDateTime(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('revoked_at', fedi.db.UTCDateTime(), nullable=True),
    sa.Column('created_at', fedi.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['inviter_user_id'], ['users.id'], name=op.f('fk_invites_inviter_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('code', name=op.f('uq_invites_code'))
    )
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invites_inviter_user_id'), ['inviter_user_id'], unique=False)

    op.create_table('applications',
    sa.Column('id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('invite_id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('sponsor_user_id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('trade', sa.String(length=128), nullable=False),
    sa.Column('business_name', sa.String(length=255), nullable=False),
    sa.Column('postal_code', sa.String(length=16), nullable=False),
    sa.Column('relation', sa.String(length=16), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status_token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('created_at', fedi.db.UTCDateTime(), nullable=False),
    sa.Column('decided_at', fedi.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['invite_id'], ['invites.id'], name=op.f('fk_applications_invite_id_invites'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['sponsor_user_id'], ['users.id'], name=op.f('fk_applications_sponsor_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_applications_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_applications')),
    sa.UniqueConstraint('status_token_hash', name=op.f('uq_applications_status_token_hash'))
    )
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_applications_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_sponsor_user_id'), ['sponsor_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_state'), ['state'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_trade'), ['trade'], unique=False)
        batch_op.create_index(batch_op.f('ix_applications_username'), ['username'], unique=False)

    op.create_table('trade_waitlist',
    sa.Column('id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('trade', sa.String(length=128), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('application_id', sa.BigInteger().with_variant(sa.BIGINT(), 'postgresql').with_variant(sa.INTEGER(), 'sqlite'), nullable=True),
    sa.Column('created_at', fedi.db.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['actors.id'], name=op.f('fk_trade_waitlist_actor_id_actors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_trade_waitlist_application_id_applications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trade_waitlist'))
    )
    with op.batch_alter_table('trade_waitlist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trade_waitlist_trade'), ['trade'], unique=False)

    seed_trades()


def downgrade() -> None:
    with op.batch_alter_table('trade_waitlist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trade_waitlist_trade'))

    op.drop_table('trade_waitlist')
    with op.batch_alter_table('applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_applications_username'))
        batch_op.drop_index(batch_op.f('ix_applications_trade'))
        batch_op.drop_index(batch_op.f('ix_applications_state'))
        batch_op.drop_index(batch_op.f('ix_applications_sponsor_user_id'))
        batch_op.drop_index(batch_op.f('ix_applications_email'))

    op.drop_table('applications')
    with op.batch_alter_table('invites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invites_inviter_user_id'))

    op.drop_table('invites')
    with op.batch_alter_table('directory_listings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_listings_domain'))

    op.drop_table('directory_listings')
    op.drop_table('trade_categories')
    with op.batch_alter_table('sponsorships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sponsorships_sponsor_user_id'))

    op.drop_table('sponsorships')
    with op.batch_alter_table('neighbour_sync', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_neighbour_sync_due_at'))

    op.drop_table('neighbour_sync')
    op.drop_table('hub_settings')
