"""attempt kind for daily practice and review

Revision ID: 72e56d011af9
Revises: 7d25674063e8
Create Date: 2026-12-01 21:30:01.821534

Every attempt that existed before is a contest attempt (the server default),
so boards, badges and limits read exactly as before. The partial unique index
allows one daily practice set per participant and day.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '72e56d011af9'
down_revision = '7d25674063e8'
branch_labels = None
depends_on = None

DAILY_ONLY = sa.text("kind = 'daily'")


def upgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='contest', nullable=False))
        batch_op.create_index('uq_attempt_daily_set', ['participant_id', 'day'], unique=True,
                              sqlite_where=DAILY_ONLY, postgresql_where=DAILY_ONLY)


def downgrade():
    with op.batch_alter_table('attempt', schema=None) as batch_op:
        batch_op.drop_index('uq_attempt_daily_set', sqlite_where=DAILY_ONLY, postgresql_where=DAILY_ONLY)
        batch_op.drop_column('kind')
