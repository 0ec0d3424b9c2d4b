"""Prize draws and claims: create a draw (publishing the seed's commitment), run it, claim a prize, read and export.

The draw itself is the pure function draw.draw_winners; this module decides
who is eligible, freezes that list, stores the outcome and reveals the seed.

Eligibility, set per draw by an administrator: a finished quiz whose best
score is at least ``min_score``; optionally one unit only; never when the
best attempt carries an anti-cheat flag (flagged attempts win no prizes);
and one prize per person whatever the tiers (the draw removes each winner).

Entrants are published pseudonymously: an entry code (a keyed hash of the
draw and participant ids, so it says nothing across draws), the masked
nickname and the unit. Winners give a mainland mobile number only when they
claim, on their own device; it is masked everywhere but the administrator's
winners export.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from flask import current_app
from flask_babel import force_locale, gettext, lazy_gettext, pgettext
from sqlalchemy import CursorResult, select, update

from quizapp import engine
from quizapp.clock import china_iso
from quizapp.console import exports
from quizapp.console.organising import FieldErrors
from quizapp.database import writing
from quizapp.errors import Conflict, Invalid, NotFound
from quizapp.extensions import db
from quizapp.models import Attempt, Campaign, DrawWinner, Organisation, Participant, PrizeDraw, utcnow
from quizapp.prizes import lottery as rules
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.players import Player
from quizapp.textsafe import forbidden_character

TITLE_MAX = 100
MIN_SCORE_MAX = 100_000
ENTRY_CHARS = 16
CLAIM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CLAIM_CODE_CHARS = 8
PHONE_RE = re.compile(r"^1[3-9][0-9]{9}$")
DOCUMENT_FORMAT = "quizapp-prize-draw/1"
FLAG_LABELS = {"too_fast": lazy_gettext("答题速度快于常人"), "identical_timing": lazy_gettext("与他人答题节奏完全相同"),
               "shared_device": lazy_gettext("同一设备多人答题")}


# ---------------------------------------------------------------- creating

@dataclass
class DrawInput:
    """A draw's rules as typed in the console; tiers as text (``一等奖 1`` per line or ``一等奖:1,二等奖:3``)."""

    title: str
    min_score: int | None = 0
    org_code: str = ""
    tiers: str = ""


def _validate(campaign: Campaign, data: DrawInput) -> tuple[dict[str, list[str]], Organisation | None, list]:
    errors: dict[str, list[str]] = {}
    title = (data.title or "").strip()
    if not title:
        errors.setdefault("title", []).append("请填写抽奖名称")
    elif len(title) > TITLE_MAX:
        errors.setdefault("title", []).append(f"抽奖名称不能超过 {TITLE_MAX} 个字")
    elif (hidden := forbidden_character(title)) is not None:
        errors.setdefault("title", []).append(f"抽奖名称含有不可见的控制字符或换行（{hidden}），请删除后再保存")
    if data.min_score is None:
        errors.setdefault("min_score", []).append("请填写最低分数（不限可填 0）")
    elif not 0 <= data.min_score <= MIN_SCORE_MAX:
        errors.setdefault("min_score", []).append(f"最低分数必须在 0 到 {MIN_SCORE_MAX} 之间")
    org = None
    if data.org_code:
        org = next((o for o in campaign.organisations if o.code == data.org_code), None)
        if org is None:
            errors.setdefault("org", []).append(f"单位 {data.org_code} 不属于本活动")
    tiers: list = []
    try:
        tiers = rules.parse_tiers(data.tiers)
    except rules.DrawError as exc:
        errors.setdefault("tiers", []).append(str(exc))
    return errors, org, tiers


def create_draw(campaign: Campaign, data: DrawInput, organiser_id: int | None = None) -> PrizeDraw:
    """Create a draw: validate the rules, pick a secret 32-byte seed and publish its commitment.

    Raises FieldErrors (per field) and writes nothing when the input is bad.
    The rules cannot change afterwards: they are published with the commitment.
    """
    errors, org, tiers = _validate(campaign, data)
    if errors:
        raise FieldErrors(errors)
    seed = secrets.token_bytes(rules.SEED_BYTES)
    with writing() as session:
        prize_draw = PrizeDraw(campaign_id=campaign.id, title=data.title.strip(), min_score=data.min_score,
                               organisation_id=org.id if org else None, tiers=[[n, c] for n, c in tiers],
                               seed=seed.hex(), commitment=rules.commitment(seed), created_by=organiser_id)
        session.add(prize_draw)
    return prize_draw


def campaign_draws(campaign: Campaign | CampaignRules) -> list[PrizeDraw]:
    """The campaign's draws, newest first."""
    return list(db.session.scalars(select(PrizeDraw).where(PrizeDraw.campaign_id == campaign.id)
                                   .order_by(PrizeDraw.id.desc())))


def find_draw(campaign: Campaign | CampaignRules, draw_id: int) -> PrizeDraw:
    """The campaign's draw with this id, or NotFound."""
    prize_draw = db.session.get(PrizeDraw, draw_id)
    if prize_draw is None or prize_draw.campaign_id != campaign.id:
        raise NotFound(gettext("找不到这次抽奖"), code="draw_not_found")
    return prize_draw


def tiers_of(prize_draw: PrizeDraw) -> list[tuple[str, int]]:
    return [(str(name), int(count)) for name, count in prize_draw.tiers]


def rules_text(prize_draw: PrizeDraw) -> list[str]:
    """The draw's rules as published, one sentence each, in the request's language (the JSON document's are Simplified)."""
    unit = prize_draw.organisation.name if prize_draw.organisation else None
    tiers = tiers_of(prize_draw)
    prizes = pgettext("list separator", "，").join(gettext("%(tier)s %(n)d 名", tier=name, n=count) for name, count in tiers)
    who = (gettext("参与条件：本活动所有单位的参与者，完成至少一轮答题，个人最好成绩不低于 %(score)d 分。",
                   score=prize_draw.min_score) if unit is None else
           gettext("参与条件：仅限%(unit)s的参与者，完成至少一轮答题，个人最好成绩不低于 %(score)d 分。",
                   unit=unit, score=prize_draw.min_score))
    return [
        gettext("奖项：%(prizes)s（共 %(n)d 名），按此顺序依次抽出。", prizes=prizes, n=sum(c for _, c in tiers)),
        who,
        gettext("最好成绩那一轮被系统标记为异常（答题速度快于常人、与他人答题节奏完全相同或同一设备多人答题）的参与者不参与抽奖。"),
        gettext("每人最多中一个奖：抽中后即从名单中移除。"),
        gettext("开奖时按上述条件冻结抽奖名单并公布，随后公开随机种子；任何人都可以用种子和名单重算中奖结果。"),
    ]


# ---------------------------------------------------------------- eligibility

@dataclass(frozen=True)
class Candidate:
    """A participant with a finished quiz, as eligibility sees them."""

    participant_id: int
    nickname: str
    org_id: int
    org_name: str
    best_score: int
    flags: tuple[str, ...]


def candidates(prize_draw: PrizeDraw, org_id: int | None = None, session=None,
               participant_id: int | None = None) -> list[Candidate]:
    """Every participant of the draw's campaign with a finished quiz (optionally one unit's or one person), by id."""
    session = session or db.session
    query = (select(Participant.id, Participant.nickname, Participant.organisation_id, Organisation.name,
                    Participant.best_score, Attempt.flags)
             .join(Organisation, Organisation.id == Participant.organisation_id)
             .join(Attempt, Attempt.id == Participant.best_attempt_id)
             .where(Participant.campaign_id == prize_draw.campaign_id, Participant.best_attempt_id.is_not(None))
             .order_by(Participant.id))
    if org_id is not None:
        query = query.where(Participant.organisation_id == org_id)
    if participant_id is not None:
        query = query.where(Participant.id == participant_id)
    return [Candidate(r[0], r[1], r[2], r[3], r[4] or 0, tuple(r[5] or ())) for r in session.execute(query)]


def why_not(prize_draw: PrizeDraw, cand: Candidate) -> str | None:
    """Why a candidate is not eligible: 'other_unit', 'below_score' or 'flagged'; None when eligible."""
    if prize_draw.organisation_id is not None and cand.org_id != prize_draw.organisation_id:
        return "other_unit"
    if cand.best_score < prize_draw.min_score:
        return "below_score"
    if cand.flags:
        return "flagged"
    return None


@dataclass
class EligibilityReport:
    """How many people the rules let in and keep out (at the time of asking)."""

    eligible: int = 0
    below_score: int = 0
    flagged: int = 0
    other_unit: int = 0


def eligibility_report(prize_draw: PrizeDraw, org_id: int | None = None) -> EligibilityReport:
    """Counts of eligible and excluded participants now (a unit organiser: their unit's only)."""
    report = EligibilityReport()
    for cand in candidates(prize_draw, org_id):
        reason = why_not(prize_draw, cand)
        setattr(report, reason or "eligible", getattr(report, reason or "eligible") + 1)
    return report


def entry_code(draw_id: int, participant_id: int) -> str:
    """A participant's public entry code in one draw: a keyed hash, unlinkable across draws."""
    key = (current_app.config.get("HASH_KEY") or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"draw:{draw_id}:{participant_id}".encode(), hashlib.sha256).hexdigest()[:ENTRY_CHARS]


# ---------------------------------------------------------------- drawing

def run_draw(prize_draw: PrizeDraw, now: dt.datetime | None = None) -> PrizeDraw:
    """Freeze the eligible list, draw the winners with the committed seed and reveal it; once only.

    Raises Conflict when the draw already took place (also when a concurrent
    request won the race) or when nobody is eligible.
    """
    now = now or utcnow()
    with writing() as session:
        # Lock the draw (PostgreSQL); SQLite's IMMEDIATE transaction already serialises writers.
        locked = session.scalar(select(PrizeDraw).where(PrizeDraw.id == prize_draw.id).with_for_update())
        if locked is None:  # draws are never deleted; reading None below would fail just the same
            raise AttributeError(f"prize draw {prize_draw.id} has no row to lock")
        if locked.drawn_at is not None:
            raise Conflict("这次抽奖已经开奖", code="already_drawn")
        entrants = [c for c in candidates(locked, session=session) if why_not(locked, c) is None]
        if not entrants:
            raise Conflict("目前没有符合条件的参与者，暂不能开奖", code="no_entrants")
        by_entry = {entry_code(locked.id, c.participant_id): c for c in entrants}
        if len(by_entry) != len(entrants):  # 64-bit codes: never in practice, but never silently
            raise Conflict("抽奖编号冲突，请重新创建抽奖", code="entry_collision")
        order = sorted(by_entry)
        picks = rules.draw_winners(bytes.fromhex(locked.seed), order, tiers_of(locked))
        locked.eligible_ids = [by_entry[e].participant_id for e in order]
        locked.eligible_entries = [{"entry": e, "nickname": engine.mask_nickname(by_entry[e].nickname),
                                    "unit": by_entry[e].org_name} for e in order]
        locked.drawn_at = now
        for position, (tier, entry) in enumerate(picks):
            cand = by_entry[entry]
            session.add(DrawWinner(draw_id=locked.id, position=position, tier=tier, entry=entry,
                                   participant_id=cand.participant_id, organisation_id=cand.org_id,
                                   claim_code="".join(secrets.choice(CLAIM_ALPHABET)
                                                      for _ in range(CLAIM_CODE_CHARS))))
    db.session.refresh(prize_draw)
    return prize_draw


# ---------------------------------------------------------------- a participant's view

@dataclass
class Win:
    """A prize the participant won: the draw and the winner row (tier, entry code, claim code, claim state)."""

    draw: PrizeDraw
    winner: DrawWinner


def wins_of(participant: Participant | None) -> list[Win]:
    """Every prize this participant won in their campaign's draws, newest draw first (the winner banner)."""
    if participant is None:
        return []
    rows = db.session.execute(select(PrizeDraw, DrawWinner).join(DrawWinner, DrawWinner.draw_id == PrizeDraw.id)
                              .where(DrawWinner.participant_id == participant.id, PrizeDraw.drawn_at.is_not(None))
                              .order_by(PrizeDraw.drawn_at.desc(), PrizeDraw.id.desc())).all()
    return [Win(d, w) for d, w in rows]


def preview_eligibility(campaign: Campaign, data: DrawInput) -> EligibilityReport:
    """How many people these rules would let in right now, before the draw is created and its rules locked.

    Raises FieldErrors when the rules are bad, like create_draw; writes nothing.
    """
    errors, org, _tiers = _validate(campaign, data)
    errors.pop("title", None)  # a title is not needed to count
    errors.pop("tiers", None)
    if errors:
        raise FieldErrors(errors)
    rules_only = SimpleNamespace(campaign_id=campaign.id, organisation_id=org.id if org else None,
                                 min_score=data.min_score or 0)
    return eligibility_report(rules_only)  # type: ignore[arg-type]


def find_winner_by_claim_code(prize_draw: PrizeDraw, code: str) -> DrawWinner:
    """The draw's winner holding this claim code (spaces, dashes and case ignored); Invalid when none does."""
    cleaned = re.sub(r"[\s\-]", "", code or "").upper()
    if not cleaned:
        raise Invalid("请填写中奖者出示的领奖凭证码", field="claim_code")
    winner = db.session.scalar(select(DrawWinner).where(DrawWinner.draw_id == prize_draw.id,
                                                        DrawWinner.claim_code == cleaned[:CLAIM_CODE_CHARS * 2]))
    if winner is None:
        raise Invalid(f"本次抽奖没有领奖凭证码为“{cleaned[:20]}”的中奖者，请核对后重试", field="claim_code")
    return winner


def mark_handed_out(prize_draw: PrizeDraw, winner_id: int, organiser_id: int | None,
                    now: dt.datetime | None = None) -> DrawWinner:
    """Record that the prize was handed out (核销), once; marking it again changes nothing."""
    now = now or utcnow()
    winner = db.session.get(DrawWinner, winner_id)
    if winner is None or winner.draw_id != prize_draw.id:
        raise NotFound("找不到这位中奖者", field="winner")
    with writing() as session:
        session.execute(update(DrawWinner).where(DrawWinner.id == winner.id, DrawWinner.handed_out_at.is_(None))
                        .values(handed_out_at=now, handed_out_by=organiser_id))
    db.session.refresh(winner)
    return winner


def published_rules_text(prize_draw: PrizeDraw) -> list[str]:
    """The rules as published in the draw's document: Simplified Chinese whoever downloads it."""
    with force_locale("zh_Hans"):
        return rules_text(prize_draw)


@dataclass
class DrawStatus:
    """Where the participant on this device stands in a draw."""

    kind: str  # winner | entered | eligible | below_score | flagged | other_unit | no_result | not_entered
    message: str
    entry: str | None = None
    winner: DrawWinner | None = None


def winner_of(prize_draw: PrizeDraw, participant: Participant | Player | None) -> DrawWinner | None:
    """The participant's prize in this draw, if they won one."""
    if participant is None or prize_draw.drawn_at is None:
        return None
    return db.session.scalar(select(DrawWinner).where(DrawWinner.draw_id == prize_draw.id,
                                                      DrawWinner.participant_id == participant.id))


def participant_status(prize_draw: PrizeDraw, participant: Participant | Player | None) -> DrawStatus | None:
    """What the draw page tells the participant on this device: won, entered, or why not."""
    if participant is None:
        return None
    entry = entry_code(prize_draw.id, participant.id)
    if prize_draw.drawn_at is not None:
        winner = winner_of(prize_draw, participant)
        if winner is not None:
            return DrawStatus("winner", gettext("恭喜！你抽中了%(tier)s", tier=winner.tier), winner.entry, winner)
        if participant.id in (prize_draw.eligible_ids or []):
            return DrawStatus("entered", gettext("你在本次抽奖名单中，这次没有抽中，感谢参与！"), entry)
        return DrawStatus("not_entered", gettext("你不在本次抽奖名单中（名单在开奖时按参与条件确定）。"))
    cand = next(iter(candidates(prize_draw, participant_id=participant.id)), None)
    if cand is None:
        return DrawStatus("no_result", gettext("完成至少一轮答题后才能参加抽奖。"))
    reason = why_not(prize_draw, cand)
    if reason == "other_unit":
        if prize_draw.organisation is None:  # other_unit means the draw has a unit, and a unit with draws is never deleted
            raise AttributeError(f"prize draw {prize_draw.id} has no unit")
        return DrawStatus(reason, gettext("本次抽奖仅限 %(unit)s 的参与者。", unit=prize_draw.organisation.name))
    if reason == "below_score":
        return DrawStatus(reason, gettext("你的最好成绩是 %(best)d 分，达到 %(min)d 分才能参加抽奖。",
                                          best=cand.best_score, min=prize_draw.min_score))
    if reason == "flagged":
        why = pgettext("enumeration separator", "、").join(str(FLAG_LABELS.get(f, f)) for f in cand.flags)
        return DrawStatus(reason, gettext("你最好成绩的那一轮被系统标记为异常（%(why)s），按规则不参加抽奖。", why=why))
    return DrawStatus("eligible", gettext("按目前的成绩你符合抽奖条件，开奖时会进入名单。"), entry)


# ---------------------------------------------------------------- claims

def normalise_phone(text) -> str:
    """A mainland mobile number (1[3-9] and 9 digits), spaces, dashes and a +86 prefix removed; Invalid otherwise."""
    if not isinstance(text, str) or not text.strip():
        raise Invalid(gettext("请填写手机号"), field="phone")
    digits = re.sub(r"[\s\-()（）]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not PHONE_RE.match(digits):
        raise Invalid(gettext("请填写 11 位中国大陆手机号，例如 13812345678"), field="phone")
    return digits


def mask_phone(phone: str | None) -> str:
    """138****1234 ('' when there is none)."""
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:]


def claim_prize(winner: DrawWinner, phone, now: dt.datetime | None = None) -> DrawWinner:
    """Record the winner's phone number, once; sending the same number again is harmless.

    A different number after a claim is refused (Conflict): the winner asks an organiser.
    """
    now = now or utcnow()
    number = normalise_phone(phone)
    with writing() as session:
        done = cast(CursorResult[Any], session.execute(  # DML: a CursorResult, which has rowcount
            update(DrawWinner).where(DrawWinner.id == winner.id, DrawWinner.phone.is_(None))
            .values(phone=number, claimed_at=now)))
    db.session.refresh(winner)
    if done.rowcount != 1 and winner.phone != number:
        raise Conflict(gettext("已登记手机号 %(phone)s，如需修改请联系活动组织者", phone=mask_phone(winner.phone)),
                       code="already_claimed")
    return winner


def purge_claims(campaign: Campaign) -> int:
    """Delete the phone numbers of a campaign's winners (with `quizapp purge`); returns how many were cleared."""
    draw_ids = select(PrizeDraw.id).where(PrizeDraw.campaign_id == campaign.id).scalar_subquery()
    with writing() as session:
        cleared = cast(CursorResult[Any], session.execute(  # DML: a CursorResult, which has rowcount
            update(DrawWinner).where(DrawWinner.draw_id.in_(draw_ids), DrawWinner.phone.is_not(None))
            .values(phone=None)))
        return cleared.rowcount


# ---------------------------------------------------------------- reads and exports

def winner_rows(prize_draw: PrizeDraw, org_id: int | None = None, unmasked: bool = False) -> list[dict]:
    """The winners in drawing order (a unit organiser: their unit's only); phones masked unless unmasked."""
    query = (select(DrawWinner, Participant.nickname, Organisation.code, Organisation.name)
             .join(Participant, Participant.id == DrawWinner.participant_id)
             .join(Organisation, Organisation.id == DrawWinner.organisation_id)
             .where(DrawWinner.draw_id == prize_draw.id).order_by(DrawWinner.position))
    if org_id is not None:
        query = query.where(DrawWinner.organisation_id == org_id)
    return [{
        "position": w.position + 1, "tier": w.tier, "nickname": nickname, "org_code": code, "org_name": name,
        "entry": w.entry, "claim_code": w.claim_code, "claimed": w.claimed_at is not None,
        "phone": (w.phone or "") if unmasked else mask_phone(w.phone), "claimed_at": exports.local_time(w.claimed_at),
        "id": w.id, "handed_out": w.handed_out_at is not None, "handed_out_at": exports.local_time(w.handed_out_at),
    } for w, nickname, code, name in db.session.execute(query)]


WINNER_COLUMNS = (("position", "序号"), ("tier", "奖项"), ("nickname", "昵称"), ("org_code", "单位代码"),
                  ("org_name", "单位名称"), ("entry", "抽奖编号"), ("claim_code", "领奖凭证码"), ("phone", "手机号"),
                  ("claimed_at", "领奖登记时间(北京时间)"), ("handed_out_at", "奖品发放(核销)时间(北京时间)"))


def winners_csv(prize_draw: PrizeDraw) -> str:
    """Every winner with the full phone number (administrators only), CSV with a BOM for Excel."""
    rows = winner_rows(prize_draw, unmasked=True)
    return exports._csv([h for _, h in WINNER_COLUMNS], ([r[k] for k, _ in WINNER_COLUMNS] for r in rows))


def winners_xlsx(prize_draw: PrizeDraw) -> bytes:
    """Every winner with the full phone number (administrators only), XLSX; every cell text, never a formula."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    rows = winner_rows(prize_draw, unmasked=True)
    wb = Workbook()
    ws = wb.active
    ws.title = "中奖名单"
    ws.append([h for _, h in WINNER_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([exports.safe_cell(r[k]) for k, _ in WINNER_COLUMNS])
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    for i, (key, title) in enumerate(WINNER_COLUMNS, start=1):
        widest = max([exports._display_width(title)] + [exports._display_width(r[key]) for r in rows])
        ws.column_dimensions[get_column_letter(i)].width = min(max(widest + 2, 6), 40)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def public_winners(prize_draw: PrizeDraw) -> list[dict]:
    """The winners as published: tier, entry code, masked nickname and unit as frozen at the draw."""
    frozen = {e["entry"]: e for e in prize_draw.eligible_entries or []}
    return [{"tier": w.tier, "entry": w.entry, "nickname": frozen.get(w.entry, {}).get("nickname", ""),
             "unit": frozen.get(w.entry, {}).get("unit", "")} for w in prize_draw.winners]


def public_document(prize_draw: PrizeDraw) -> dict:
    """Everything needed to check the draw, as the public page offers it for download.

    Before the draw: the rules and the commitment (seed, list and winners are
    null). After: also the seed, the frozen list and the winners, so that
    `quizapp draw verify --file` re-runs it.
    """
    drawn = prize_draw.drawn_at is not None
    campaign = prize_draw.campaign
    return {
        "format": DOCUMENT_FORMAT,
        "campaign": {"slug": campaign.slug, "title": campaign.title},
        "draw": {"id": prize_draw.id, "title": prize_draw.title},
        "rules": {"min_score": prize_draw.min_score,
                  "unit": prize_draw.organisation.name if prize_draw.organisation else None,
                  "flagged_attempts_excluded": True, "one_prize_per_person": True,
                  "text": published_rules_text(prize_draw)},
        "tiers": [[name, count] for name, count in tiers_of(prize_draw)],
        "commitment": prize_draw.commitment,
        "committed_at": china_iso(prize_draw.created_at),
        "drawn_at": china_iso(prize_draw.drawn_at),
        "seed": prize_draw.seed if drawn else None,
        "eligible": [e["entry"] for e in prize_draw.eligible_entries or []] if drawn else None,
        "entries": list(prize_draw.eligible_entries or []) if drawn else None,
        "winners": public_winners(prize_draw) if drawn else None,
        "algorithm": rules.ALGORITHM,
        "verify": "quizapp draw verify --file THIS_FILE.json",
    }
