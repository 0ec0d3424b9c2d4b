"""Command-line tests: bank check/stats/import/export and demo, plus versioned re-import."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from sqlalchemy import func, select

from quizapp.bank import load_paths
from quizapp.bank.importing import import_bank
from quizapp.extensions import db
from quizapp.models import AttemptItem, Campaign, Organisation, Placement, Question, QuestionVersion
from quizapp.quiz import play as play_loop
from quizapp.quiz import players
from quizapp.quiz.pool import pool
from quizapp.quiz.start import start_attempt

from helpers import rules

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"


def copy_bank(tmp_path: Path) -> Path:
    target = tmp_path / "bank"
    shutil.copytree(BANK_DIR, target)
    return target


def test_bank_check_passes_on_bundled_bank(runner):
    result = runner.invoke(args=["bank", "check", str(BANK_DIR)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_bank_check_reports_every_problem_and_fails(runner, tmp_path):
    bank = copy_bank(tmp_path)
    f = bank / "xinzhou-2021-03-26.toml"
    text = f.read_text(encoding="utf-8")
    text = text.replace('id = "xz21-02"', 'id = "xz21-01"', 1).replace("difficulty = 1", "difficulty = 7", 1)
    f.write_text(text, encoding="utf-8")
    (bank / "broken.toml").write_text("[article\nid = 1\n", encoding="utf-8")
    result = runner.invoke(args=["bank", "check", str(bank)])
    assert result.exit_code == 1
    assert f"{f}: xz21-01: id: duplicate question id in this file" in result.output
    assert "difficulty: must be 1, 2 or 3 (got 7)" in result.output
    assert f"{bank / 'broken.toml'}: -: toml: malformed TOML" in result.output and "line 1" in result.output
    assert "Traceback" not in result.output


def test_bank_stats_prints_counts(runner):
    result = runner.invoke(args=["bank", "stats", str(BANK_DIR)])
    assert result.exit_code == 0
    total = len(load_paths([BANK_DIR]).questions)
    assert f"questions: {total} in 5 articles" in result.output
    assert "per tag:" in result.output and "order_brushing" in result.output
    assert "per difficulty:" in result.output


def test_import_is_all_or_nothing(runner, app, tmp_path):
    bank = copy_bank(tmp_path)
    f = bank / "wuhan-2025-01-07.toml"
    text = f.read_text(encoding="utf-8")
    f.write_text(text.replace('stem = "', 'stem = "【修订】', 1).replace('tags = ["', 'tags = ["nonsense", "', 1),
                 encoding="utf-8")
    before = db.session.scalar(select(func.count(QuestionVersion.id)))
    result = runner.invoke(args=["bank", "import", str(bank)])
    assert result.exit_code == 1
    assert "unknown tag nonsense" in result.output
    assert "nothing was changed" in result.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(QuestionVersion.id))) == before
    assert not db.session.scalar(select(func.count()).where(QuestionVersion.stem.like("【修订】%")))


def test_reimport_updates_by_id_and_keeps_old_versions(runner, app, tmp_path):
    bank = copy_bank(tmp_path)
    f = bank / "xinzhou-2021-03-26.toml"
    text = f.read_text(encoding="utf-8")
    f.write_text(text.replace('explanation = "', 'explanation = "【第二版】', 1), encoding="utf-8")
    result = runner.invoke(args=["bank", "import", str(bank)])
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output and "0 new" in result.output
    q = db.session.get(Question, "xz21-01")
    assert q.current_version.version == 2 and q.current_version.explanation.startswith("【第二版】")
    again = runner.invoke(args=["bank", "import", str(bank)])
    assert "0 updated" in again.output


def test_reimport_retires_questions_a_new_edition_drops_only_when_asked(runner, app, tmp_path):
    bank = copy_bank(tmp_path)
    f = bank / "xinzhou-2021-03-26.toml"
    text = f.read_text(encoding="utf-8")
    first = re.search(r'(?ms)^\[\[questions\]\]\nid = "([^"]+)".*?(?=^\[\[questions\]\]|\Z)', text)
    dropped = first.group(1)
    f.write_text(text.replace(first.group(0), "", 1), encoding="utf-8")
    kept = runner.invoke(args=["bank", "import", str(bank)])
    assert kept.exit_code == 0 and "0 retired" in kept.output, kept.output
    assert db.session.get(Question, dropped).retired is False  # a plain import never retires
    result = runner.invoke(args=["bank", "import", "--retire-missing", str(bank)])
    assert result.exit_code == 0 and "1 retired" in result.output, result.output
    db.session.expire_all()
    assert db.session.get(Question, dropped).retired is True
    others = db.session.scalars(select(Question).where(Question.id != dropped)).all()
    assert others and not any(q.retired for q in others)  # other articles' questions are not touched


def test_attempt_is_scored_against_the_version_it_was_served(app, make_campaign, tmp_path):
    campaign = make_campaign(banks=["xinzhou-2021-03-26"], questions_per_quiz=21)
    participant = players.join(rules(campaign), "甲", "s1")
    attempt, _ = start_attempt(rules(campaign), participant)
    item = play_loop.current_item(attempt)
    old = item.version
    old_right = play_loop.to_display_keys(item, old.answer)
    # Edit the served question: a different answer key and explanation.
    bank = copy_bank(tmp_path)
    path = bank / "xinzhou-2021-03-26.toml"
    text = path.read_text(encoding="utf-8")
    marker = f'id = "{old.question_id}"'
    head, tail = text.split(marker, 1)
    block, rest = (tail.split("[[questions]]", 1) + [""])[:2]
    new_answer = "A" if old.answer != ["A"] else "B"

    block = re.sub(r'answer = (\[[^\]]*\]|"[A-F]")', f'answer = "{new_answer}"', block, count=1)
    block = block.replace('type = "multiple"', 'type = "single"').replace('explanation = "', 'explanation = "新版：', 1)
    path.write_text(head + marker + block + ("[[questions]]" + rest if rest else ""), encoding="utf-8")
    summary = import_bank(load_paths([bank]))
    assert summary.updated == 1
    assert db.session.get(Question, old.question_id).current_version.id != old.id
    outcome = play_loop.record_answer(attempt, old.question_id, old_right)
    assert outcome.item.correct and outcome.item.points >= 100
    body = outcome.to_dict()
    assert not body["explanation"].startswith("新版：")
    assert db.session.get(AttemptItem, item.id).question_version_id == old.id


def test_export_json_lists_every_question_with_article(runner):
    result = runner.invoke(args=["bank", "export", "--format", "json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert len(data) == len(load_paths([BANK_DIR]).questions)
    one = data[0]
    assert set(one) >= {"id", "article", "type", "stem", "options", "answer", "explanation", "tags", "difficulty"}
    assert set(one["article"]) >= {"id", "title", "publisher", "date"}


def test_demo_setup_is_idempotent(runner):
    first = runner.invoke(args=["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo", "--no-serve"])
    assert second.exit_code == 0 and "0 new" in second.output
    assert db.session.scalar(select(func.count(Campaign.id)).where(Campaign.slug == "demo")) == 1
    demo = db.session.scalar(select(Campaign).where(Campaign.slug == "demo"))
    kinds = [o.kind for o in db.session.scalars(select(Organisation).where(Organisation.campaign_id == demo.id))]
    assert kinds.count("school") >= 2 and kinds.count("company") >= 1
    placements = {p.kind for p in db.session.scalars(select(Placement).where(Placement.campaign_id == demo.id))}
    assert {"poster", "subway"} <= placements
    articles = {e.article_id for e in pool(rules(demo))}
    assert len(articles) == 5


def test_demo_serves_the_demo_campaign(tmp_path):
    """`quizapp demo` (what `make demo` runs) sets up and actually serves /q/demo."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
    env.update(QUIZAPP_DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}", QUIZAPP_SECRET_KEY="demo-test")
    quizapp = Path(sys.executable).with_name("quizapp")
    proc = subprocess.Popen([str(quizapp), "demo", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/q/demo", timeout=2) as resp:
                    html = resp.read().decode()
                break
            except OSError as exc:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"demo server did not come up: {proc.stdout.read().decode()[-2000:]}") from exc
                time.sleep(0.3)
        assert "全民防电诈知识竞赛（演示）" in html and "报名参赛" in html
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_bank_files_with_a_bom_import_like_the_console_accepts_them(runner, app, tmp_path):
    bank = copy_bank(tmp_path)
    f = bank / "xinzhou-2021-03-26.toml"
    f.write_text("\ufeff" + f.read_text(encoding="utf-8"), encoding="utf-8")
    assert runner.invoke(args=["bank", "check", str(bank)]).exit_code == 0
    result = runner.invoke(args=["bank", "import", str(bank)])
    assert result.exit_code == 0, result.output


def test_an_over_long_stem_is_reported_as_too_long(runner, tmp_path):
    bank = copy_bank(tmp_path)
    f = bank / "xinzhou-2021-03-26.toml"
    text = f.read_text(encoding="utf-8")
    f.write_text(re.sub(r'(?m)^stem = "', 'stem = "' + "长" * 2001, text, count=1), encoding="utf-8")
    result = runner.invoke(args=["bank", "check", str(bank)])
    assert result.exit_code == 1
    assert "stem: too long: 20" in result.output and "at most 2000" in result.output, result.output
    assert "missing or empty" not in result.output
