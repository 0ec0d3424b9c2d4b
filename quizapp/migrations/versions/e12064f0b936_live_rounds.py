"""live rounds

Revision ID: e12064f0b936
Revises: a7c3e9d21f40
Create Date: 2026-12-06 21:50:39.582178

Tables of the live contest mode (quizapp/live/models.py): games joined by a six-digit PIN (unique among
running games), their questions, players (unit teams), answers and buzz-in buzzes. New tables only: nothing
existing changes, so the downgrade drops them.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e12064f0b936'
down_revision = 'a7c3e9d21f40'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('live_game',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pin', sa.String(length=6), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.String(length=8), nullable=False),
    sa.Column('phase', sa.String(length=10), nullable=False),
    sa.Column('question_index', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('seconds_per_question', sa.Integer(), nullable=False),
    sa.Column('speed_bonus', sa.Boolean(), nullable=False),
    sa.Column('streak_step', sa.Integer(), nullable=False),
    sa.Column('streak_cap', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('host_nonce', sa.String(length=32), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('question_started_at', sa.DateTime(), nullable=True),
    sa.Column('deadline_at', sa.DateTime(), nullable=True),
    sa.Column('paused_at', sa.DateTime(), nullable=True),
    sa.Column('counted_at', sa.DateTime(), nullable=True),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.ForeignKeyConstraint(['created_by'], ['organiser.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('live_game', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_game_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_game_pin'), ['pin'], unique=False)
        batch_op.create_index('uq_live_game_active_pin', ['pin'], unique=True, sqlite_where=sa.text("phase <> 'finished'"), postgresql_where=sa.text("phase <> 'finished'"))

    op.create_table('live_player',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('nickname', sa.String(length=40), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('joined_at', sa.DateTime(), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('correct_count', sa.Integer(), nullable=False),
    sa.Column('answered_count', sa.Integer(), nullable=False),
    sa.Column('streak', sa.Integer(), nullable=False),
    sa.Column('time_ms', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('board_attempt_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['game_id'], ['live_game.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('game_id', 'nickname'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('live_player', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_player_game_id'), ['game_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_live_player_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('live_answer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=False),
    sa.Column('choices', sa.JSON(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=False),
    sa.Column('elapsed_ms', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=True),
    sa.Column('points', sa.Integer(), nullable=True),
    sa.Column('streak_bonus', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['game_id'], ['live_game.id'], ),
    sa.ForeignKeyConstraint(['player_id'], ['live_player.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('game_id', 'position', 'player_id')
    )
    with op.batch_alter_table('live_answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_answer_player_id'), ['player_id'], unique=False)

    op.create_table('live_buzz',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('player_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('buzzed_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=5), nullable=True),
    sa.Column('choices', sa.JSON(), nullable=True),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['game_id'], ['live_game.id'], ),
    sa.ForeignKeyConstraint(['player_id'], ['live_player.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('game_id', 'position', 'player_id'),
    sa.UniqueConstraint('game_id', 'position', 'seq')
    )
    with op.batch_alter_table('live_buzz', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_live_buzz_player_id'), ['player_id'], unique=False)

    op.create_table('live_question',
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('question_version_id', sa.Integer(), nullable=False),
    sa.Column('option_order', sa.JSON(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('revealed_at', sa.DateTime(), nullable=True),
    sa.Column('skipped', sa.Boolean(), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.Column('distribution', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['game_id'], ['live_game.id'], ),
    sa.ForeignKeyConstraint(['question_version_id'], ['question_version.id'], ),
    sa.PrimaryKeyConstraint('game_id', 'position')
    )


def downgrade():
    op.drop_table('live_question')
    with op.batch_alter_table('live_buzz', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_buzz_player_id'))

    op.drop_table('live_buzz')
    with op.batch_alter_table('live_answer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_answer_player_id'))

    op.drop_table('live_answer')
    with op.batch_alter_table('live_player', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_live_player_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_live_player_game_id'))

    op.drop_table('live_player')
    with op.batch_alter_table('live_game', schema=None) as batch_op:
        batch_op.drop_index('uq_live_game_active_pin', sqlite_where=sa.text("phase <> 'finished'"), postgresql_where=sa.text("phase <> 'finished'"))
        batch_op.drop_index(batch_op.f('ix_live_game_pin'))
        batch_op.drop_index(batch_op.f('ix_live_game_campaign_id'))

    op.drop_table('live_game')
