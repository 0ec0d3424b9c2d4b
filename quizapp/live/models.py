"""Tables of the live round: games, their questions, players, answers and buzzes.

Imported by quizapp/live/__init__.py (so by create_app), which puts them in
db.metadata for create_all and Alembic. Times are naive UTC from the server's
clock, like every other table.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from quizapp.live.deps import db

if TYPE_CHECKING:  # mypy sees the declarative base; at run time Flask-SQLAlchemy's model class (table names)
    from quizapp.extensions import Base as Model
else:
    Model = db.Model
from quizapp.models import utcnow

ACTIVE = text("phase <> 'finished'")


class LiveGame(Model):
    """A host-paced live round of a campaign, joined with a six-digit PIN."""

    __tablename__ = "live_game"
    __table_args__ = (
        # A PIN names one game at a time: unique among unfinished games, free again once a game finishes.
        Index("uq_live_game_active_pin", "pin", unique=True, sqlite_where=ACTIVE, postgresql_where=ACTIVE),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    pin: Mapped[str] = mapped_column(String(6), index=True)  # six digits players type or scan
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), index=True)  # whose bank and units it uses
    mode: Mapped[str] = mapped_column(String(8), default="quiz")  # quiz (every phone answers) | buzz (抢答)
    phase: Mapped[str] = mapped_column(String(10), default="lobby")  # lobby | question | reveal | finished
    question_index: Mapped[int] = mapped_column(default=-1)  # 0-based position of the question shown; -1 in the lobby
    total: Mapped[int] = mapped_column()  # number of questions
    seconds_per_question: Mapped[int] = mapped_column()  # time limit of each question
    speed_bonus: Mapped[bool] = mapped_column(default=True)  # scoring rule copied from the campaign
    streak_step: Mapped[int] = mapped_column(default=0)  # streak rule copied from the campaign (engine.streak_settings)
    streak_cap: Mapped[int] = mapped_column(default=0)  # cap of the streak bonus
    version: Mapped[int] = mapped_column(default=1)  # bumped by every change phones see: their ETag
    host_nonce: Mapped[str] = mapped_column(String(32))  # random; the host token is an HMAC of it (never stored)
    seed: Mapped[int] = mapped_column()  # seed of the draw and option orders
    question_started_at: Mapped[dt.datetime | None] = mapped_column()  # start of the current question's clock
    deadline_at: Mapped[dt.datetime | None] = mapped_column()  # when the current question stops taking answers
    paused_at: Mapped[dt.datetime | None] = mapped_column()  # set while the question's clock is paused
    counted_at: Mapped[dt.datetime | None] = mapped_column()  # when an organiser added its results to the boards
    created_by: Mapped[int | None] = mapped_column(ForeignKey("organiser.id"))  # console account, None from the CLI
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # creation time
    started_at: Mapped[dt.datetime | None] = mapped_column()  # when the first question was shown
    finished_at: Mapped[dt.datetime | None] = mapped_column()  # when it finished

    def __repr__(self) -> str:
        return f"<LiveGame {self.pin} {self.phase} {self.question_index}/{self.total}>"


class LiveQuestion(Model):
    """A question of a live game: the version shown, its option order (the same on every screen), its reveal."""

    __tablename__ = "live_question"

    game_id: Mapped[int] = mapped_column(ForeignKey("live_game.id"), primary_key=True)  # the game
    position: Mapped[int] = mapped_column(primary_key=True)  # 0-based order in the game
    question_version_id: Mapped[int] = mapped_column(ForeignKey("question_version.id"))  # exact content shown
    option_order: Mapped[list] = mapped_column(JSON)  # bank option indexes in displayed order
    started_at: Mapped[dt.datetime | None] = mapped_column()  # when it was first shown
    revealed_at: Mapped[dt.datetime | None] = mapped_column()  # when its answer was revealed and scored
    skipped: Mapped[bool] = mapped_column(default=False)  # dropped by the host: nothing scored
    answered: Mapped[int] = mapped_column(default=0)  # answers scored at the reveal
    distribution: Mapped[dict | None] = mapped_column(JSON)  # display key -> answers choosing it, at the reveal

    def __repr__(self) -> str:
        return f"<LiveQuestion {self.game_id}#{self.position}>"


class LivePlayer(Model):
    """A phone (a person, or a team in a buzz-in round) in a live game, with its running totals."""

    __tablename__ = "live_player"
    __table_args__ = (UniqueConstraint("game_id", "nickname"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    game_id: Mapped[int] = mapped_column(ForeignKey("live_game.id"), index=True)  # the game joined
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the player's bearer token
    nickname: Mapped[str] = mapped_column(String(40))  # name shown on the big screen, unique in the game
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)  # unit team
    joined_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # join time
    score: Mapped[int] = mapped_column(default=0)  # points so far (changes only at reveals and buzz-in answers)
    correct_count: Mapped[int] = mapped_column(default=0)  # right answers
    answered_count: Mapped[int] = mapped_column(default=0)  # answers scored
    streak: Mapped[int] = mapped_column(default=0)  # right answers in a row ending with the last revealed question
    time_ms: Mapped[int] = mapped_column(default=0)  # answer time of right answers: the tie-break
    rank: Mapped[int | None] = mapped_column()  # rank after the last reveal (None before the first)
    board_attempt_id: Mapped[int | None] = mapped_column()  # contest attempt it became on the boards (no FK)

    def __repr__(self) -> str:
        return f"<LivePlayer {self.id} {self.nickname!r}>"


class LiveAnswer(Model):
    """A phone's answer to a question of a live game, stored once; scored when the question is revealed."""

    __tablename__ = "live_answer"
    __table_args__ = (UniqueConstraint("game_id", "position", "player_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    game_id: Mapped[int] = mapped_column(ForeignKey("live_game.id"))  # the game (leads the unique index)
    position: Mapped[int] = mapped_column()  # the question answered
    player_id: Mapped[int] = mapped_column(ForeignKey("live_player.id"), index=True)  # who answered
    choices: Mapped[list] = mapped_column(JSON)  # bank option keys chosen
    answered_at: Mapped[dt.datetime] = mapped_column()  # server time the answer arrived
    elapsed_ms: Mapped[int] = mapped_column()  # server time from the question's start, within its limit
    correct: Mapped[bool | None] = mapped_column()  # set at the reveal (None before, or when skipped)
    points: Mapped[int | None] = mapped_column()  # points earned, set at the reveal
    streak_bonus: Mapped[int] = mapped_column(default=0)  # part of points earned by the streak

    def __repr__(self) -> str:
        return f"<LiveAnswer {self.game_id}#{self.position} player={self.player_id}>"


class LiveBuzz(Model):
    """A buzz in a buzz-in (抢答) question: seq is its place in the arrival order, given under the game's lock."""

    __tablename__ = "live_buzz"
    __table_args__ = (UniqueConstraint("game_id", "position", "seq"),
                      UniqueConstraint("game_id", "position", "player_id"))

    id: Mapped[int] = mapped_column(primary_key=True)  # surrogate key
    game_id: Mapped[int] = mapped_column(ForeignKey("live_game.id"))  # the game (leads both unique indexes)
    position: Mapped[int] = mapped_column()  # the question
    player_id: Mapped[int] = mapped_column(ForeignKey("live_player.id"), index=True)  # the team that buzzed
    seq: Mapped[int] = mapped_column()  # 1, 2, ... in the order the database took the buzzes
    buzzed_at: Mapped[dt.datetime] = mapped_column()  # server time of the buzz
    outcome: Mapped[str | None] = mapped_column(String(5))  # None while waiting or answering; right | wrong
    choices: Mapped[list | None] = mapped_column(JSON)  # bank option keys answered
    answered_at: Mapped[dt.datetime | None] = mapped_column()  # server time of the answer

    def __repr__(self) -> str:
        return f"<LiveBuzz {self.game_id}#{self.position} {self.seq}: player={self.player_id} {self.outcome}>"
