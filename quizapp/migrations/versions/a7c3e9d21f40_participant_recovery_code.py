"""Participant recovery codes: a member number links a new phone only with the code shown on the first one.

Revision ID: a7c3e9d21f40
Revises: 5b8e1c3d9a27
Create Date: 2026-12-06 23:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c3e9d21f40"
down_revision = "5b8e1c3d9a27"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recovery_hash", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("recovery_hash")
