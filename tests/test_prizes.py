"""Prize draws end to end: eligibility, commit-then-reveal on the public page, `quizapp draw verify` on the
downloaded JSON, claims with masked phone numbers, the console and its two roles. CSRF is off in the test app."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from quizapp.errors import Conflict, Invalid
from quizapp.extensions import db
from quizapp.models import DrawWinner, Participant, PrizeDraw, utcnow
from quizapp.prizes import draws as prizes
from quizapp.prizes import lottery as draw
from quizapp.quiz import attempts, players
from quizapp.quiz import play as play_loop
from quizapp.quiz.start import start_attempt

from helpers import as_player, new_draw, rules
from helpers import play_participant as play

PASSWORD = "console-pass-1"  # the password the conftest console fixtures use
PHONE = "13812345678"


# ---------------------------------------------------------------- fixtures and helpers

def text(resp) -> str:
    return resp.get_data(as_text=True)


@pytest.fixture
def field(app, make_campaign):
    """Campaign c1 (3 questions, no speed bonus) with: 甲 (s1, 3 right), 乙 (s1, 1 right), 丙 (s2, 3 right but
    superhumanly fast: flagged), 丁 (s2, 3 right), 戊 (co, 3 right); 己 joined without finishing."""
    campaign = make_campaign(questions_per_quiz=3, speed_bonus=False)
    people = {
        "甲": play(campaign, "甲同学", "s1", 3),
        "乙": play(campaign, "乙同学", "s1", 1),
        "丙": play(campaign, "丙同学", "s2", 3, gap=0.3),
        "丁": play(campaign, "丁同学", "s2", 3),
        "戊": play(campaign, "戊先生", "co", 3),
    }
    people["己"] = players.join(rules(campaign), "己同学", "s1")
    assert people["丙"].best_score >= 300 and people["乙"].best_score < 200
    return campaign, people


def winner_ids(prize_draw) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(DrawWinner.participant_id).where(DrawWinner.draw_id == prize_draw.id)))


# ---------------------------------------------------------------- eligibility

def test_eligibility_score_threshold_and_flags(field):
    campaign, p = field
    prize_draw = new_draw(campaign)
    report = prizes.eligibility_report(prize_draw)
    assert (report.eligible, report.below_score, report.flagged, report.other_unit) == (3, 1, 1, 0)
    assert db.session.get(Participant, p["丙"].id).best_attempt_id is not None
    prizes.run_draw(prize_draw)
    assert set(prize_draw.eligible_ids) == {p["甲"].id, p["丁"].id, p["戊"].id}
    assert winner_ids(prize_draw) == {p["甲"].id, p["丁"].id, p["戊"].id}  # 14 prizes, 3 people: one each
    assert len(prize_draw.winners) == 3


def test_min_score_zero_still_needs_a_finished_quiz_and_no_flags(field):
    campaign, p = field
    prize_draw = prizes.run_draw(new_draw(campaign, min_score=0))
    assert set(prize_draw.eligible_ids) == {p["甲"].id, p["乙"].id, p["丁"].id, p["戊"].id}  # not 丙 (flagged), not 己


def test_unit_filter(field):
    campaign, p = field
    prize_draw = new_draw(campaign, org_code="s2", min_score=0)
    assert prizes.eligibility_report(prize_draw).other_unit == 3
    prizes.run_draw(prize_draw)
    assert prize_draw.eligible_ids == [p["丁"].id]
    assert [w.participant_id for w in prize_draw.winners] == [p["丁"].id]
    assert [w.tier for w in prize_draw.winners] == ["一等奖"]


def test_flagged_best_attempt_excludes_even_with_a_clean_lower_one(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=3, speed_bonus=False)
    cheat = play(campaign, "快手", "s1", 1)  # clean attempt, 100 points
    attempt, _ = start_attempt(rules(campaign), cheat, now=utcnow() + dt.timedelta(minutes=5))
    now = utcnow() + dt.timedelta(minutes=5)
    for _ in range(3):
        item = play_loop.current_item(attempt, now)
        now += dt.timedelta(seconds=0.2)
        play_loop.record_answer(attempt, item.version.question_id,
                                 play_loop.to_display_keys(item, item.version.answer), now)
    attempt = attempts.get(attempt.id)
    assert attempt.flags == ["too_fast"]
    db.session.expire_all()  # the finish wrote on the play loop's connection
    cheat = db.session.get(Participant, cheat.id)
    assert cheat.best_attempt_id == attempt.id
    prize_draw = new_draw(campaign, min_score=0)
    status = prizes.participant_status(prize_draw, cheat)
    assert status.kind == "flagged" and "被系统标记为异常（答题速度快于常人）" in status.message
    with pytest.raises(Conflict, match="没有符合条件"):
        prizes.run_draw(prize_draw)


def test_status_messages_before_the_draw(field):
    campaign, p = field
    prize_draw = new_draw(campaign, org_code="s1")
    assert prizes.participant_status(prize_draw, p["甲"]).kind == "eligible"
    assert prizes.participant_status(prize_draw, p["甲"]).entry == prizes.entry_code(prize_draw.id, p["甲"].id)
    below = prizes.participant_status(prize_draw, p["乙"])
    assert below.kind == "below_score" and "达到 200 分才能参加抽奖" in below.message
    assert prizes.participant_status(prize_draw, p["丁"]).kind == "other_unit"
    assert prizes.participant_status(prize_draw, p["己"]).kind == "no_result"
    assert prizes.participant_status(prize_draw, None) is None


def test_drawing_twice_or_with_nobody_is_refused(field, make_campaign):
    campaign, _ = field
    prize_draw = prizes.run_draw(new_draw(campaign))
    first = [(w.tier, w.entry) for w in prize_draw.winners]
    with pytest.raises(Conflict, match="已经开奖"):
        prizes.run_draw(prize_draw)
    db.session.expire_all()
    assert [(w.tier, w.entry) for w in db.session.get(PrizeDraw, prize_draw.id).winners] == first
    empty = make_campaign(slug="c2")
    with pytest.raises(Conflict, match="没有符合条件"):
        prizes.run_draw(new_draw(empty))


def test_fewer_eligible_than_prizes_and_one_prize_each(app, make_campaign):
    campaign = make_campaign(questions_per_quiz=3, speed_bonus=False)
    people = [play(campaign, f"人{i}", "s1", 3, gap=4 + i) for i in range(5)]
    prize_draw = prizes.run_draw(new_draw(campaign, tiers="一等奖 1\n二等奖 3\n三等奖 10"))
    assert [w.tier for w in prize_draw.winners] == ["一等奖", "二等奖", "二等奖", "二等奖", "三等奖"]
    assert sorted(w.participant_id for w in prize_draw.winners) == sorted(p.id for p in people)


def test_stored_result_is_the_pure_draw_of_the_frozen_list(field):
    campaign, _ = field
    prize_draw = prizes.run_draw(new_draw(campaign, tiers="一等奖 1\n二等奖 1", min_score=0))
    entries = [e["entry"] for e in prize_draw.eligible_entries]
    assert entries == sorted(entries) and len(entries) == len(prize_draw.eligible_ids) == 4
    assert all(re.fullmatch(r"[0-9a-f]{16}", e) for e in entries)
    expected = draw.draw_winners(bytes.fromhex(prize_draw.seed), entries, prizes.tiers_of(prize_draw))
    assert [(w.tier, w.entry) for w in prize_draw.winners] == expected
    # entries carry masked nicknames and unit names, never participant ids or full nicknames
    assert {e["nickname"] for e in prize_draw.eligible_entries} <= {"甲**", "乙**", "丁**", "戊**"}
    assert {e["unit"] for e in prize_draw.eligible_entries} == {"一中", "二中", "某公司"}


# ---------------------------------------------------------------- commit, then reveal

def test_commitment_published_before_and_seed_only_after(field, admin_client, client):
    campaign, _ = field
    resp = admin_client.post("/admin/campaigns/c1/draws/new", data={
        "title": "第一周抽奖", "min_score": "200", "org": "", "tiers": "一等奖 1\n二等奖 1"})
    assert resp.status_code == 302, text(resp)
    prize_draw = db.session.scalar(select(PrizeDraw))
    assert resp.headers["Location"].endswith(f"/admin/campaigns/c1/draws/{prize_draw.id}")
    seed = prize_draw.seed
    assert len(bytes.fromhex(seed)) == 32
    assert prize_draw.commitment == hashlib.sha256(bytes.fromhex(seed)).hexdigest()

    url = f"/q/c1/draws/{prize_draw.id}"
    before = text(client.get(url))
    assert prize_draw.commitment in before and "尚未开奖" in before
    assert "第一周抽奖" in before and "一等奖 1 名" in before and "不低于 200 分" in before
    assert "被系统标记为异常" in before and "每人最多中一个奖" in before
    assert seed not in before
    doc = client.get(f"{url}.json").get_json()
    assert doc["commitment"] == prize_draw.commitment and doc["seed"] is None and doc["winners"] is None
    assert doc["tiers"] == [["一等奖", 1], ["二等奖", 1]] and doc["rules"]["min_score"] == 200
    assert seed not in json.dumps(doc)
    console = text(admin_client.get(f"/admin/campaigns/c1/draws/{prize_draw.id}"))
    assert prize_draw.commitment in console and seed not in console and "开始抽奖" in console

    resp = admin_client.post(f"/admin/campaigns/c1/draws/{prize_draw.id}/run")
    assert resp.status_code == 302
    after = text(client.get(url))
    assert seed in after and prize_draw.commitment in after and "尚未开奖" not in after
    doc = client.get(f"{url}.json").get_json()
    assert doc["seed"] == seed and hashlib.sha256(bytes.fromhex(doc["seed"])).hexdigest() == doc["commitment"]
    assert len(doc["winners"]) == 2 and len(doc["eligible"]) == 3
    assert {w["entry"] for w in doc["winners"]} <= set(doc["eligible"])
    for w in doc["winners"]:
        assert w["entry"] in after and w["nickname"] in after
    # the public document names nobody: masked nicknames, units and entry codes only
    for name in ("甲同学", "丁同学", "戊先生"):
        assert name not in json.dumps(doc, ensure_ascii=False) and name not in after
    again = admin_client.post(f"/admin/campaigns/c1/draws/{prize_draw.id}/run", follow_redirects=True)
    assert "这次抽奖已经开奖" in text(again)


def test_public_pages_list_and_404(field, client, make_campaign):
    campaign, _ = field
    prize_draw = new_draw(campaign, title="周末抽奖")
    other = make_campaign(slug="c2")
    assert "周末抽奖" in text(client.get("/q/c1/draws"))
    assert client.get(f"/q/c2/draws/{prize_draw.id}").status_code == 404  # another campaign's draw
    assert client.get("/q/c1/draws/999").status_code == 404
    assert "还没有抽奖" in text(client.get(f"/q/{other.slug}/draws"))


# ---------------------------------------------------------------- verify the downloaded JSON

def download(client, prize_draw, tmp_path, name="draw.json"):
    resp = client.get(f"/q/c1/draws/{prize_draw.id}.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == f'attachment; filename="draw-c1-{prize_draw.id}.json"'
    path = tmp_path / name
    path.write_bytes(resp.get_data())
    return path, json.loads(resp.get_data())


def test_cli_verifies_the_downloaded_json(field, client, runner, tmp_path):
    campaign, _ = field
    prize_draw = prizes.run_draw(new_draw(campaign, min_score=0))
    path, doc = download(client, prize_draw, tmp_path)
    result = runner.invoke(args=["draw", "verify", "--file", str(path)])
    assert result.exit_code == 0, result.output
    assert "commitment: OK" in result.output and "winners: OK" in result.output
    for w in doc["winners"]:
        assert f"{w['tier']}  {w['entry']}" in result.output
    assert "10 prize(s) not awarded" in result.output  # 14 prizes, 4 people
    # the same from the parts, the list taken from the downloaded file
    parts = runner.invoke(args=["draw", "verify", "--seed", doc["seed"], "--commitment", doc["commitment"],
                                "--eligible", str(path), "--tiers", "一等奖:1,二等奖:3,三等奖:10"])
    assert parts.exit_code == 0, parts.output


@pytest.mark.parametrize("tamper, message", [
    (lambda d: d["winners"].reverse(), "published winners differ"),
    (lambda d: d.update(seed=hashlib.sha256(b"other").hexdigest()), "commitment mismatch"),
    (lambda d: d.update(commitment=hashlib.sha256(b"other").hexdigest()), "commitment mismatch"),
    (lambda d: d["winners"][0].update(entry=d["eligible"][-1] if d["eligible"][-1] != d["winners"][0]["entry"]
                                      else d["eligible"][0]), "published winners differ"),
    (lambda d: d.update(tiers=[["一等奖", 2]]), "published winners differ"),
    (lambda d: d.update(seed=None), "has not taken place"),
])
def test_cli_rejects_a_tampered_json(field, client, runner, tmp_path, tamper, message):
    campaign, _ = field
    prize_draw = prizes.run_draw(new_draw(campaign, tiers="一等奖 1\n二等奖 1", min_score=0))
    path, doc = download(client, prize_draw, tmp_path)
    tamper(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["draw", "verify", "--file", str(path)])
    assert result.exit_code != 0
    assert message in result.output


def test_cli_on_a_draw_not_yet_drawn(field, client, runner, tmp_path):
    campaign, _ = field
    path, _ = download(client, new_draw(campaign), tmp_path)
    result = runner.invoke(args=["draw", "verify", "--file", str(path)])
    assert result.exit_code == 1 and "has not taken place yet" in result.output


def test_verify_through_the_installed_command(field, client, tmp_path):
    """The real entry point, as a member of the public would run it (no database configured)."""
    import subprocess
    import sys
    from pathlib import Path

    campaign, _ = field
    path, _ = download(client, prizes.run_draw(new_draw(campaign, min_score=0)), tmp_path)
    exe = Path(sys.executable).with_name("quizapp")
    if not exe.exists():
        pytest.skip("quizapp console script not installed in this environment")
    env = {"PATH": "/usr/bin:/bin", "QUIZAPP_DATABASE_URL": f"sqlite:///{tmp_path / 'none.db'}",
           "QUIZAPP_SECRET_KEY": "x"}
    ok = subprocess.run([str(exe), "draw", "verify", "--file", str(path)], capture_output=True, text=True,
                        env=env, timeout=60, check=False)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["winners"] = doc["winners"][1:]
    path.write_text(json.dumps(doc), encoding="utf-8")
    bad = subprocess.run([str(exe), "draw", "verify", "--file", str(path)], capture_output=True, text=True,
                         env=env, timeout=60, check=False)
    assert bad.returncode == 1 and "published winners differ" in bad.stderr


# ---------------------------------------------------------------- claims

@pytest.fixture
def drawn(field):
    """A drawn draw (1 prize among 甲, 丁, 戊) with its winner and a loser."""
    campaign, p = field
    prize_draw = prizes.run_draw(new_draw(campaign, tiers="一等奖 1"))
    winner_id = prize_draw.winners[0].participant_id
    winner = db.session.get(Participant, winner_id)
    loser = next(x for x in (p["甲"], p["丁"], p["戊"]) if x.id != winner_id)
    return campaign, prize_draw, winner, loser, p


def test_winner_sees_the_claim_link_and_others_do_not(app, drawn, client):
    campaign, prize_draw, winner, loser, p = drawn
    url = f"/q/c1/draws/{prize_draw.id}"
    page = text(as_player(app, campaign, winner).get(url))
    assert "你中奖了，去领奖" in page and f"{url}/claim" in page and 'data-status="winner"' in page
    lost = text(as_player(app, campaign, loser).get(url))
    assert "你中奖了" not in lost and 'data-status="entered"' in lost
    assert prizes.entry_code(prize_draw.id, loser.id) in lost
    outside = text(as_player(app, campaign, p["丙"]).get(url))
    assert 'data-status="not_entered"' in outside
    assert "你中奖了" not in text(client.get(url)) and "my-status" not in text(client.get(url))
    assert as_player(app, campaign, loser).get(f"{url}/claim").status_code == 403
    assert client.get(f"{url}/claim").status_code == 403
    assert client.post(f"{url}/claim", data={"phone": PHONE}).status_code == 403


@pytest.mark.parametrize("phone", ["", "12345678901", "1381234567", "138123456789", "23812345678", "1381234567a"])
def test_claim_rejects_bad_phone_numbers(app, drawn, phone):
    campaign, prize_draw, winner, _, _ = drawn
    resp = as_player(app, campaign, winner).post(f"/q/c1/draws/{prize_draw.id}/claim", data={"phone": phone})
    assert resp.status_code == 400
    assert "手机号" in text(resp)
    db.session.expire_all()
    assert db.session.get(DrawWinner, prize_draw.winners[0].id).phone is None


def test_claim_stores_the_phone_and_shows_it_masked(app, drawn, admin_client, client):
    campaign, prize_draw, winner, _, _ = drawn
    player = as_player(app, campaign, winner)
    url = f"/q/c1/draws/{prize_draw.id}"
    form = player.get(f"{url}/claim")
    assert form.status_code == 200 and "恭喜你抽中 一等奖" in text(form)
    assert form.headers["Cache-Control"] == "private, no-store"
    resp = player.post(f"{url}/claim", data={"phone": "+86 138-1234-5678"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"{url}/claim")
    db.session.expire_all()
    row = db.session.get(DrawWinner, prize_draw.winners[0].id)
    assert row.phone == PHONE and row.claimed_at is not None
    claimed = text(player.get(f"{url}/claim"))
    assert "138****5678" in claimed and PHONE not in claimed and row.claim_code in claimed
    public = text(player.get(url))
    assert "138****5678" in public and PHONE not in public
    assert "138****5678" not in text(client.get(url)) and PHONE not in text(client.get(f"{url}.json"))
    console = text(admin_client.get(f"/admin/campaigns/c1/draws/{prize_draw.id}"))
    assert "138****5678" in console and PHONE not in console
    # posting again changes nothing; a different number is refused
    assert player.post(f"{url}/claim", data={"phone": "13900000000"}).status_code == 302
    assert prizes.claim_prize(row, PHONE).phone == PHONE
    with pytest.raises(Conflict, match=r"已登记手机号 138\*\*\*\*5678"):
        prizes.claim_prize(row, "13900000000")
    db.session.expire_all()
    assert db.session.get(DrawWinner, row.id).phone == PHONE


def test_admin_export_has_the_full_phone(app, drawn, admin_client):
    campaign, prize_draw, winner, _, _ = drawn
    prizes.claim_prize(prize_draw.winners[0], PHONE)
    resp = admin_client.get(f"/admin/campaigns/c1/draws/{prize_draw.id}/winners.csv")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["序号", "奖项", "昵称"] and "手机号" in rows[0]
    assert rows[1][1] == "一等奖" and rows[1][2] == winner.nickname and PHONE in rows[1]
    xlsx = admin_client.get(f"/admin/campaigns/c1/draws/{prize_draw.id}/winners.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert PHONE in values[1] and winner.nickname in values[1]


def test_purge_claims_deletes_phone_numbers(drawn):
    campaign, prize_draw, _, _, _ = drawn
    prizes.claim_prize(prize_draw.winners[0], PHONE)
    assert prizes.purge_claims(campaign) == 1
    db.session.expire_all()
    assert db.session.get(DrawWinner, prize_draw.winners[0].id).phone is None


def test_phone_helpers():
    assert prizes.mask_phone("13812345678") == "138****5678" and prizes.mask_phone(None) == ""
    assert prizes.normalise_phone(" 0086 139 0000 1111 ") == "13900001111"
    for bad in ("", None, "+1 2025550123", "10012345678", "1391234567８"):
        with pytest.raises(Invalid):
            prizes.normalise_phone(bad)


# ---------------------------------------------------------------- console and roles

def test_console_lists_creates_and_draws(field, admin_client):
    page = text(admin_client.get("/admin/campaigns/c1/draws"))
    assert "还没有抽奖" in page and "新建抽奖" in page
    form = text(admin_client.get("/admin/campaigns/c1/draws/new"))
    assert "一等奖 1" in form and "<script" not in form and "style=" not in form
    resp = admin_client.post("/admin/campaigns/c1/draws/new", data={
        "title": "二中专场", "min_score": "0", "org": "s2", "tiers": "大奖:1"})
    assert resp.status_code == 302
    detail = text(admin_client.get(resp.headers["Location"]))
    assert "二中专场" in detail and "开始抽奖" in detail
    assert re.search(r'id="eligible-count">1<', detail) and re.search(r'id="flagged-count">1<', detail)
    assert "二中专场" in text(admin_client.get("/admin/campaigns/c1/draws"))
    prize_draw = db.session.scalar(select(PrizeDraw))
    done = text(admin_client.post(f"/admin/campaigns/c1/draws/{prize_draw.id}/run", follow_redirects=True))
    assert "已开奖" in done and "丁同学" in done and "未登记" in done and "开始抽奖" not in done


@pytest.mark.parametrize("overrides, field_name, message", [
    ({"title": ""}, "title", "请填写抽奖名称"),
    ({"min_score": "-5"}, "min_score", "最低分数必须在 0 到 100000 之间"),
    ({"min_score": "abc"}, "min_score", "必须是整数"),
    ({"org": "zz"}, "org", "单位 zz 不属于本活动"),
    ({"tiers": ""}, "tiers", "至少设置一个奖项"),
    ({"tiers": "一等奖 1\n二等奖"}, "tiers", "第 2 项“二等奖”看不懂"),
    ({"tiers": "一等奖 1\n一等奖 3"}, "tiers", "重复"),
    ({"tiers": "一等奖 0"}, "tiers", "1 到 1000"),
])
def test_create_draw_field_errors(field, admin_client, overrides, field_name, message):
    data = {"title": "抽奖", "min_score": "100", "org": "", "tiers": "一等奖 1"}
    data.update(overrides)
    resp = admin_client.post("/admin/campaigns/c1/draws/new", data=data)
    assert resp.status_code == 400
    block = re.search(rf'<div class="field has-error" id="field-{field_name}">(.*?)</div>', text(resp), re.S)
    assert block, f"{field_name} not marked as an error"
    assert message in block.group(1)
    assert db.session.scalar(select(func.count(PrizeDraw.id))) == 0


def test_create_draw_reports_every_field_at_once(field, admin_client):
    resp = admin_client.post("/admin/campaigns/c1/draws/new", data={"title": "", "min_score": "-1", "tiers": "一等奖"})
    assert resp.status_code == 400
    page = text(resp)
    for name in ("title", "min_score", "tiers"):
        assert f'<div class="field has-error" id="field-{name}">' in page, name


def test_unit_organiser_sees_draws_but_only_own_winners_masked(app, field, unit_client):
    campaign, p = field
    prize_draw = prizes.run_draw(new_draw(campaign, min_score=0))  # everyone eligible wins: 甲 乙 (s1), 丁 (s2), 戊 (co)
    for w in prize_draw.winners:
        prizes.claim_prize(w, f"1390000{w.participant_id:04d}")
    s1 = unit_client("s1")
    assert "幸运抽奖" in text(s1.get("/admin/campaigns/c1/draws"))
    page = text(s1.get(f"/admin/campaigns/c1/draws/{prize_draw.id}"))
    assert "甲同学" in page and "乙同学" in page
    assert "丁同学" not in page and "戊先生" not in page
    assert f"1390000{p['甲'].id:04d}" not in page and f"139****{p['甲'].id:04d}" in page
    assert "导出" not in page and "开始抽奖" not in page
    assert s1.get(f"/admin/campaigns/c1/draws/{prize_draw.id}/winners.csv").status_code == 403
    assert s1.get(f"/admin/campaigns/c1/draws/{prize_draw.id}/winners.xlsx").status_code == 403


def test_unit_organiser_cannot_create_or_run(field, unit_client):
    campaign, _ = field
    prize_draw = new_draw(campaign)
    s1 = unit_client("s1")
    assert s1.get("/admin/campaigns/c1/draws/new").status_code == 403
    assert s1.post("/admin/campaigns/c1/draws/new", data={"title": "x", "min_score": "0", "tiers": "一等奖 1"}
                   ).status_code == 403
    assert s1.post(f"/admin/campaigns/c1/draws/{prize_draw.id}/run").status_code == 403
    db.session.expire_all()
    assert db.session.get(PrizeDraw, prize_draw.id).drawn_at is None
    assert db.session.scalar(select(func.count(PrizeDraw.id))) == 1
    page = text(s1.get(f"/admin/campaigns/c1/draws/{prize_draw.id}"))
    assert "仅本单位" in page and prize_draw.seed not in page


def test_unit_organiser_of_another_campaign_is_refused(field, unit_client, make_campaign):
    prize_draw = new_draw(field[0])
    make_campaign(slug="c2", orgs=(("x9", "九中", "school", 10),))
    x9 = unit_client("x9", "c2")  # no unit x9 in c1
    assert x9.get("/admin/campaigns/c1/draws").status_code == 403
    assert x9.get(f"/admin/campaigns/c1/draws/{prize_draw.id}").status_code == 403


def test_console_needs_a_login(field, client):
    prize_draw = new_draw(field[0])
    for url in ("/admin/campaigns/c1/draws", f"/admin/campaigns/c1/draws/{prize_draw.id}",
                f"/admin/campaigns/c1/draws/{prize_draw.id}/winners.csv"):
        resp = client.get(url)
        assert resp.status_code in (302, 401), url
    assert client.post(f"/admin/campaigns/c1/draws/{prize_draw.id}/run").status_code in (302, 401)
    db.session.expire_all()
    assert db.session.get(PrizeDraw, prize_draw.id).drawn_at is None
