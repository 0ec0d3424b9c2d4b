"""console: screen subtitle, poster organiser line, prize hand-out

Revision ID: 5b8e1c3d9a27
Revises: cb1b4cbc02b8
Create Date: 2026-12-06 22:10:00.000000

Existing campaigns get empty texts (the big screen then shows its default
subtitle and posters no organiser line); existing prizes are not handed out.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b8e1c3d9a27'
down_revision = 'cb1b4cbc02b8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screen_subtitle', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('organiser_line', sa.String(length=200), server_default='', nullable=False))
    with op.batch_alter_table('draw_winner', schema=None) as batch_op:
        batch_op.add_column(sa.Column('handed_out_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('handed_out_by', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_draw_winner_handed_out_by_organiser', 'organiser', ['handed_out_by'], ['id'])


def downgrade():
    with op.batch_alter_table('draw_winner', schema=None) as batch_op:
        batch_op.drop_constraint('fk_draw_winner_handed_out_by_organiser', type_='foreignkey')
        batch_op.drop_column('handed_out_by')
        batch_op.drop_column('handed_out_at')
    with op.batch_alter_table('campaign', schema=None) as batch_op:
        batch_op.drop_column('organiser_line')
        batch_op.drop_column('screen_subtitle')
