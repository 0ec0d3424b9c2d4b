"""Player pages: QR landing and join, one question per screen, feedback, result, boards.

Server-rendered forms that work with JavaScript off; the participant is
remembered by Flask's signed session cookie.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict

from flask import abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from quizapp import clock, elder, engine, i18n, ratelimits
from quizapp.boards import leaderboard
from quizapp.clock import utcnow
from quizapp.errors import Forbidden, Invalid, QuizError
from quizapp.extensions import db
from quizapp.models import Campaign
from quizapp.player import bp
from quizapp.player.forms import AnswerForm, JoinForm, StartForm
from quizapp.quiz import attempts, badges, campaigns, players, scans
from quizapp.quiz import play as play_loop  # the module; play() below is the question view
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.players import Player
from quizapp.quiz.start import start_attempt

KIND_LABELS = {"school": lazy_gettext("学校"), "company": lazy_gettext("企业"), "community": lazy_gettext("社区")}
TYPE_LABELS = {"single": lazy_gettext("单选题"), "multiple": lazy_gettext("多选题（选出全部正确答案）"),
               "judge": lazy_gettext("判断题")}


def get_campaign(slug: str) -> CampaignRules:
    """The campaign with this slug, or 404."""
    campaign = campaigns.find(slug)
    if campaign is None:
        abort(404)
    return campaign


def current_participant(campaign: CampaignRules) -> Player | None:
    """The participant remembered on this device for the campaign, if any."""
    return players.find(session.get("participants", {}).get(str(campaign.id)), campaign.id)


def remember(player: Player) -> None:
    """Store the participant in the signed cookie."""
    known = dict(session.get("participants", {}))
    known[str(player.campaign_id)] = player.id
    session["participants"] = known
    session.permanent = True


def owned_attempt(public_id: str) -> PlayAttempt:
    """An attempt of the participant remembered on this device (the signed cookie names its player), else 403/404."""
    attempt = attempts.load(public_id)
    if session.get("participants", {}).get(str(attempt.campaign_id)) != attempt.participant_id:
        raise Forbidden(gettext("这不是你的答题记录"))
    return attempt


def unit_choices(campaign: CampaignRules, units: list[campaigns.Unit] | None = None) -> list[tuple[str, str]]:
    """The join form's unit list: a prompt, then each unit with its kind, e.g. 一中（学校）."""
    return [("", gettext("请选择"))] + [
        (u.code, gettext("%(name)s（%(kind)s）", name=u.name, kind=KIND_LABELS.get(u.kind, u.kind)))
        for u in (units if units is not None else campaigns.units(campaign.id))]


@bp.app_template_global()
def next_question(attempt: PlayAttempt) -> int:
    """The 1-based number of the attempt's next question (for "continue" links)."""
    return attempts.answered_count(attempt.id) + 1


@bp.get("/")
def index():
    """Home: list open campaigns (QR codes normally link straight to one)."""
    now = utcnow()
    campaigns = db.session.scalars(select(Campaign).order_by(Campaign.opens_at.desc())).all()
    return render_template("player/index.html", campaigns=[c for c in campaigns if c.is_open(now)])


@bp.get("/q/<slug>")
def landing(slug: str):
    """What a QR code opens: campaign intro, join form or start button; counts the scan."""
    campaign = get_campaign(slug)
    org_code, src = request.args.get("org"), request.args.get("src")
    place_id, org_id = scans.link_codes(campaign, org_code, src)
    now = utcnow()
    due = scans.scan_due(session, campaign, place_id, org_id, now)
    if due is not None and ratelimits.allow("scan_per_ip", ratelimits.ip_key()):
        scans.record_scan(campaign, place_id, org_id)
        scans.remember_scan(session, due, now)
    if place_id is not None:
        session["src"] = src  # a known placement code only: the cookie stays small
    participant = current_participant(campaign)
    if participant is None:
        return _first_visit(campaign, org_code if org_id is not None else None, src if place_id else None, now)
    return render_template("player/landing.html", campaign=campaign, form=None, participant=participant,
                           start_form=StartForm(), is_open=campaign.is_open(now),
                           left_today=attempts.left_today(campaign, participant.id, now),
                           in_play=attempts.in_play(participant.id, now), notice=session.pop(NOTICE_KEY, None))


NOTICE_KEY = "join_notice"  # what a join must tell the person (a new recovery code, a number already taken)
CSRF_PLACEHOLDER = "\x00csrf\x00"
_first_visit_pages: OrderedDict[tuple, str] = OrderedDict()
_first_visit_lock = threading.Lock()
FIRST_VISIT_PAGES = 256  # distinct rendered pages kept (campaign version x unit x placement x language)


def _first_visit(campaign: CampaignRules, org_code: str | None, src: str | None, now: dt.datetime) -> str:
    """The landing page of someone not joined yet: the intro and the join form, rendered once per content.

    Every QR scan of a new phone opens this page. It depends only on the
    campaign's rules, its units, the unit and placement of the link, the
    language and whether the campaign is open, all in the key (the campaign
    and units as read now, so an edit shows at once); only the CSRF token
    differs per visitor and is put in on the way out. A link with other
    query parameters is rendered each time instead of being cached.
    """
    units = campaigns.units(campaign.id)
    token = generate_csrf()
    known = set(request.args) <= {"org", "src"} and (org_code is not None) == ("org" in request.args) and (
        src is not None) == ("src" in request.args)
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # Flask types its current_app proxy as Flask
    key = (id(app), campaign, tuple(units), org_code, src, i18n.current_locale(), elder.is_on(),
           campaign.is_open(now), request.full_path)
    page = _first_visit_pages.get(key) if known else None
    if page is None:
        form = JoinForm(org=org_code)
        form.org.choices = unit_choices(campaign, units)
        html = render_template("player/landing.html", campaign=campaign, form=form, participant=None,
                               start_form=None, is_open=campaign.is_open(now), left_today=0, in_play=None)
        if not known or token not in html:
            return html
        page = html.replace(token, CSRF_PLACEHOLDER)
        with _first_visit_lock:
            _first_visit_pages[key] = page
            while len(_first_visit_pages) > FIRST_VISIT_PAGES:
                _first_visit_pages.popitem(last=False)
    return page.replace(CSRF_PLACEHOLDER, token)


@bp.post("/q/<slug>/join")
@ratelimits.limited(("join_per_ip", ratelimits.ip_key))
def join(slug: str):
    """Register the person (or find them by member number) and remember them on this device."""
    campaign = get_campaign(slug)
    form = JoinForm()
    form.org.choices = unit_choices(campaign)
    if form.validate_on_submit():
        try:
            joined = players.join_as(campaign, form.nickname.data, form.org.data, form.member_id.data or None,
                                     session.get("src"), form.recovery_code.data or None)
        except Invalid as exc:
            getattr(form, exc.field or "nickname").errors.append(exc.message)
        else:
            remember(joined.player)
            if joined.recovery_code or joined.member_taken:  # told once, on the next page
                session[NOTICE_KEY] = {"code": joined.recovery_code, "taken": joined.member_taken}
            return redirect(url_for(".landing", slug=slug))
    return render_template("player/landing.html", campaign=campaign, form=form, participant=None,
                           start_form=StartForm(), is_open=campaign.is_open(utcnow()),
                           left_today=campaign.attempts_per_day), 400


@bp.post("/q/<slug>/leave")
def leave(slug: str):
    """Forget the participant on this device (to join under another name or unit)."""
    campaign = get_campaign(slug)
    if StartForm().validate_on_submit():
        known = dict(session.get("participants", {}))
        known.pop(str(campaign.id), None)
        session["participants"] = known
    return redirect(url_for(".landing", slug=slug))


@bp.post("/q/<slug>/start")
@ratelimits.limited(("start_per_device", ratelimits.device_key), ("start_per_ip", ratelimits.ip_key))
def start(slug: str):
    """Start an attempt for the participant on this device, or go back to the one still in play (resume)."""
    campaign = get_campaign(slug)
    participant = current_participant(campaign)
    if participant is None or not StartForm().validate_on_submit():
        return redirect(url_for(".landing", slug=slug))
    attempt, _token = start_attempt(campaign, participant, session.get("src"),
                                    device_hash=ratelimits.device_hash(), resume_open=True, elder=elder.is_on())
    return redirect(url_for(".play", public_id=attempt.public_id))


@bp.get("/a/<public_id>")
@ratelimits.limited(("question_per_attempt", ratelimits.attempt_key))
def play(public_id: str):
    """Show the current question with the server's countdown, or go to the result when done."""
    attempt = owned_attempt(public_id)
    now = utcnow()
    item = play_loop.current_item(attempt, now)
    if item is None:
        return redirect(url_for(".result", public_id=public_id))
    return _render_question(attempt, item, AnswerForm(question_id=item.version.question_id), now)


def _render_question(attempt: PlayAttempt, item: play_loop.PlayItem, form: AnswerForm, now, status: int = 200):
    """Render one question screen."""
    options = play_loop.displayed_options(item)
    form.choice.choices = options
    form.choices.choices = options
    return render_template("player/question.html", attempt=attempt, item=item, version=item.version, form=form,
                           type_label=TYPE_LABELS[item.version.type],
                           seconds_left=int(play_loop.seconds_left(attempt, item, now))), status


@bp.post("/a/<public_id>/answer")
@ratelimits.limited(("answer_per_attempt", ratelimits.attempt_key))
def answer(public_id: str):
    """Record the answer, then show its feedback (Post/Redirect/Get so a refresh is harmless)."""
    attempt = owned_attempt(public_id)
    form = AnswerForm()
    qid = form.question_id.data
    if not form.validate_on_submit():
        raise Invalid(gettext("页面已过期，请返回重试"), field="csrf_token")
    item = play_loop.find_item(attempt, qid)
    if item is None:
        raise Invalid(gettext("题目不属于本次答题"), field="question_id")
    if item.version.type == "multiple":
        chosen = form.choices.data or []
    else:
        chosen = [form.choice.data] if form.choice.data else []
    try:
        play_loop.record_answer(attempt, qid, chosen, item=item)
    except Invalid as exc:
        if exc.field != "choices":
            raise
        form.choice.errors = [exc.message]
        return _render_question(attempt, item, form, utcnow(), status=400)
    except QuizError as exc:
        if exc.code != "already_answered":
            raise
    return redirect(url_for(".feedback", public_id=public_id, question_id=qid))


@bp.get("/a/<public_id>/feedback/<question_id>")
def feedback(public_id: str, question_id: str):
    """Right or wrong, the right answer, the explanation and the source article."""
    attempt = owned_attempt(public_id)
    item = play_loop.find_item(attempt, question_id)
    if item is None or item.answered_at is None:
        return redirect(url_for(".play", public_id=public_id))
    outcome = play_loop.AnswerOutcome(item, attempt).to_dict()
    return render_template("player/feedback.html", attempt=attempt, item=item, version=item.version,
                           outcome=outcome, options=play_loop.displayed_options(item), article=item.article,
                           previous_streak=item.previous_streak)


@bp.get("/a/<public_id>/result")
def result(public_id: str):
    """Score, correct count, time and ranks in the unit and overall (practice ends on its own summary)."""
    attempt = owned_attempt(public_id)
    if not attempt.is_contest:
        return redirect(url_for(".practice_summary", public_id=public_id))
    if attempt.finished_at is None:
        play_loop.current_item(attempt)  # finalises an expired attempt
        if attempt.finished_at is None:
            return redirect(url_for(".play", public_id=public_id))
    summary = leaderboard.attempt_result(attempt)
    campaign = campaigns.get(attempt.campaign_id)
    participant = players.find(attempt.participant_id)
    now = utcnow()
    held = badges.of_participant(attempt.participant_id)
    return render_template("player/result.html", attempt=attempt, campaign=campaign, summary=summary,
                           participant=participant, start_form=StartForm(),
                           left_today=attempts.left_today(campaign, attempt.participant_id, now),
                           is_open=campaign.is_open(now),
                           new_badges=[b for b in held if b.attempt_id == attempt.id],
                           old_badges=[b for b in held if b.attempt_id != attempt.id])


@bp.get("/q/<slug>/me")
def me(slug: str):
    """The personal page: badges with their rules, attempt history, best score and ranks."""
    campaign = get_campaign(slug)
    participant = current_participant(campaign)
    if participant is None:
        return redirect(url_for(".landing", slug=slug))
    now = utcnow()
    rank_in_org, rank_overall = leaderboard.participant_ranks(participant)
    return render_template(
        "player/me.html", campaign=campaign, participant=participant, attempts=attempts.history(participant.id),
        has_member_number=players.has_member_number(participant), notice=session.pop(NOTICE_KEY, None),
        now=now, badges=badges.catalogue(participant.id), in_play=attempts.in_play(participant.id, now),
        rank_in_org=rank_in_org, rank_overall=rank_overall,
        left_today=attempts.left_today(campaign, participant.id, now), is_open=campaign.is_open(now),
        start_form=StartForm())


@bp.post("/q/<slug>/recovery-code")
def renew_recovery_code(slug: str):
    """A new recovery code for this device's participant (the old one stops working), shown once on /me."""
    campaign = get_campaign(slug)
    participant = current_participant(campaign)
    if participant is None or not StartForm().validate_on_submit():
        return redirect(url_for(".landing", slug=slug))
    code = players.renew_recovery_code(participant)
    if code is not None:
        session[NOTICE_KEY] = {"code": code, "taken": False}
    return redirect(url_for(".me", slug=slug))


@bp.app_template_global()
def streak_rule(campaign: CampaignRules) -> tuple[int, int]:
    """(step, cap) of the campaign's streak bonus for the rules text; (0, 0) when it is off."""
    return engine.streak_settings(campaign.speed_bonus, campaign.streak_step, campaign.streak_cap)


@bp.app_template_filter("china_time")
def china_time(value: dt.datetime | None) -> str:
    """A stored naive-UTC time as China time for the pages, e.g. 2025-03-01 09:30."""
    return clock.format_china(value)


@bp.get("/q/<slug>/board")
def board(slug: str):
    """The unit's individual board and the unit-vs-unit board."""
    campaign = get_campaign(slug)
    participant = current_participant(campaign)
    org_code = request.args.get("org") or (participant.unit_code if participant else None)
    org = campaigns.find_unit(campaign.id, org_code)
    people = leaderboard.public_individual_board(campaign, org.id if org else None, limit=50)
    orgs = leaderboard.public_organisation_board(campaign)
    return render_template("player/board.html", campaign=campaign, org=org, people=people, orgs=orgs,
                           participant=participant, mask=campaign.mask_nicknames)
