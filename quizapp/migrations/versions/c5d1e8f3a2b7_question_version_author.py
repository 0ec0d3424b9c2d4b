"""question_version: who made each version, how, and a note (the console question editor)

Revision ID: c5d1e8f3a2b7
Revises: a4e7c2d91b3f
Create Date: 2026-12-07 01:10:00.000000

Existing versions came from bank files: created_by stays NULL and origin is
"file".
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d1e8f3a2b7'
down_revision = 'a4e7c2d91b3f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('origin', sa.String(length=16), server_default='file', nullable=False))
        batch_op.add_column(sa.Column('note', sa.String(length=200), server_default='', nullable=False))
        batch_op.create_foreign_key('fk_question_version_created_by', 'organiser', ['created_by_id'], ['id'])


def downgrade():
    with op.batch_alter_table('question_version', schema=None) as batch_op:
        batch_op.drop_constraint('fk_question_version_created_by', type_='foreignkey')
        batch_op.drop_column('note')
        batch_op.drop_column('origin')
        batch_op.drop_column('created_by_id')
