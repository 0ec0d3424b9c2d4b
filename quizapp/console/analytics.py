"""Read-only campaign analytics for the organiser console: participation, coverage, questions, tags, funnel.

Every function takes the campaign and an optional ``org_id``. With ``org_id``
(a unit organiser) every figure is restricted to that unit's participants and
their attempts; without it the whole campaign is counted. Counting happens in
SQL with a fixed number of queries per call, never one per participant.

"Participants" means people with at least one finished attempt (those with a
best attempt), as on the unit board; "joined" means everyone who registered.
Days are China-local dates (UTC+8), as in clock.china_day.

Only contest attempts are counted: daily practice and wrong-answer review
(Attempt.kind) would skew the figures (a review replays questions people got
wrong), so they never appear in the dashboard, the exports or the funnel.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Date, Row, String, case, cast, func, select

from quizapp import clock, engine
from quizapp.bank import OPTION_KEYS, tag_label
from quizapp.extensions import db
from quizapp.models import (
    CONTEST,
    Article,
    Attempt,
    AttemptItem,
    Campaign,
    Organisation,
    Participant,
    Placement,
    Question,
    QuestionVersion,
    Scan,
)

DIRECT_LABEL = "直接访问/来源未知"
UNIT_LINK_LABEL = "单位海报/链接"
WRONG_ANSWERS_SHOWN = 3


# ---------------------------------------------------------------- helpers

def _local_date(column):
    """SQL expression for the China-local date of a naive-UTC timestamp column."""
    if db.engine.dialect.name == "sqlite":
        return func.date(column, "+8 hours")
    return cast(column + clock.CHINA_OFFSET, Date)


def _iso_day(value) -> str:
    """A day from SQL (SQLite gives 'YYYY-MM-DD' text, others a date) as ISO text."""
    return value if isinstance(value, str) else value.isoformat()


def _count_true(condition):
    """SQL: how many rows satisfy condition (portable: no boolean sum)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _scoped_items(campaign: Campaign, org_id: int | None, *columns):
    """select(columns) over the campaign's contest attempt items, joined to their attempt, restricted to org_id."""
    query = (select(*columns).select_from(AttemptItem)
             .join(Attempt, Attempt.id == AttemptItem.attempt_id)
             .where(Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST))
    if org_id is not None:
        query = query.where(Attempt.organisation_id == org_id)
    return query


def _version_counts(campaign: Campaign, org_id: int | None) -> Sequence[Row[Any]]:
    """Per question version shown in the campaign: (version id, served, answered, correct).

    Versions drawn into attempts but never shown to anyone are left out.
    """
    query = _scoped_items(
        campaign, org_id, AttemptItem.question_version_id,
        func.count(AttemptItem.served_at).label("served"),
        func.count(AttemptItem.answered_at).label("answered"),
        _count_true(AttemptItem.correct.is_(True)).label("correct"),
    ).group_by(AttemptItem.question_version_id).having(func.count(AttemptItem.served_at) > 0)
    return db.session.execute(query).all()


def option_text(options: list[str], keys) -> str:
    """Bank option keys (e.g. ["A", "C"]) as the option texts they stand for, joined with " + "."""
    texts = []
    for key in keys:
        index = OPTION_KEYS.find(key) if isinstance(key, str) and len(key) == 1 else -1
        texts.append(options[index] if 0 <= index < len(options) else str(key))
    return " + ".join(texts)


# ---------------------------------------------------------------- participation

def participation_over_time(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Per China-local day: new participants (joined) and finished attempts (completed).

    Days run continuously from the first to the last day with any activity,
    days without activity filled with zeros; an empty list when nothing happened.
    """
    joined_day = _local_date(Participant.created_at)
    joined_q = (select(joined_day, func.count(Participant.id))
                .where(Participant.campaign_id == campaign.id).group_by(joined_day))
    if org_id is not None:
        joined_q = joined_q.where(Participant.organisation_id == org_id)
    done_day = _local_date(Attempt.finished_at)
    done_q = (select(done_day, func.count(Attempt.id))
              .where(Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST, Attempt.finished_at.is_not(None))
              .group_by(done_day))
    if org_id is not None:
        done_q = done_q.where(Attempt.organisation_id == org_id)
    joined = {_iso_day(d): n for d, n in db.session.execute(joined_q).all()}
    completed = {_iso_day(d): n for d, n in db.session.execute(done_q).all()}
    days = sorted(set(joined) | set(completed))
    if not days:
        return []
    first, last = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    out = []
    for i in range((last - first).days + 1):
        day = (first + dt.timedelta(days=i)).isoformat()
        out.append({"day": day, "joined": joined.get(day, 0), "completed": completed.get(day, 0)})
    return out


def coverage_by_unit(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Per unit: participants (people with a finished attempt), headcount and coverage = participants / headcount.

    Coverage is 0 when the headcount is 0 (unknown). Sorted by coverage, then
    participants, highest first, then by code.
    """
    finished = (select(Participant.organisation_id, func.count(Participant.id).label("n"))
                .where(Participant.campaign_id == campaign.id, Participant.best_attempt_id.is_not(None))
                .group_by(Participant.organisation_id).subquery())
    query = (select(Organisation.code, Organisation.name, Organisation.kind, Organisation.headcount, finished.c.n)
             .outerjoin(finished, finished.c.organisation_id == Organisation.id)
             .where(Organisation.campaign_id == campaign.id))
    if org_id is not None:
        query = query.where(Organisation.id == org_id)
    rows = [{"code": code, "name": name, "kind": kind, "participants": n or 0, "headcount": headcount,
             "coverage": engine.coverage(n or 0, headcount)}
            for code, name, kind, headcount, n in db.session.execute(query).all()]
    rows.sort(key=lambda r: (-r["coverage"], -r["participants"], r["code"]))
    return rows


def coverage_over_time(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Per China-local day: people who finished their first quiz that day (new), the running total of
    participants and the coverage it makes against the headcount of the units in scope.

    Participants and headcount are those of coverage_by_unit, so the last running
    total is summary()'s participants. Days run continuously from the first to
    the last day anyone finished a first quiz; an empty list when nobody has.
    """
    first = (select(func.min(Attempt.finished_at).label("at"))
             .join(Participant, Participant.id == Attempt.participant_id)
             .where(Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST, Attempt.finished_at.is_not(None),
                    Participant.best_attempt_id.is_not(None))
             .group_by(Attempt.participant_id))
    if org_id is not None:
        first = first.where(Participant.organisation_id == org_id)
    firsts = first.subquery()
    day = _local_date(firsts.c.at)
    new = {_iso_day(d): n for d, n in db.session.execute(select(day, func.count()).group_by(day)).all()}
    if not new:
        return []
    headcount = sum(row["headcount"] for row in coverage_by_unit(campaign, org_id))
    days = sorted(new)
    first_day, last_day = dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[-1])
    out, total = [], 0
    for i in range((last_day - first_day).days + 1):
        key = (first_day + dt.timedelta(days=i)).isoformat()
        total += new.get(key, 0)
        out.append({"day": key, "new": new.get(key, 0), "participants": total, "headcount": headcount,
                    "coverage": engine.coverage(total, headcount)})
    return out


# ---------------------------------------------------------------- questions and tags

def question_stats(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Per question version shown: how often served, answered and answered right, and the usual wrong answers.

    served counts items shown to a player; answered counts items with an answer
    recorded, including time-outs (an empty answer after the limit), which
    count as not correct. facility = correct / answered (None when unanswered).
    answer_keys and answer_text are the right answer, explanation the version's
    explanation (a class meeting goes through the hardest ones). wrong_answers
    lists the option sets most often chosen among wrong answers
    (top 3, as option texts; time-outs and late right answers are not wrong
    choices and are left out). An edited question is a new version and gets its
    own row. Sorted hardest first (lowest facility; unanswered last).
    """
    counts = _version_counts(campaign, org_id)
    if not counts:
        return []
    ids = [row.question_version_id for row in counts]
    versions = {v.id: (v, title) for v, title in db.session.execute(
        select(QuestionVersion, Article.title)
        .join(Question, Question.id == QuestionVersion.question_id)
        .join(Article, Article.id == Question.article_id)
        .where(QuestionVersion.id.in_(ids))).all()}
    wrong_rows = db.session.execute(_scoped_items(
        campaign, org_id, AttemptItem.question_version_id, AttemptItem.choices,
    ).where(AttemptItem.answered_at.is_not(None), AttemptItem.correct.is_(False))).all()
    wrong: dict[int, Counter] = defaultdict(Counter)
    for version_id, choices in wrong_rows:
        version = versions[version_id][0]
        keys = tuple(sorted(choices or ()))
        if keys and set(keys) != set(version.answer):
            wrong[version_id][keys] += 1
    out = []
    for row in counts:
        version, title = versions[row.question_version_id]
        top = sorted(wrong[version.id].items(), key=lambda kv: (-kv[1], kv[0]))[:WRONG_ANSWERS_SHOWN]
        out.append({
            "question_id": version.question_id, "version": version.version, "stem": version.stem,
            "type": version.type, "tags": list(version.tags), "article_title": title,
            "answer_keys": "".join(version.answer), "answer_text": option_text(version.options, version.answer),
            "explanation": version.explanation,
            "served": row.served, "answered": row.answered, "correct": int(row.correct),
            "facility": _rate(int(row.correct), row.answered),
            "wrong_answers": [{"text": option_text(version.options, keys), "keys": "".join(keys), "count": n}
                              for keys, n in top],
        })
    out.sort(key=lambda r: (r["facility"] is None, r["facility"] or 0.0, -r["answered"], r["question_id"],
                            r["version"]))
    return out


def tag_stats(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Per scam-type tag of the questions answered: answered, correct and rate = correct / answered.

    A question with several tags counts for each. Only tags with answers are
    listed, sorted by rate ascending: the least recognised scam types first.
    """
    counts = _version_counts(campaign, org_id)
    if not counts:
        return []
    tags_of: dict[int, list[str]]
    tags_of = dict(db.session.execute(select(QuestionVersion.id, QuestionVersion.tags)
                                      .where(QuestionVersion.id.in_([r.question_version_id for r in counts]))).all())
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row in counts:
        for tag in dict.fromkeys(tags_of.get(row.question_version_id) or ()):
            totals[tag][0] += row.answered
            totals[tag][1] += int(row.correct)
    out: list[dict[str, Any]]
    out = [{"tag": tag, "label": tag_label(tag), "answered": answered, "correct": correct,
            "rate": correct / answered}
           for tag, (answered, correct) in totals.items() if answered]
    out.sort(key=lambda r: (r["rate"], -r["answered"], r["tag"]))
    return out


# ---------------------------------------------------------------- attribution and totals

def placement_funnel(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Per placement: QR scans, people who joined from it and finished attempts started from it.

    One row per placement (by code); then a row per unit whose own link
    (`?org=` without a placement: a unit's poster) was scanned (kind "unit":
    scans only, since whoever joins from it has no placement to follow);
    then a row for direct or unknown visits (placement None, code None, kind
    "direct"), whose joins and finishes include the unit links'. With org_id,
    scans count only when the link named that unit, since a scan has no
    participant yet.
    """
    def grouped(column, count_column, *where):
        query = select(column, func.count(count_column)).where(*where).group_by(column)
        return {key: n for key, n in db.session.execute(query).all()}

    scan_where = [Scan.campaign_id == campaign.id]
    join_where = [Participant.campaign_id == campaign.id]
    done_where = [Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST, Attempt.finished_at.is_not(None)]
    if org_id is not None:
        scan_where.append(Scan.organisation_id == org_id)
        join_where.append(Participant.organisation_id == org_id)
        done_where.append(Attempt.organisation_id == org_id)
    scan_rows = db.session.execute(
        select(Scan.placement_id, Organisation.code, Organisation.name, func.count(Scan.id))
        .outerjoin(Organisation, Organisation.id == Scan.organisation_id).where(*scan_where)
        .group_by(Scan.placement_id, Organisation.code, Organisation.name)).all()
    scans: dict[int | None, int] = {}
    unit_links = []  # (code, name, scans) of a unit's own link: no placement
    for place, code, name, n in scan_rows:
        scans[place] = scans.get(place, 0) + n
        if place is None and code is not None:
            unit_links.append((code, name, n))
    unit_links.sort()
    joins = grouped(Participant.placement_id, Participant.id, *join_where)
    done = grouped(Attempt.placement_id, Attempt.id, *done_where)
    placements = db.session.execute(select(Placement.id, Placement.code, Placement.label, Placement.kind)
                                    .where(Placement.campaign_id == campaign.id).order_by(Placement.code)).all()
    rows = [{"code": code, "label": label, "kind": kind, "scans": scans.get(pid, 0), "joins": joins.get(pid, 0),
             "completed": done.get(pid, 0)} for pid, code, label, kind in placements]
    rows += [{"code": code, "label": f"{UNIT_LINK_LABEL}：{name}", "kind": "unit", "scans": n, "joins": None,
              "completed": None} for code, name, n in unit_links]
    rows.append({"code": None, "label": DIRECT_LABEL, "kind": "direct",
                 "scans": scans.get(None, 0) - sum(n for _c, _n, n in unit_links),
                 "joins": joins.get(None, 0), "completed": done.get(None, 0)})
    return rows


def flagged_attempts(campaign: Campaign, org_id: int | None = None) -> list[dict]:
    """Finished contest attempts the anti-cheat checks flagged (quiz/finish.py), latest first.

    Keys: nickname, org_code, org_name, finished_at (China time text), score and
    flags (codes; prizes.draws.FLAG_LABELS words them). A flagged best attempt
    wins no prize.
    """
    flags_text = func.coalesce(cast(Attempt.flags, String), "[]")
    query = (select(Participant.nickname, Organisation.code, Organisation.name, Attempt.finished_at, Attempt.score,
                    Attempt.flags)
             .join(Participant, Participant.id == Attempt.participant_id)
             .join(Organisation, Organisation.id == Participant.organisation_id)
             .where(Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST, Attempt.finished_at.is_not(None),
                    flags_text.not_in(["[]", "null", ""]))
             .order_by(Attempt.finished_at.desc(), Attempt.id.desc()))
    if org_id is not None:
        query = query.where(Participant.organisation_id == org_id)
    return [{"nickname": nickname, "org_code": code, "org_name": name,
             "finished_at": clock.format_china(finished, "%Y-%m-%d %H:%M"), "score": score, "flags": list(flags or [])}
            for nickname, code, name, finished, score, flags in db.session.execute(query).all() if flags]


def summary(campaign: Campaign, org_id: int | None = None) -> dict:
    """Headline figures.

    participants: people with a finished attempt; joined: everyone registered;
    attempts: attempts started; completed: attempts finished; avg_best_score:
    mean of participants' best scores (0.0 when none); answers: answers
    recorded (time-outs included); correct_rate: correct / answers (0.0 when none).
    """
    people = select(func.count(Participant.id), func.count(Participant.best_attempt_id),
                    func.avg(Participant.best_score)).where(Participant.campaign_id == campaign.id)
    tries = select(func.count(Attempt.id), func.count(Attempt.finished_at)).where(
        Attempt.campaign_id == campaign.id, Attempt.kind == CONTEST)
    if org_id is not None:
        people = people.where(Participant.organisation_id == org_id)
        tries = tries.where(Attempt.organisation_id == org_id)
    joined, participants, avg = db.session.execute(people).one()
    attempts, completed = db.session.execute(tries).one()
    answers, correct = db.session.execute(_scoped_items(
        campaign, org_id, func.count(AttemptItem.answered_at), _count_true(AttemptItem.correct.is_(True)))).one()
    return {
        "participants": participants, "joined": joined, "attempts": attempts, "completed": completed,
        "avg_best_score": round(float(avg), 1) if avg is not None else 0.0,
        "answers": answers, "correct_rate": int(correct) / answers if answers else 0.0,
    }
