"""Live games: create, join, answer, buzz, the host's moves, and the views phones, the big screen and the host read.

The database is the only shared state, so several app servers run one game:
every change is one transaction that bumps the game's version, and every read
starts from the row. The hot paths (a phone's poll, an answer) run fixed
plain statements on the pooled DB-API connection, as quizzes do. The rest of
a view is the same for every phone; it is built once per game version and
server process and kept in memory (a "snapshot").

Ordering: an answer holds a share lock on the game row while it checks the
phase and inserts (PostgreSQL; SQLite's write transactions run one at a time),
and a host move takes the row for update, so an answer is either in before
the reveal that scores its question, or refused. Buzzes take the row for
update, so their order is the database's.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import random
import secrets
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext
from sqlalchemy.exc import IntegrityError

from quizapp import engine
from quizapp.database import Row
from quizapp.live import deps, rules
from quizapp.live.deps import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from quizapp.live.models import LiveGame, LiveQuestion
from quizapp.models import Article, Campaign, Question, QuestionVersion, utcnow

QUESTIONS = (1, 50)  # questions a game may have
SECONDS = (5, 300)  # seconds per question
DEFAULT_QUESTIONS = 10
MAX_PLAYERS = 3000  # phones in one game: a big hall, and a bound on what a flood of joins can do
POLL_MS = 800  # how often phones ask for the state (docs/decisions/live-transport.md): p99 of a phase change <= 1.5 s
SCREEN_POLL_MS = 500
TOP_SHOWN = 10  # the big screen's podium and final board


# ---------------------------------------------------------------- rows

@dataclass(frozen=True)
class Game:
    """A live_game row as the plain statements read it."""

    id: int
    pin: str
    campaign_id: int
    mode: str
    phase: str
    index: int
    total: int
    seconds: int
    speed_bonus: bool
    streak_step: int
    streak_cap: int
    version: int
    host_nonce: str
    question_started_at: dt.datetime | None
    deadline_at: dt.datetime | None
    paused_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    counted_at: dt.datetime | None
    created_at: dt.datetime


_GAME_COLUMNS = ("id, pin, campaign_id, mode, phase, question_index, total, seconds_per_question, speed_bonus, "
                 "streak_step, streak_cap, version, host_nonce, question_started_at, deadline_at, paused_at, "
                 "started_at, finished_at, counted_at, created_at")
_TIMES = slice(13, 20)
# The running game with this PIN, else the newest finished one (a PIN is unique among running games only).
_GAME_BY_PIN_SQL = (f"SELECT {_GAME_COLUMNS} FROM live_game WHERE pin = ? "  # nosec B608 - fixed column names
                    "ORDER BY CASE WHEN phase = 'finished' THEN 1 ELSE 0 END, id DESC LIMIT 1")
_GAME_BY_ID_SQL = f"SELECT {_GAME_COLUMNS} FROM live_game WHERE id = ?"  # nosec B608 - fixed column names


def _row(row: Row | None) -> Row:
    """A row that must exist (read by its key inside the transaction that found or locked it)."""
    if row is None:
        raise NotFound(gettext("找不到这场现场赛"), code="game_not_found")
    return row


def _game(conn, row: tuple) -> Game:
    """A Game from a row of _GAME_COLUMNS."""
    values = list(row)
    values[8] = bool(values[8])
    values[_TIMES] = [conn.time_out(v) for v in values[_TIMES]]
    return Game(*values)


def find_game(pin: object) -> Game | None:
    """The game of this PIN (running, else the newest finished), or None for anything else."""
    if not rules.is_pin(pin):
        return None
    conn = deps.raw()
    row = conn.one(_GAME_BY_PIN_SQL, (pin,))
    return _game(conn, row) if row else None


def game_or_404(pin: object) -> Game:
    """The game of this PIN, or NotFound."""
    game = find_game(pin)
    if game is None:
        raise NotFound(gettext("没有 PIN 为 %(pin)s 的现场赛", pin=str(pin)[:12]), field="pin", code="game_not_found")
    return game


def _lock_game(conn, game_id: int, share: bool = False) -> Game:
    """Read the game row inside a write transaction, locked (PostgreSQL) for share or update."""
    sql = _GAME_BY_ID_SQL
    if not conn.sqlite:  # SQLite's write transactions already run one at a time
        sql += " FOR SHARE" if share else " FOR UPDATE"
    return _game(conn, conn.one(sql, (game_id,)))


# ---------------------------------------------------------------- tokens

def hash_token(token: str) -> str:
    """Digest of a bearer token; only digests are stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def host_token(game: Game | LiveGame) -> str:
    """The host's bearer token: an HMAC of the game's nonce, so the console can show it again and nothing stores it."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"live-host:{game.id}:{game.host_nonce}".encode(), hashlib.sha256).hexdigest()


def authorise_host(pin: object, token: str | None) -> Game:
    """The game, when token is its host token: 404 for an unknown PIN, 401 without a token, 403 for a wrong one."""
    game = game_or_404(pin)
    if token is None:
        raise Unauthorized(gettext("缺少凭证：请在 Authorization 头中携带 Bearer token"), field="Authorization")
    if not hmac.compare_digest(host_token(game), token):
        raise Forbidden(gettext("主持人凭证无效"), field="Authorization")
    return game


# ---------------------------------------------------------------- creating a game

def _bounded(value: object, bounds: tuple[int, int], name: str, default: int) -> int:
    """An integer setting within bounds (the default when None), or Invalid naming it."""
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise Invalid(gettext("%(name)s 必须是 %(low)d 到 %(high)d 之间的整数", name=name, low=bounds[0],
                              high=bounds[1]), field=name)
    return value


def create_game(campaign: Campaign, questions: int | None = None, seconds: int | None = None, mode: str = rules.QUIZ,
                picked: Sequence[str] | None = None, created_by: int | None = None,
                rng: random.Random | None = None) -> tuple[LiveGame, str]:
    """Open a live game in the lobby; returns it with its host token.

    Questions are drawn from the campaign's pool as a quiz draws them (spread
    over scam types), or are the picked question ids in the order given; the
    option order is shuffled once per game, so every screen shows the same.
    """
    seconds = _bounded(seconds, SECONDS, "seconds", campaign.seconds_per_question)
    if mode not in rules.MODES:
        raise Invalid(gettext("mode 必须是 quiz 或 buzz"), field="mode")
    pool = deps.question_pool(campaign)
    if not pool:
        raise Conflict(gettext("本活动暂无可用题目"), code="empty_pool")
    rng = rng or random.Random(secrets.randbits(64))  # nosec B311 - seeded from secrets; the seed replays the draw
    seed = rng.randrange(2**31)
    draw_rng = random.Random(seed)  # nosec B311 - replayable draw, not a secret
    counts = {e.question_id: e.option_count for e in pool}
    version_of = {e.question_id: e.version_id for e in pool}
    if picked:
        unknown = [qid for qid in picked if qid not in version_of]
        if unknown or len(set(picked)) != len(picked) or len(picked) > QUESTIONS[1]:
            raise Invalid(gettext("所选题目不在本活动的题库中或有重复：%(ids)s", ids=", ".join(map(str, unknown[:5]))),
                          field="questions")
        drawn = [engine.Drawn(qid, tuple(draw_rng.sample(range(counts[qid]), counts[qid]))) for qid in picked]
    else:
        n = _bounded(questions, QUESTIONS, "questions", min(DEFAULT_QUESTIONS, len(pool)))
        candidates = [engine.Candidate(e.question_id, e.tags) for e in pool]
        drawn = engine.draw_questions(candidates, n, draw_rng, (), counts)
    step, cap = engine.streak_settings(campaign.speed_bonus, campaign.streak_step, campaign.streak_cap)
    for _ in range(20):  # a PIN taken by a running game: draw another
        try:
            with deps.writing() as session:
                game = LiveGame(pin=rules.new_pin(rng), campaign_id=campaign.id, mode=mode, total=len(drawn),
                                seconds_per_question=seconds, speed_bonus=campaign.speed_bonus, streak_step=step,
                                streak_cap=cap, host_nonce=secrets.token_hex(16), seed=seed, created_by=created_by,
                                phase=rules.LOBBY, question_index=-1, version=1)
                session.add(game)
                session.flush()
                session.add_all(LiveQuestion(game_id=game.id, position=i, question_version_id=version_of[d.id],
                                             option_order=list(d.option_order)) for i, d in enumerate(drawn))
        except IntegrityError:
            continue
        return game, host_token(game)
    raise Conflict(gettext("暂时无法分配 PIN，请重试"), code="no_pin")


# ---------------------------------------------------------------- joining

_PLAYER_COUNT_SQL = "SELECT COUNT(*) FROM live_player WHERE game_id = ?"
_JOIN_SQL = ("INSERT INTO live_player (game_id, token_hash, nickname, organisation_id, joined_at, score, "
             "correct_count, answered_count, streak, time_ms) VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, 0) "
             "ON CONFLICT (game_id, nickname) DO NOTHING")


def join(game: Game, nickname: object, org_code: object) -> str:
    """Add a phone to the game under a nickname (unique in the game) and unit; returns its bearer token."""
    nickname = deps.clean_nickname(nickname)
    if not isinstance(org_code, str) or not org_code:
        raise Invalid(gettext("请选择所在单位"), field="org")
    org_id = deps.organisation_id(game.campaign_id, org_code)
    if org_id is None:
        raise Invalid(gettext("单位代码 %(code)s 不属于本次活动", code=org_code[:40]), field="org")
    if game.phase == rules.FINISHED:
        raise Conflict(gettext("本场现场赛已结束"), code="game_over")
    token = secrets.token_urlsafe(24)
    conn = deps.raw()
    with conn.transaction():
        if conn.scalar(_PLAYER_COUNT_SQL, (game.id,)) >= MAX_PLAYERS:
            raise Conflict(gettext("本场人数已满"), code="game_full")
        added = conn.run(_JOIN_SQL, (game.id, hash_token(token), nickname, org_id, conn.time_in(utcnow())))
    if added != 1:
        raise Conflict(gettext("昵称“%(name)s”已有人使用，请换一个", name=nickname), field="nickname",
                       code="nickname_taken")
    return token


# ---------------------------------------------------------------- questions (immutable, cached per process)

@dataclass(frozen=True)
class QuestionInfo:
    """A question of a game as shown: display options, key and explanation (never sent before the reveal)."""

    position: int
    version_id: int
    question_id: str
    type: str
    stem: str
    options: tuple[tuple[str, str], ...]  # (display key, text)
    option_order: tuple[int, ...]
    key: tuple[str, ...]  # bank keys
    explanation: str
    source: dict

    @property
    def correct_choices(self) -> list[str]:
        """The key as display keys."""
        return rules.to_display_keys(self.option_order, self.key)

    def public(self) -> dict:
        """The question as phones see it before the reveal: no key."""
        return {"id": self.question_id, "type": self.type, "stem": self.stem,
                "options": [{"key": k, "text": t} for k, t in self.options]}


_QUESTION_SQL = ("SELECT lq.position, lq.question_version_id, lq.option_order, v.question_id, v.type, v.stem, "
                 "v.options, v.answer, v.explanation, a.title, a.publisher, a.date FROM live_question lq "
                 "JOIN question_version v ON v.id = lq.question_version_id JOIN question q ON q.id = v.question_id "
                 "JOIN article a ON a.id = q.article_id WHERE lq.game_id = ? AND lq.position = ?")
class _Memory:
    """This process's copies for one app: game questions (they never change) and the latest snapshot per game."""

    def __init__(self) -> None:
        self.questions: dict[tuple[int, int], QuestionInfo] = {}
        self.snapshots: dict[int, Snapshot] = {}
        self.building: dict[int, threading.Lock] = {}
        self.lock = threading.Lock()


def _memory() -> _Memory:
    """The current app's _Memory (per app, so test apps on fresh databases never share one)."""
    memory = current_app.extensions.get("quizapp.live")
    if memory is None:
        memory = current_app.extensions.setdefault("quizapp.live", _Memory())
    return memory


def question(game_id: int, position: int) -> QuestionInfo:
    """A game's question at a position; kept in memory (a game's questions never change)."""
    memory = _memory()
    key = (game_id, position)
    info = memory.questions.get(key)
    if info is None:
        conn = deps.raw()
        row = conn.one(_QUESTION_SQL, (game_id, position))
        if row is None:
            raise NotFound(gettext("没有这道题"), field="index", code="question_not_found")
        order = tuple(conn.json_out(row[2]))
        texts = conn.json_out(row[6])
        info = QuestionInfo(row[0], row[1], row[3], row[4], row[5],
                            tuple((rules.OPTION_KEYS[i], texts[orig]) for i, orig in enumerate(order)), order,
                            tuple(conn.json_out(row[7])), row[8],
                            {"title": row[9], "publisher": row[10], "date": row[11]})
        with memory.lock:
            if len(memory.questions) > 5000:
                memory.questions.clear()
            memory.questions[key] = info
    return info


# Keep these names referenced for the models the statements above read (Alembic and linters see the link).
_TABLES = (Article, Question, QuestionVersion)


# ---------------------------------------------------------------- players (the hot read)

@dataclass(frozen=True)
class Me:
    """A phone's own part of the state, read with the game's version in one statement."""

    game_id: int
    pin: str
    version: int
    player_id: int
    nickname: str
    org: str
    score: int
    rank: int | None
    streak: int
    choices: list | None  # bank keys of its answer to the current question
    points: int | None
    correct: bool | None
    buzz_seq: int | None
    buzz_outcome: str | None

    @property
    def etag_value(self) -> str:
        """What this phone's view depends on (its ETag, unquoted): the game's version, whether it answered or buzzed."""
        mark = ("a" if self.choices is not None else "") + ("b" if self.buzz_seq is not None else "")
        return f"{self.game_id}.{self.version}.{mark}"


_ME_SQL = ("SELECT g.id, g.pin, g.version, p.id, p.nickname, o.code, p.score, p.rank, p.streak, a.choices, a.points, "
           "a.correct, b.seq, b.outcome FROM live_player p JOIN live_game g ON g.id = p.game_id "
           "JOIN organisation o ON o.id = p.organisation_id "
           "LEFT JOIN live_answer a ON a.game_id = g.id AND a.position = g.question_index AND a.player_id = p.id "
           "LEFT JOIN live_buzz b ON b.game_id = g.id AND b.position = g.question_index AND b.player_id = p.id "
           "WHERE p.token_hash = ?")


def me(pin: object, token: str | None) -> Me:
    """The phone named by its bearer token in the game of this PIN: 404 unknown PIN, 401 no token, 403 wrong token."""
    if not rules.is_pin(pin):
        game_or_404(pin)
    if token is None:
        game_or_404(pin)
        raise Unauthorized(gettext("缺少凭证：请在 Authorization 头中携带 Bearer token"), field="Authorization")
    conn = deps.raw()
    row = conn.one(_ME_SQL, (hash_token(token),))
    if row is None or row[1] != pin:
        game_or_404(pin)
        raise Forbidden(gettext("凭证无效：请重新加入"), field="Authorization")
    choices = conn.json_out(row[9]) if row[9] is not None else None
    return Me(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], choices, row[10],
              None if row[11] is None else bool(row[11]), row[12], row[13])


# ---------------------------------------------------------------- answering

_ANSWER_SQL = ("INSERT INTO live_answer (game_id, position, player_id, choices, answered_at, elapsed_ms, streak_bonus) "
               "VALUES (?, ?, ?, ?, ?, ?, 0) ON CONFLICT (game_id, position, player_id) DO NOTHING")


def _index(value: object) -> int:
    """The question index of a request body, or Invalid."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(gettext("index 必须是整数（当前题目的序号，从 0 开始）"), field="index")
    return value


def _choices(info: QuestionInfo, choices: object) -> list[str]:
    """Display keys that fit the question, or Invalid naming choices."""
    try:
        return rules.check_choices(choices, len(info.options), info.type)
    except rules.BadChoices as bad:
        messages = {
            "not_a_list": gettext("choices 必须是选项字母组成的列表，例如 [\"A\"]"),
            "unknown": gettext("选项 %(wrong)s 不存在（可选 %(valid)s）", wrong=bad.detail[:40],
                               valid=", ".join(k for k, _ in info.options)),
            "repeated": gettext("同一选项不能重复提交"),
            "empty": gettext("请至少选择一个选项"),
            "one_only": gettext("本题为单选题，只能选一个答案"),
        }
        raise Invalid(messages[bad.reason], field="choices") from None


def _check_open_question(game: Game, index: int, now: dt.datetime) -> None:
    """Refuse (409) an answer or a buzz for anything but the current question while its clock runs."""
    if game.phase != rules.QUESTION:
        raise Conflict(gettext("现在不是答题时间"), code="not_question")
    if index != game.index:
        raise Conflict(gettext("这道题已经过去了（当前是第 %(n)d 题）", n=game.index + 1), field="index",
                       code="wrong_question")
    if game.paused_at is not None:
        raise Conflict(gettext("主持人暂停了计时，请稍候"), code="paused")
    if not rules.accepts_answer(now, game.deadline_at):
        raise Conflict(gettext("时间到，本题不再接受作答"), code="time_up")


@dataclass(frozen=True)
class Answered:
    """The response to an accepted answer: what was stored (nothing about its correctness before the reveal)."""

    index: int
    choices: list[str]
    correct: bool | None = None  # buzz-in answers only: they are judged at once, in front of everyone
    points: int | None = None

    def to_dict(self) -> dict:
        """JSON body of POST .../answers."""
        body: dict = {"accepted": True, "index": self.index, "choices": self.choices}
        if self.correct is not None:
            body.update(correct=self.correct, points=self.points)
        return body


def answer(pin: object, token: str | None, index: object, choices: object, now: dt.datetime | None = None) -> Answered:
    """Store a phone's answer to the current question once: 409 for a second one or outside the question's time."""
    player = me(pin, token)
    index = _index(index)
    game = read_game(player.game_id)
    now = now or utcnow()
    if game.mode == rules.BUZZ:
        return _buzz_answer(game, player, index, choices, now)
    _check_open_question(game, index, now)
    info = question(game.id, index)
    keys = _choices(info, choices)
    bank_keys = rules.to_bank_keys(info.option_order, keys)
    conn = deps.raw()
    with conn.transaction():
        game = _lock_game(conn, game.id, share=True)
        _check_open_question(game, index, now)  # again under the lock: a reveal may have committed meanwhile
        if game.question_started_at is None:  # _check_open_question made sure a question is open
            raise Conflict(gettext("现在不是答题时间"), code="not_question")
        ms = rules.elapsed_ms(game.question_started_at, now, game.seconds)
        stored = conn.run(_ANSWER_SQL, (game.id, index, player.player_id, conn.json_in(bank_keys),
                                        conn.time_in(now), ms))
    if stored != 1:
        raise Conflict(gettext("这道题已经作答，不能修改"), code="already_answered")
    return Answered(index, keys)


def read_game(game_id: int) -> Game:
    """The game row now."""
    conn = deps.raw()
    return _game(conn, _row(conn.one(_GAME_BY_ID_SQL, (game_id,))))


# ---------------------------------------------------------------- buzz-in (抢答)

_BUZZES_SQL = "SELECT seq, player_id, outcome FROM live_buzz WHERE game_id = ? AND position = ? ORDER BY seq"
_BUZZ_SQL = ("INSERT INTO live_buzz (game_id, position, player_id, seq, buzzed_at) "
             "SELECT ?, ?, ?, COALESCE(MAX(seq), 0) + 1, ? FROM live_buzz WHERE game_id = ? AND position = ? "
             "ON CONFLICT (game_id, position, player_id) DO NOTHING")
_BUMP_SQL = "UPDATE live_game SET version = version + 1 WHERE id = ?"


def buzz(pin: object, token: str | None, index: object, now: dt.datetime | None = None) -> int:
    """Buzz in for the current question of a buzz-in game; returns the buzz's place in the arrival order.

    The game row is locked for update first, so buzzes take their places one at
    a time in the order the database serves them; clients' clocks play no part.
    """
    player = me(pin, token)
    index = _index(index)
    now = now or utcnow()
    conn = deps.raw()
    with conn.transaction():
        game = _lock_game(conn, player.game_id)
        if game.mode != rules.BUZZ:
            raise Conflict(gettext("本场不是抢答赛"), code="not_buzz")
        _check_open_question(game, index, now)
        buzzes = [rules.Buzz(*row) for row in conn.all(_BUZZES_SQL, (game.id, index))]
        if any(b.outcome == "right" for b in buzzes):
            raise Conflict(gettext("本题已有人答对"), code="resolved")
        # Stamped with the time the lock was granted, so buzzed_at runs in the same order as seq.
        taken = utcnow()
        # INSERT ... SELECT: the statement's aggregate needs a row even with no buzz yet, which MAX() gives.
        added = conn.run(_BUZZ_SQL, (game.id, index, player.player_id, conn.time_in(max(taken, now)), game.id, index))
        if added != 1:
            raise Conflict(gettext("你已经抢答过这道题"), code="already_buzzed")
        seq = _row(conn.one("SELECT seq FROM live_buzz WHERE game_id = ? AND position = ? AND player_id = ?",
                            (game.id, index, player.player_id)))[0]
        conn.run(_BUMP_SQL, (game.id,))
    return seq


_BUZZ_ANSWER_SQL = ("UPDATE live_buzz SET outcome = ?, choices = ?, answered_at = ? "
                    "WHERE game_id = ? AND position = ? AND player_id = ? AND outcome IS NULL")
_BUZZ_SCORE_SQL = ("UPDATE live_player SET score = score + ?, correct_count = correct_count + ?, "
                   "answered_count = answered_count + 1 WHERE id = ?")


def _buzz_answer(game: Game, player: Me, index: int, choices: object, now: dt.datetime) -> Answered:
    """The answer of the team whose turn it is: judged at once; right ends the question, wrong passes the turn."""
    if game.phase != rules.QUESTION or index != game.index:
        _check_open_question(game, index, now)
    info = question(game.id, index)
    keys = _choices(info, choices)
    bank_keys = rules.to_bank_keys(info.option_order, keys)
    conn = deps.raw()
    with conn.transaction():
        game = _lock_game(conn, game.id)
        if game.phase != rules.QUESTION or game.index != index:
            raise Conflict(gettext("现在不是答题时间"), code="not_question")
        turn = rules.buzz_turn(rules.Buzz(*row) for row in conn.all(_BUZZES_SQL, (game.id, index)))
        if turn is None or turn.player_id != player.player_id:
            raise Conflict(gettext("还没轮到你答题：先抢答，按顺序作答"), code="not_your_turn")
        correct = set(bank_keys) == set(info.key)
        points = rules.buzz_points(correct)
        conn.run(_BUZZ_ANSWER_SQL, ("right" if correct else "wrong", conn.json_in(bank_keys), conn.time_in(now),
                                    game.id, index, player.player_id))
        conn.run(_BUZZ_SCORE_SQL, (points, 1 if correct else 0, player.player_id))
        if correct:  # answered: the question is revealed to everyone
            _apply(conn, game, rules.Move(rules.REVEAL, index, score=True), now)
        else:
            conn.run(_BUMP_SQL, (game.id,))
    return Answered(index, keys, correct, points)


# ---------------------------------------------------------------- the host's moves

_STANDINGS_SQL = "SELECT id, score, streak, correct_count, time_ms, answered_count FROM live_player WHERE game_id = ?"
_ANSWERS_SQL = "SELECT player_id, choices, elapsed_ms FROM live_answer WHERE game_id = ? AND position = ?"
_SCORE_ANSWER_SQL = ("UPDATE live_answer SET correct = ?, points = ?, streak_bonus = ? "
                     "WHERE game_id = ? AND position = ? AND player_id = ?")
_SCORE_PLAYER_SQL = ("UPDATE live_player SET score = ?, streak = ?, correct_count = ?, time_ms = ?, "
                     "answered_count = ?, rank = ? WHERE id = ?")
_RANK_SQL = "UPDATE live_player SET rank = ? WHERE id = ?"
_REVEALED_SQL = ("UPDATE live_question SET revealed_at = ?, answered = ?, distribution = ? "
                 "WHERE game_id = ? AND position = ?")
_SKIPPED_SQL = "UPDATE live_question SET skipped = ? WHERE game_id = ? AND position = ?"
_STARTED_SQL = "UPDATE live_question SET started_at = ? WHERE game_id = ? AND position = ?"
_MOVE_SQL = ("UPDATE live_game SET phase = ?, question_index = ?, question_started_at = ?, deadline_at = ?, "
             "paused_at = ?, started_at = ?, finished_at = ?, version = version + 1 WHERE id = ?")


def host_move(game: Game, action: str, now: dt.datetime | None = None) -> None:
    """Apply a host action (start, next, reveal, pause, resume, skip, end) in one transaction; 409 when not allowed."""
    if action not in rules.ACTIONS:
        raise NotFound(gettext("没有这个操作：%(action)s", action=action[:20]), field="action", code="no_such_action")
    now = now or utcnow()
    conn = deps.raw()
    with conn.transaction():
        game = _lock_game(conn, game.id)
        try:
            step = rules.move(action, game.phase, game.index, game.total, game.paused_at is not None)
        except rules.IllegalMove:
            raise Conflict(gettext("现在不能执行“%(action)s”（当前阶段：%(phase)s）", action=action, phase=game.phase),
                           code="illegal_move") from None
        _apply(conn, game, step, now)


def _apply(conn, game: Game, step: rules.Move, now: dt.datetime) -> None:
    """Write a move inside the caller's transaction, with the game row locked."""
    started, deadline, paused = game.question_started_at, game.deadline_at, game.paused_at
    if step.score and game.mode == rules.QUIZ:
        _score(conn, game, now)
    elif step.score:  # buzz-in: points were given as teams answered; show the key and fresh ranks
        _rank_all(conn, game.id)
        conn.run(_REVEALED_SQL, (conn.time_in(now), 0, None, game.id, game.index))
    if step.void:
        conn.run(_SKIPPED_SQL, (True, game.id, game.index))
    if step.pause:
        paused = now
    elif step.resume and paused is not None and started is not None and deadline is not None:
        # The clock stopped while paused: shift it, so answer times and the deadline leave the pause out.
        stopped = now - paused
        started, deadline, paused = started + stopped, deadline + stopped, None
    elif step.phase == rules.QUESTION and (step.index != game.index or game.phase != rules.QUESTION):
        started, deadline, paused = now, now + dt.timedelta(seconds=game.seconds), None
        conn.run(_STARTED_SQL, (conn.time_in(now), game.id, step.index))
    elif step.phase != rules.QUESTION:
        deadline, paused = None, None
    first_start = game.started_at or (now if step.phase == rules.QUESTION else None)
    finished = now if step.phase == rules.FINISHED else None
    conn.run(_MOVE_SQL, (step.phase, step.index, conn.time_in(started), conn.time_in(deadline), conn.time_in(paused),
                         conn.time_in(first_start), conn.time_in(finished), game.id))


def _score(conn, game: Game, now: dt.datetime) -> None:
    """Score the current question of a quiz game for everyone, rank everyone, store the distribution."""
    info = question(game.id, game.index)
    answers = {pid: (conn.json_out(choices), ms) for pid, choices, ms in conn.all(_ANSWERS_SQL, (game.id, game.index))}
    rows = conn.all(_STANDINGS_SQL, (game.id,))
    answered_before = {row[0]: row[5] for row in rows}
    standings = [rules.Standing(pid, score, streak, correct, ms) for pid, score, streak, correct, ms, _ in rows]
    scored = rules.score_question(standings, answers, info.key, game.seconds, game.speed_bonus, game.streak_step,
                                  game.streak_cap)
    rank_of = {s.player_id: r for r, s in rules.ranks(x.standing for x in scored.values())}
    scored_answers = [(x.correct, x.points, x.streak_bonus, game.id, game.index, pid)
                      for pid, x in scored.items() if x.answered]
    if scored_answers:
        conn.many(_SCORE_ANSWER_SQL, scored_answers)
    updates = [(x.standing.score, x.standing.streak, x.standing.correct, x.standing.time_ms,
                answered_before[pid] + (1 if x.answered else 0), rank_of[pid], pid) for pid, x in scored.items()]
    if updates:
        conn.many(_SCORE_PLAYER_SQL, updates)
    shown = rules.distribution(len(info.options),
                               (rules.to_display_keys(info.option_order, keys) for keys, _ in answers.values()))
    conn.run(_REVEALED_SQL, (conn.time_in(now), len(answers), conn.json_in(shown), game.id, game.index))


def _rank_all(conn, game_id: int) -> None:
    """Store every player's rank by the current scores."""
    rows = conn.all(_STANDINGS_SQL, (game_id,))
    ranked = rules.ranks(rules.Standing(pid, score, streak, correct, ms) for pid, score, streak, correct, ms, _ in rows)
    if ranked:
        conn.many(_RANK_SQL, [(r, s.player_id) for r, s in ranked])


# ---------------------------------------------------------------- snapshots: what every phone and screen shares

@dataclass
class Snapshot:
    """The player-independent part of a game's state at one version."""

    game: Game
    title: str
    question: QuestionInfo | None
    distribution: dict | None
    answered: int
    skipped: bool
    top: list[dict]
    units: list[dict]
    buzzes: list[dict]
    built_at: dt.datetime = field(default_factory=utcnow)

    @property
    def version(self) -> int:
        """The game version this snapshot shows."""
        return self.game.version

    @property
    def revealed(self) -> bool:
        """True when the current question's key may be shown."""
        return self.game.phase == rules.REVEAL and self.question is not None

    def common(self, now: dt.datetime) -> dict:
        """What phones, the big screen and the host all get: phase, question, clock; the key only on reveal."""
        g = self.game
        body: dict = {"phase": g.phase, "index": g.index if g.phase in (rules.QUESTION, rules.REVEAL) else None,
                      "total": g.total, "mode": g.mode, "seconds": g.seconds,
                      "seconds_left": round(rules.seconds_left(now, g.deadline_at, g.paused_at), 1)
                      if g.phase == rules.QUESTION else 0.0,
                      "paused": g.paused_at is not None, "question": None}
        if self.question is not None and g.phase in (rules.QUESTION, rules.REVEAL):
            body["question"] = self.question.public()
        if self.revealed:
            assert self.question is not None  # nosec B101 - a revealed game has its question
            body.update(correct_choices=self.question.correct_choices, distribution=self.distribution,
                        answered=self.answered, explanation=self.question.explanation, source=self.question.source)
        if g.mode == rules.BUZZ and g.phase in (rules.QUESTION, rules.REVEAL):
            body["buzzes"] = self.buzzes
        return body


_CAMPAIGN_TITLE_SQL = "SELECT title FROM campaign WHERE id = ?"
_REVEAL_SQL = "SELECT answered, distribution, skipped FROM live_question WHERE game_id = ? AND position = ?"
_BOARD_SQL = ("SELECT p.id, p.nickname, o.code, o.name, p.score, p.time_ms, p.correct_count, p.organisation_id "
              "FROM live_player p JOIN organisation o ON o.id = p.organisation_id WHERE p.game_id = ?")
_BUZZ_LIST_SQL = ("SELECT b.seq, p.nickname, o.code, o.name, b.outcome FROM live_buzz b "
                  "JOIN live_player p ON p.id = b.player_id JOIN organisation o ON o.id = p.organisation_id "
                  "WHERE b.game_id = ? AND b.position = ? ORDER BY b.seq")


def snapshot(game_id: int, version: int | None = None) -> Snapshot:
    """The game's shared state at its current version: from this process's memory, else built and kept.

    `version` is what the caller read; a snapshot at least that new is
    returned. One thread per game builds while the others wait for it.
    """
    memory = _memory()
    cached = memory.snapshots.get(game_id)
    if cached is not None and version is not None and cached.version >= version:
        return cached
    with memory.lock:
        building = memory.building.setdefault(game_id, threading.Lock())
    with building:
        cached = memory.snapshots.get(game_id)
        if cached is not None and version is not None and cached.version >= version:
            return cached
        built = _build_snapshot(game_id)
        with memory.lock:
            if len(memory.snapshots) > 1000:  # finished games are not asked for again
                memory.snapshots.clear()
            memory.snapshots[game_id] = built
        return built


def board_rows(conn, game_id: int) -> list[dict]:
    """Every player of the game, ranked (rules.ranks), with unit code and name."""
    rows = {r[0]: r for r in conn.all(_BOARD_SQL, (game_id,))}
    standings = (rules.Standing(pid, r[4], 0, r[6], r[5]) for pid, r in rows.items())
    return [{"rank": rank, "nickname": rows[s.player_id][1], "org": rows[s.player_id][2],
             "org_name": rows[s.player_id][3], "score": s.score, "correct": s.correct,
             "player_id": s.player_id, "org_id": rows[s.player_id][7]} for rank, s in rules.ranks(standings)]


def unit_rows(board: list[dict]) -> list[dict]:
    """Unit teams ranked by their members' average score (rules.unit_ranks)."""
    names = {e["org_id"]: (e["org"], e["org_name"]) for e in board}
    return [{"rank": u.rank, "org": names[u.org_id][0], "name": names[u.org_id][1], "players": u.players,
             "average": u.average} for u in rules.unit_ranks((e["org_id"], e["score"]) for e in board)]


def _public_entry(entry: dict) -> dict:
    """A board entry without internal ids."""
    return {k: entry[k] for k in ("rank", "nickname", "org", "org_name", "score")}


def _build_snapshot(game_id: int) -> Snapshot:
    """Read everything the snapshot holds (a handful of statements, once per version and process)."""
    conn = deps.raw()
    game = _game(conn, _row(conn.one(_GAME_BY_ID_SQL, (game_id,))))
    title = conn.scalar(_CAMPAIGN_TITLE_SQL, (game.campaign_id,))
    info = question(game.id, game.index) if 0 <= game.index < game.total else None
    distribution, answered, skipped = None, 0, False
    if info is not None:
        row = _row(conn.one(_REVEAL_SQL, (game.id, game.index)))
        answered, distribution, skipped = row[0] or 0, conn.json_out(row[1]), bool(row[2])
    top: list[dict] = []
    units: list[dict] = []
    if game.phase in (rules.REVEAL, rules.FINISHED) or game.mode == rules.BUZZ:
        board = board_rows(conn, game.id)
        top = [_public_entry(e) for e in board[:TOP_SHOWN]]
        units = unit_rows(board)
    buzzes = []
    if game.mode == rules.BUZZ and info is not None:
        buzzes = [{"seq": seq, "nickname": nick, "org": code, "org_name": name, "outcome": outcome}
                  for seq, nick, code, name, outcome in conn.all(_BUZZ_LIST_SQL, (game.id, game.index))]
    return Snapshot(game, title, info, distribution, answered, skipped, top, units, buzzes)


# ---------------------------------------------------------------- views

def phone_view(pin: object, token: str | None, player: Me | None = None) -> tuple[str | None, dict]:
    """A phone's ETag and state, its own part read at the same game version as the shared part.

    A host move can commit between reading the phone's row and the snapshot:
    then the row is read again, so a reveal never shows the score from before it.
    """
    player = player or me(pin, token)
    for _ in range(4):
        snap = snapshot(player.game_id, player.version)
        if snap.version == player.version:
            return player.etag_value, phone_state(player, snap)
        player = me(pin, token)
    return None, phone_state(player, snapshot(player.game_id, player.version))  # moving fast: no ETag this time


def phone_state(player: Me, snap: Snapshot, now: dt.datetime | None = None) -> dict:
    """A phone's state: the shared part plus its score and rank, and on reveal its points for the question."""
    now = now or utcnow()
    body = snap.common(now)
    body["you"] = {"nickname": player.nickname, "org": player.org, "score": player.score, "rank": player.rank,
                   "answered": player.choices is not None or player.buzz_outcome is not None,
                   "choices": _display(snap, player.choices)}
    if snap.revealed:
        body["points"] = (player.points or 0) if snap.game.mode == rules.QUIZ else _buzz_points(player)
        body["correct"] = bool(player.correct) if snap.game.mode == rules.QUIZ else player.buzz_outcome == "right"
        body["you"]["streak"] = player.streak
    if snap.game.mode == rules.BUZZ:
        body["you"]["buzz"] = {"seq": player.buzz_seq, "outcome": player.buzz_outcome}
    if snap.game.phase == rules.FINISHED:
        body["top"] = snap.top[:3]
    body["poll_ms"] = POLL_MS
    return body


def _display(snap: Snapshot, bank_keys: list | None) -> list[str] | None:
    """The phone's answer in display keys (None when it has not answered the current question)."""
    if bank_keys is None or snap.question is None:
        return None
    return rules.to_display_keys(snap.question.option_order, bank_keys)


def _buzz_points(player: Me) -> int:
    """A team's points for the current buzz-in question."""
    return rules.buzz_points(player.buzz_outcome == "right")


_PLAYERS_BY_UNIT_SQL = ("SELECT o.code, o.name, COUNT(*) FROM live_player p JOIN organisation o "
                        "ON o.id = p.organisation_id WHERE p.game_id = ? GROUP BY o.code, o.name "
                        "ORDER BY COUNT(*) DESC, o.code")
_ANSWER_COUNT_SQL = "SELECT COUNT(*) FROM live_answer WHERE game_id = ? AND position = ?"


def screen_state(game: Game, now: dt.datetime | None = None) -> dict:
    """The big screen's state: the shared part, players per unit, answers so far, the top and the unit ranking."""
    conn = deps.raw()
    snap = snapshot(game.id, game.version)
    now = now or utcnow()
    body = snap.common(now)
    units = [{"org": code, "name": name, "players": n} for code, name, n in conn.all(_PLAYERS_BY_UNIT_SQL, (game.id,))]
    body.update(pin=snap.game.pin, title=snap.title, version=snap.version, players=sum(u["players"] for u in units),
                joined=units, poll_ms=SCREEN_POLL_MS)
    if snap.game.phase == rules.QUESTION and snap.question is not None:
        body["answered"] = (conn.scalar(_ANSWER_COUNT_SQL, (game.id, snap.game.index))
                            if snap.game.mode == rules.QUIZ else len(snap.buzzes))
    if snap.game.phase in (rules.REVEAL, rules.FINISHED) or snap.game.mode == rules.BUZZ:
        body["top"] = snap.top[: rules.TOP] if snap.game.phase == rules.REVEAL else snap.top
        body["units"] = snap.units
    if snap.skipped:
        body["skipped"] = True
    return body


def host_state(game: Game, now: dt.datetime | None = None) -> dict:
    """The host's state: the big screen's, plus the moves allowed now."""
    body = screen_state(game, now)
    g = snapshot(game.id, game.version).game
    allowed = []
    for action in rules.ACTIONS:
        try:
            rules.move(action, g.phase, g.index, g.total, g.paused_at is not None)
        except rules.IllegalMove:
            continue
        allowed.append(action)
    body["actions"] = allowed
    return body


def board(game: Game, limit: int) -> dict:
    """The game's board (every player by score, faster right answers first on ties) and its unit ranking."""
    entries = board_rows(deps.raw(), game.id)
    return {"phase": game.phase, "entries": [_public_entry(e) for e in entries[:limit]], "players": len(entries),
            "units": unit_rows(entries)}


# ---------------------------------------------------------------- personal data

PURGED = "已清除"  # as quizapp purge writes for quiz nicknames; the player's id keeps it unique in its game
_PURGE_SQL = ("UPDATE live_player SET nickname = ? || CAST(id AS VARCHAR(20)) WHERE nickname NOT LIKE ? "
              "AND game_id IN (SELECT id FROM live_game WHERE campaign_id = ?)")
_FINISH_ALL_SQL = ("UPDATE live_game SET phase = 'finished', finished_at = ?, deadline_at = NULL, paused_at = NULL, "
                   "version = version + 1 WHERE campaign_id = ? AND phase <> 'finished'")


def purge_nicknames(campaign_id: int) -> int:
    """Finish a closed campaign's live rounds and replace every nickname typed in them; returns how many."""
    conn = deps.raw()
    with conn.transaction():
        conn.run(_FINISH_ALL_SQL, (conn.time_in(utcnow()), campaign_id))
        return conn.run(_PURGE_SQL, (PURGED, PURGED + "%", campaign_id))


# ---------------------------------------------------------------- counting a finished game for the boards

_PLAYED_SQL = ("SELECT position, started_at, skipped, revealed_at FROM live_question WHERE game_id = ? "
               "ORDER BY position")
_UNCOUNTED_SQL = ("SELECT p.id, p.nickname, o.code FROM live_player p JOIN organisation o ON o.id = p.organisation_id "
                  "WHERE p.game_id = ? AND p.board_attempt_id IS NULL AND p.answered_count > 0 ORDER BY p.id")
_PLAYER_ANSWERS_SQL = ("SELECT position, choices, answered_at, elapsed_ms, correct, points, streak_bonus "
                       "FROM live_answer WHERE game_id = ? AND player_id = ?")
_COUNTED_PLAYER_SQL = "UPDATE live_player SET board_attempt_id = ? WHERE id = ?"
_COUNTED_GAME_SQL = "UPDATE live_game SET counted_at = ? WHERE id = ? AND counted_at IS NULL"


def count_for_boards(game: Game) -> int:
    """Add a finished quiz game's players to the campaign's boards (deps.count_for_boards); returns how many.

    Each player becomes a finished contest attempt of the questions revealed
    in the game, once: a player already counted is skipped, so a second run
    after an interruption finishes the job instead of counting anyone twice.
    """
    if game.phase != rules.FINISHED:
        raise Conflict(gettext("比赛结束后才能计入排行榜"), code="not_finished")
    if game.mode != rules.QUIZ:
        raise Conflict(gettext("抢答赛的成绩不计入排行榜"), code="not_quiz")
    campaign = deps.campaign_by_id(game.campaign_id)
    if campaign is None:  # a game's campaign is never deleted while it has games (foreign key)
        raise NotFound(gettext("活动不存在"), code="campaign_not_found")
    conn = deps.raw()
    played = [(pos, conn.time_of(started)) for pos, started, skipped, revealed in conn.all(_PLAYED_SQL, (game.id,))
              if started is not None and revealed is not None and not skipped]
    infos = {pos: question(game.id, pos) for pos, _ in played}
    counted = 0
    for player_id, nickname, org_code in conn.all(_UNCOUNTED_SQL, (game.id,)):
        answers = {row[0]: row for row in conn.all(_PLAYER_ANSWERS_SQL, (game.id, player_id))}
        items, streak = [], 0
        for pos, started in played:
            info, row = infos[pos], answers.get(pos)
            correct = bool(row[4]) if row else False
            streak = engine.next_streak(streak, correct)
            items.append(deps.BoardItem(
                info.question_id, info.version_id, info.option_order, started,
                conn.time_out(row[2]) if row else None, conn.json_out(row[1]) if row else None, correct,
                (row[5] or 0) if row else 0, row[3] if row else game.seconds * 1000, streak if correct else 0,
                (row[6] or 0) if row else 0))
        if not items:
            continue
        attempt_id = deps.count_for_boards(campaign, deps.BoardPlay(nickname, org_code, played[0][1], items),
                                           game.seconds, game.speed_bonus, game.streak_step, game.streak_cap)
        with conn.transaction():
            conn.run(_COUNTED_PLAYER_SQL, (attempt_id, player_id))
        counted += 1
    with conn.transaction():
        conn.run(_COUNTED_GAME_SQL, (conn.time_in(utcnow()), game.id))
    return counted
