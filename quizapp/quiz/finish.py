"""Finishing an attempt once: anti-cheat flags, the participant's best and the board counts, badges.

finalize runs when the last question is answered, when an expired attempt
is next touched, and for attempts in play that a new start closes. Practice
attempts are closed and nothing else: they never count.
"""

from __future__ import annotations

import datetime as dt

from quizapp import engine
from quizapp.boards import leaderboard
from quizapp.clock import china_date
from quizapp.database import RawConnection, Row, raw
from quizapp.models import CONTEST
from quizapp.quiz import badges, campaigns, players
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.pool import pool_tags

SHARED_DEVICE_PEOPLE = 3

_CLAIM_SQL = "UPDATE attempt SET finished_at = ? WHERE id = ? AND finished_at IS NULL"
_FINISHED_SQL = "SELECT finished_at, score, correct_count, duration_ms, flags FROM attempt WHERE id = ?"
_FINISHING_SQL = ("SELECT campaign_id, participant_id, score, duration_ms, correct_count, total, device_hash, kind "
                  "FROM attempt WHERE id = ?")
_ANSWERS_SQL = ("SELECT elapsed_ms, correct FROM attempt_item WHERE attempt_id = ? AND answered_at IS NOT NULL "
                "ORDER BY position")
_SET_BEST_SQL = ("UPDATE participant SET best_attempt_id = ?, best_score = ?, best_duration_ms = ?, "
                 "best_finished_at = ? WHERE id = ?")


def finalize(attempt: PlayAttempt, now: dt.datetime) -> None:
    """Close the attempt once (all answered, expired or campaign closed), update the participant's best and
    award the badges it earns; the caller's object gets the final row."""
    if attempt.finished_at is not None:
        return
    conn = raw()
    with conn.transaction():
        finalize_in(conn, attempt.id, now)
        state = conn.one(_FINISHED_SQL, (attempt.id,))
    assert state is not None  # nosec B101 - the attempt exists
    # Another request's last answer may have landed after the caller loaded the attempt: give it the final row.
    attempt.finished_at, attempt.score, attempt.correct_count, attempt.duration_ms = (
        conn.time_out(state[0]), state[1], state[2], state[3])
    attempt.flags = conn.json_out(state[4]) or []
    if attempt.is_contest:  # practice changes no board
        leaderboard.invalidate_campaign(attempt.campaign_id)


def finalize_in(conn: RawConnection, attempt_id: int, now: dt.datetime) -> bool:
    """finalize's work inside the caller's write transaction; False when another request finished it first.

    The caller invalidates the boards after committing.
    """
    if conn.run(_CLAIM_SQL, (conn.time_in(now), attempt_id)) != 1:
        return False
    row = conn.one(_FINISHING_SQL, (attempt_id,))
    assert row is not None  # nosec B101 - claimed just now
    campaign_id, pid, score, duration_ms, correct_count, total, device, kind = row
    if kind != CONTEST:  # practice: no anti-cheat flags, best score or badges
        return True
    answers = conn.all(_ANSWERS_SQL, (attempt_id,))
    _flag_suspicious(conn, attempt_id, campaign_id, pid, device, answers)
    players.lock(conn, pid)
    before = players.find(pid)
    assert before is not None  # nosec B101 - the attempt's participant
    result = engine.Result(score, duration_ms, now, attempt_id)
    best = (engine.Result(before.best_score, before.best_duration_ms, before.best_finished_at, before.best_attempt_id)
            if before.best_attempt_id is not None and before.best_score is not None
            and before.best_duration_ms is not None and before.best_finished_at is not None else None)
    improved = engine.is_better(result, best)
    player = before
    if improved:
        conn.run(_SET_BEST_SQL, (attempt_id, score, duration_ms, conn.time_in(now), pid))
        player = players.find(pid) or before
    _award_badges(conn, campaigns.get(campaign_id), player, attempt_id, len(answers), correct_count, total, now)
    if improved:  # last, so the shared count rows stay locked only until the commit
        leaderboard.record_best(conn, player, best, result)
    return True


def _award_badges(conn: RawConnection, campaign: campaigns.CampaignRules, player: players.Player, attempt_id: int,
                  answered: int, correct_count: int, total: int, now: dt.datetime) -> list[str]:
    """Award the badges a finishing contest attempt earns (rules in quizapp/quiz/badges.py); returns the new codes.

    Runs in finalize's transaction with the participant's row locked, so the
    check for badges already held and the insert cannot race. Attempts without
    a single answer earn nothing.
    """
    if not answered:
        return []
    held = set(badges.held_badges(player.id))
    if held >= set(badges.BADGES):
        return []
    finished = conn.all(
        "SELECT a.finished_at, a.expires_at FROM attempt a WHERE a.participant_id = ? AND a.kind = ? "
        "AND a.finished_at IS NOT NULL "
        "AND EXISTS (SELECT 1 FROM attempt_item i WHERE i.attempt_id = a.id AND i.answered_at IS NOT NULL)",
        (player.id, CONTEST))
    # An attempt that ran out of time counts on the day it expired, even when it is closed later.
    days = tuple(china_date(min(conn.time_of(f), conn.time_of(e))) for f, e in finished)
    right_tags: set[str] = set()
    wanted_tags: set[str] = set()
    if "all_types" not in held:
        for (tags,) in conn.all(
                "SELECT v.tags FROM attempt_item i JOIN question_version v ON v.id = i.question_version_id "
                "JOIN attempt a ON a.id = i.attempt_id WHERE a.participant_id = ? AND a.kind = ? AND i.correct = ?",
                (player.id, CONTEST, True)):
            right_tags.update(conn.json_out(tags) or [])
        wanted_tags = pool_tags(campaign)
    rank = None
    if "first_in_unit" not in held:
        rank = leaderboard.participant_rank(player, within_org=True)
    facts = badges.Facts(finished_attempts=len(finished), correct_count=correct_count, total=total,
                         right_tags=frozenset(right_tags), pool_tags=frozenset(wanted_tags), days=days,
                         rank_in_unit=rank, best_score=player.best_score)
    new = badges.new_badges(facts, held)
    if new:
        conn.many("INSERT INTO participant_badge (participant_id, code, awarded_at, attempt_id) VALUES (?, ?, ?, ?)",
                  [(player.id, code, conn.time_in(now), attempt_id) for code in new])
    return new


def _flag_suspicious(conn: RawConnection, attempt_id: int, campaign_id: int, participant_id: int,
                     device_hash: str | None, answers: list[Row]) -> None:
    """Set anti-cheat flags on a finishing attempt (and on its look-alikes) inside finalize's transaction.

    too_fast comes from the engine; identical_timing marks attempts by
    different people with the same answer-time pattern; shared_device marks
    attempts from a device that has played under several names.
    """
    elapsed = [ms for ms, _ in answers]
    flags = engine.suspicion_flags(elapsed, [bool(c) for _, c in answers])
    signature = engine.timing_signature(elapsed)
    if signature:
        twins = conn.all("SELECT id, flags FROM attempt WHERE campaign_id = ? AND timing_signature = ? "
                         "AND participant_id <> ? AND kind = ?", (campaign_id, signature, participant_id, CONTEST))
        if twins:
            flags.append("identical_timing")
        for twin_id, twin_flags in twins:
            twin_flags = conn.json_out(twin_flags) or []
            if "identical_timing" not in twin_flags:
                conn.run("UPDATE attempt SET flags = ? WHERE id = ?",
                         (conn.json_in([*twin_flags, "identical_timing"]), twin_id))
    if device_hash:
        people = conn.scalar("SELECT COUNT(DISTINCT participant_id) FROM attempt WHERE campaign_id = ? "
                             "AND device_hash = ? AND kind = ?", (campaign_id, device_hash, CONTEST))
        if people >= SHARED_DEVICE_PEOPLE:
            flags.append("shared_device")
    conn.run("UPDATE attempt SET timing_signature = ?, flags = ? WHERE id = ?",
             (signature, conn.json_in(sorted(set(flags))), attempt_id))
