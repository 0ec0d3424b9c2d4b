"""console accounts: units held by identity, an administrator flag, session versions; login failures by pair

Unit organisers were scoped by the text of a unit code, which another campaign may reuse. Each account
now holds units (organiser_unit, at most one per campaign). An existing unit organiser's account is given
every unit that carried its code when upgrading: exactly the access it had, so nobody is locked out in the
middle of a campaign; the accounts page lists each held unit with its campaign, so an administrator can
take away one that belongs to another school. Accounts without a code are administrators, as before.
session_version starts at 0 (sessions opened before the upgrade carry no version and must log in again).
Login failures are looked up by (username, address) pair.

Revision ID: 7e930d6ce492
Revises: e12064f0b936
Create Date: 2026-12-08 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7e930d6ce492'
down_revision = 'e12064f0b936'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('organiser_unit',
    sa.Column('organiser_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['organiser_id'], ['organiser.id'], ),
    sa.PrimaryKeyConstraint('organiser_id', 'organisation_id'),
    sa.UniqueConstraint('organiser_id', 'campaign_id')
    )
    with op.batch_alter_table('organiser_unit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organiser_unit_organisation_id'), ['organisation_id'], unique=False)

    # Plain ALTER TABLE on organiser, never a batch copy: on SQLite a copy drops the table, which foreign keys
    # (prize draws, hand-outs, held units) refuse. DROP COLUMN needs SQLite 3.35 (Debian bookworm has 3.40).
    op.add_column('organiser', sa.Column('admin', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('organiser', sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE organiser SET admin = (org_code IS NULL)")
    op.execute("INSERT INTO organiser_unit (organiser_id, organisation_id, campaign_id, created_at) "
               "SELECT organiser.id, organisation.id, organisation.campaign_id, CURRENT_TIMESTAMP "
               "FROM organiser JOIN organisation ON organisation.code = organiser.org_code")
    op.drop_column('organiser', 'org_code')

    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_username')
        batch_op.create_index('ix_login_failure_pair', ['username', 'ip', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('login_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_login_failure_pair')
        batch_op.create_index('ix_login_failure_username', ['username', 'created_at'], unique=False)

    op.add_column('organiser', sa.Column('org_code', sa.String(length=32), nullable=True))
    # A unit organiser gets back the code of a unit it holds; one holding none gets '' (no unit has it),
    # never NULL, which would make it an administrator.
    op.execute("UPDATE organiser SET org_code = COALESCE((SELECT min(organisation.code) FROM organiser_unit "
               "JOIN organisation ON organisation.id = organiser_unit.organisation_id "
               "WHERE organiser_unit.organiser_id = organiser.id), '') WHERE NOT admin")
    op.drop_column('organiser', 'session_version')
    op.drop_column('organiser', 'admin')

    with op.batch_alter_table('organiser_unit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organiser_unit_organisation_id'))
    op.drop_table('organiser_unit')
