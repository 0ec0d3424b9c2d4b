"""campaign: extra seconds per question in the elderly-friendly mode

Revision ID: a4e7c2d91b3f
Revises: 7e930d6ce492
Create Date: 2026-12-07 09:00:00.000000

Existing campaigns get 0: no longer time in the elderly-friendly mode until an
organiser allows it.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4e7c2d91b3f'
down_revision = '7e930d6ce492'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('elder_extra_seconds', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('elder_extra_seconds')
