"""Mutation check of the play loop's queries and engine.py: apply one small edit at a time, run the tests.

Each mutant below is a change a careless edit could make (a filter dropped, a
comparison off by one, a rule inverted). A mutant the tests fail on is killed;
a mutant every test passes on survives, which means no test sees that line:
a missing test or dead code. `make mutate` runs them all on SQLite and prints
the survivors; exit status 1 when any survives (unless it is listed in
ACCEPTED with the reason).

    python bench/mutate.py [--only SUBSTRING]... [--list]

Edits are applied to the working tree and always reverted (also on Ctrl+C);
run it on a clean checkout.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The tests that exercise the play loop, fastest and broadest first (pytest -x stops at the first failure).
TESTS = [
    "tests/test_engine.py", "tests/test_practice_engine.py", "tests/test_pool_paths.py", "tests/test_api.py",
    "tests/test_pages.py", "tests/test_play_sql.py", "tests/test_practice.py", "tests/test_practice_api.py",
    "tests/test_streaks.py", "tests/test_badges.py", "tests/test_anticheat.py", "tests/test_leaderboard.py",
    "tests/test_board_counts.py", "tests/test_resume.py", "tests/test_security.py", "tests/test_properties.py",
    # Last, as the slowest: real servers racing duplicate answers, first views, finishes and starts.
    "tests/test_concurrency.py",
]


@dataclass(frozen=True)
class Mutant:
    path: str
    old: str
    new: str
    what: str


MUTANTS = [
    # The pool: what may be served.
    Mutant("quizapp/quiz/pool.py", "WHERE q.retired = ? AND q.draft = ?", "WHERE q.retired = ? AND ? = ?",
           "contest pool serves drafts"),
    Mutant("quizapp/quiz/pool.py", "WHERE q.retired = ? AND q.draft = ?", "WHERE ? = ? AND q.draft = ?",
           "contest pool serves retired questions"),
    Mutant("quizapp/quiz/pool.py", "(not wanted_banks or article in wanted_banks)", "True",
           "pool ignores the campaign's banks"),
    Mutant("quizapp/quiz/pool.py", "(not wanted or wanted & set(tagged))", "True",
           "pool ignores the campaign's tags"),
    Mutant("quizapp/quiz/pool.py", 'campaign.tags or TAGS', 'TAGS', "pool tags ignore the campaign's tags"),
    Mutant("quizapp/quiz/pool.py", 'banks, tags, revision("bank"))', 'banks, tags, 0)',
           "pool cache never sees a bank change"),
    # Attempts and starts.
    Mutant("quizapp/quiz/attempts.py", "a.kind = ? AND a.finished_at IS NULL ORDER BY",
           "a.kind = ? ORDER BY", "finished attempts count as unfinished"),
    Mutant("quizapp/quiz/attempts.py", "WHERE participant_id = ? AND day = ? AND kind = ?",
           "WHERE participant_id = ? AND day = ? AND kind <> ?", "daily limit counts practice, not contests"),
    Mutant("quizapp/quiz/attempts.py", "or now >= self.expires_at or", "or", "an expired attempt stays in play"),
    Mutant("quizapp/quiz/attempts.py", "or now >= self.campaign_closes_at", "",
           "an attempt outlives its campaign's close"),
    Mutant("quizapp/quiz/attempts.py", "return hmac.compare_digest(attempt.token_hash, hash_token(token))",
           "return True", "any bearer token is accepted"),
    Mutant("quizapp/quiz/attempts.py", "(SELECT MAX(id) FROM attempt", "(SELECT MIN(id) FROM attempt",
           "the draw avoids the first attempt, not the latest"),
    Mutant("quizapp/quiz/start.py", ">= campaign.attempts_per_day:", "> campaign.attempts_per_day:",
           "one attempt a day more than allowed"),
    Mutant("quizapp/quiz/start.py", "    if not campaign.is_open(now):\n", "    if False:\n",
           "starts outside the campaign window"),
    Mutant("quizapp/quiz/start.py", "if resume_open and in_play:", "if in_play:",
           "the API resumes instead of finishing the attempt in play"),
    Mutant("quizapp/quiz/start.py", "closed = [a.id for a in unfinished if finalize_in(conn, a.id, now)]",
           "closed: list[int] = []", "a new start leaves the previous attempt unfinished"),
    Mutant("quizapp/quiz/start.py", "players.lock(conn, player.id)\n    unfinished", "unfinished",
           "starts do not lock the participant"),
    # Serving and answering.
    Mutant("quizapp/quiz/play.py", "SET served_at = ? WHERE id = ? AND served_at IS NULL",
           "SET served_at = ? WHERE id = ?", "a reload restarts the question's clock"),
    Mutant("quizapp/quiz/play.py", "WHERE id = ? AND answered_at IS NULL\")", "WHERE id = ?\")",
           "a second answer overwrites the first"),
    Mutant("quizapp/quiz/play.py", "    if not keys and elapsed <= limit:", "    if not keys and elapsed < 0:",
           "an empty answer is accepted in time"),
    Mutant("quizapp/quiz/play.py", "int(min(max(elapsed, 0.0), limit) * 1000)", "int(elapsed * 1000)",
           "answer time not capped at the limit"),
    Mutant("quizapp/quiz/play.py", "    if len(set(keys)) != len(keys):", "    if False:",
           "the same option twice is accepted"),
    Mutant("quizapp/quiz/play.py", 'in ("single", "judge") and len(keys) > 1', 'in ("single",) and len(keys) > 1',
           "several answers to a true/false question"),
    Mutant("quizapp/quiz/play.py", "item.position == attempt.total - 1:", "item.position == attempt.total:",
           "the last answer does not finish the attempt"),
    Mutant("quizapp/quiz/play.py", "correct_count = correct_count + ?", "correct_count = correct_count + 0 * ?",
           "right answers are not counted"),
    Mutant("quizapp/quiz/play.py", "WHERE id = ? AND finished_at IS NULL RETURNING", "WHERE id = ? RETURNING",
           "an answer is added to a finished attempt's totals"),
    Mutant("quizapp/quiz/play.py", "if to_display_keys(item, item.choices or []) != keys:", "if False:",
           "a different resend is replayed instead of refused"),
    # Finishing.
    Mutant("quizapp/quiz/finish.py", "SET finished_at = ? WHERE id = ? AND finished_at IS NULL",
           "SET finished_at = ? WHERE id = ?", "an attempt is finished (and counted) twice"),
    Mutant("quizapp/quiz/finish.py", "    if kind != CONTEST:  # practice", "    if False:  # practice",
           "practice counts for boards and badges"),
    Mutant("quizapp/quiz/finish.py", "improved = engine.is_better(result, best)", "improved = True",
           "a worse attempt replaces the best"),
    Mutant("quizapp/quiz/finish.py", "if people >= SHARED_DEVICE_PEOPLE:", "if people > SHARED_DEVICE_PEOPLE:",
           "shared-device flag one person late"),
    Mutant("quizapp/quiz/finish.py", "AND participant_id <> ? AND kind = ?", "AND participant_id = ? AND kind = ?",
           "identical timing compared with oneself"),
    Mutant("quizapp/quiz/finish.py", "    if not answered:\n        return []", "    if False:\n        return []",
           "an attempt without answers earns badges"),
    # Participants.
    Mutant("quizapp/quiz/players.py", "member_id.strip().upper()", "member_id.strip()",
           "member numbers are case-sensitive"),
    Mutant("quizapp/quiz/players.py", "if player.nickname != newcomer.nickname:", "if False:",
           "a returning player's new nickname is ignored"),
    Mutant("quizapp/quiz/players.py", "if len(nickname) > NICKNAME_MAX:", "if len(nickname) > NICKNAME_MAX + 5:",
           "long nicknames accepted"),
    Mutant("quizapp/quiz/players.py", "(campaign_id is not None and row[1] != campaign_id)", "False",
           "a participant of another campaign is accepted"),
    # Practice.
    Mutant("quizapp/practice/start.py", "existing = attempts.daily(player.id, day)", "existing = None",
           "a second daily set the same day"),
    Mutant("quizapp/engine.py", "picked = list(dict.fromkeys(question_ids))[:max(n, 0)]",
           "picked = list(dict.fromkeys(question_ids))", "a retry serves more than ten questions"),
    Mutant("quizapp/practice/queries.py", "a.total > 0 AND NOT EXISTS", "a.total > 0 AND EXISTS",
           "check-in counts unfinished sets"),
    Mutant("quizapp/practice/queries.py", "{e.question_id: e for e in pool(campaign)}",
           "{e.question_id: e for e in pool(campaign) if e.question_id}", "(equivalent: control mutant)"),
    # Boards.
    Mutant("quizapp/boards/leaderboard.py", "WHERE campaign_id = ? AND organisation_id = ? AND score > ?)",
           "WHERE campaign_id = ? AND organisation_id = ? AND score >= ?)", "ranks count equal scores as above"),
    Mutant("quizapp/boards/leaderboard.py", "for result, sign in ((old, -1), (new, 1)):",
           "for result, sign in ((old, 1), (new, 1)):", "the old best is not taken out of the counts"),
    # engine.py
    Mutant("quizapp/engine.py", "fresh = [c for c in ordered if c.id not in avoid_set]", "fresh = list(ordered)",
           "the draw repeats the previous attempt"),
    Mutant("quizapp/engine.py", "if elapsed_s > limit_s or", "if elapsed_s > limit_s + 5 or",
           "late answers score"),
    Mutant("quizapp/engine.py", "set(chosen) != set(answer)", "not set(chosen) <= set(answer)",
           "partial answers to multiple choice score"),
    Mutant("quizapp/engine.py", "bonus = round(MAX_SPEED_BONUS * left)", "bonus = MAX_SPEED_BONUS",
           "speed bonus ignores speed"),
    Mutant("quizapp/engine.py", "return min(step * (streak - 1), cap)", "return step * (streak - 1)",
           "streak bonus is not capped"),
    # (streak < 1 would be equivalent: at a streak of 1 the bonus is step * 0 = 0 either way.)
    Mutant("quizapp/engine.py", "    if streak < 2 or step <= 0 or cap <= 0:", "    if streak < 3 or step <= 0 or cap <= 0:",
           "the second right answer in a row earns no streak bonus"),
    Mutant("quizapp/engine.py", "if not speed_bonus or step <= 0 or cap <= 0:", "if step <= 0 or cap <= 0:",
           "accuracy-only campaigns get streak bonuses"),
    Mutant("quizapp/engine.py", "return (-r.score, r.duration_ms, r.finished_at)", "return (-r.score, r.finished_at)",
           "ties ignore the answer time"),
    Mutant("quizapp/engine.py", "ranked.append((ranked[-1][0], r))", "ranked.append((i + 1, r))",
           "equal results do not share a rank"),
    Mutant("quizapp/engine.py", "if ok and ms < FAST_ANSWER_MS)", "if ms < FAST_ANSWER_MS)",
           "wrong fast answers count as cheating"),
    Mutant("quizapp/engine.py", "day = today if today in done else today - dt.timedelta(days=1)", "day = today",
           "a streak ending yesterday is lost before today's set"),
    Mutant("quizapp/engine.py", "book = [Mistake(latest[q], n) for q, n in wrong.items() if not latest[q].correct]",
           "book = [Mistake(latest[q], n) for q, n in wrong.items()]", "mastered questions stay in the book"),
    Mutant("quizapp/engine.py", "return nickname[0] + \"*\" * min(len(nickname) - 1, 3)", "return nickname",
           "masked nicknames are shown whole"),
    Mutant("quizapp/engine.py", "return min(1.0, participants / headcount) if headcount > 0 else 0.0",
           "return min(1.0, participants / max(headcount, 1))", "coverage of a unit without headcount"),
    Mutant("quizapp/engine.py", "return min(1.0, participants / headcount) if headcount > 0 else 0.0",
           "return participants / headcount if headcount > 0 else 0.0", "coverage above 100%"),
]

# Survivors reviewed and accepted, by description: why no test can or should see them.
ACCEPTED = {
    "starts do not lock the participant": "the check runs on SQLite, where BEGIN IMMEDIATE already serialises the "
                                          "starts; the row lock matters only on PostgreSQL (not measured there)",
    "a second daily set the same day": "the same lookup runs again under the participant's lock before the insert "
                                       "and comes back to the set; the first one only spares drawing a set",
    "finished attempts count as unfinished": "the filter keeps a long history out of every start; PlayAttempt.over() "
                                             "and the finish's conditional claim both check finished_at again",
    "an attempt without answers earns badges": "every fact the badge rules read counts only answered attempts "
                                               "(finished attempts with an answer, right tags, days), so the early "
                                               "return only saves the queries",
    "(equivalent: control mutant)": "question ids are never empty: this edit changes nothing, which checks that "
                                    "the script reports survivors",
}


def run_tests(env: dict[str, str]) -> tuple[bool, float]:
    """Run the play-loop tests, stopping at the first failure; (passed, seconds)."""
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *TESTS],
                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc.returncode == 0, time.monotonic() - started


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", action="append", help="run the mutants whose file or description contains this "
                                                    "(repeat it for several)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args()
    chosen = [m for m in MUTANTS if not args.only or any(o in m.path or o in m.what for o in args.only)]
    for m in chosen:  # every edit must apply to exactly one place, or the list has gone stale
        count = (ROOT / m.path).read_text().count(m.old)
        if count != 1:
            print(f"stale mutant ({count} matches): {m.path}: {m.what}")
            return 2
    if args.list:
        for m in chosen:
            print(f"{m.path}: {m.what}")
        return 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
    passed, seconds = run_tests(env)
    if not passed:
        print("the tests fail without any mutant: fix them first")
        return 2
    print(f"baseline: tests pass in {seconds:.0f} s; {len(chosen)} mutants")
    survivors = []
    for n, m in enumerate(chosen, 1):
        path = ROOT / m.path
        original = path.read_text()
        try:
            path.write_text(original.replace(m.old, m.new, 1))
            passed, seconds = run_tests(env)
        finally:
            path.write_text(original)
        verdict = "SURVIVED" if passed else "killed"
        print(f"[{n:2d}/{len(chosen)}] {verdict:8s} {seconds:5.0f} s  {m.path}: {m.what}", flush=True)
        if passed:
            survivors.append(m)
    unexplained = [m for m in survivors if m.what not in ACCEPTED]
    print(f"\n{len(chosen)} mutants, {len(chosen) - len(survivors)} killed, {len(survivors)} survived "
          f"({len(survivors) - len(unexplained)} accepted)")
    for m in survivors:
        print(f"  survived: {m.path}: {m.what}" + (f"  [accepted: {ACCEPTED[m.what]}]" if m in survivors
                                                     and m.what in ACCEPTED else ""))
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
