"""The big screen (/screen/<slug>): unit board, top 10, join QR, data.json, masking, freezing, 404s."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Campaign

from helpers import ALL_RIGHT, ARTICLE_ID, RIGHT, base_time, import_test_bank, join_player, play_answers


@pytest.fixture
def campaign(make_campaign):
    """c1 with Alice (一中, 450), 李小龙 (二中, 300) and 王五 (二中, 150) finished; 赵六 joined only."""
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1),
                             streak_step=0)  # no streak bonus: 150 per right answer
    play_answers(campaign, join_player(campaign, "Alice", "s1"), ALL_RIGHT, base)
    play_answers(campaign, join_player(campaign, "李小龙", "s2"), {"ta-single": ["A"], "ta-multi": RIGHT, "ta-judge": RIGHT},
                 base + dt.timedelta(minutes=1))
    play_answers(campaign, join_player(campaign, "王五", "s2"), {"ta-single": ["A"], "ta-multi": ["A"], "ta-judge": RIGHT},
                 base + dt.timedelta(minutes=2))
    join_player(campaign, "赵六", "co")
    return campaign


def set_campaign(campaign: Campaign, **fields) -> None:
    with writing():
        row = db.session.get(Campaign, campaign.id)
        for key, value in fields.items():
            setattr(row, key, value)


def test_data_json(client, campaign):
    resp = client.get("/screen/c1/data.json")
    assert resp.status_code == 200 and resp.is_json
    assert resp.headers["Cache-Control"] == "no-store"
    data = resp.get_json()
    assert data["campaign"] == {"slug": "c1", "title": "测试竞赛 c1"}
    assert data["orgs"] == [
        {"rank": 1, "org": "s2", "name": "二中", "kind": "school", "participants": 2, "headcount": 50,
         "coverage": 0.04, "avg_score": 225.0, "coverage_text": "4.0%"},
        {"rank": 2, "org": "s1", "name": "一中", "kind": "school", "participants": 1, "headcount": 100,
         "coverage": 0.01, "avg_score": 450.0, "coverage_text": "1.0%"},
        {"rank": 3, "org": "co", "name": "某公司", "kind": "company", "participants": 0, "headcount": 20,
         "coverage": 0.0, "avg_score": 0.0, "coverage_text": "0%"},
    ]
    assert data["orgs_total"] == 3 and data["participants"] == 3
    assert [(p["rank"], p["nickname"], p["org_name"], p["score"]) for p in data["people"]] == [
        (1, "Alice", "一中", 450), (2, "李小龙", "二中", 300), (3, "王五", "二中", 150)]
    assert data["frozen"] is False
    assert re.fullmatch(r"\d\d:\d\d:\d\d", data["updated_at"])


def test_page_shows_boards_qr_and_short_link(client, campaign):
    resp = client.get("/screen/c1")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "测试竞赛 c1" in html
    for text in ("二中", "一中", "某公司", "4.0%", "2/50人", "Alice", "李小龙", "王五", "450"):
        assert text in html, text
    assert html.index("二中") < html.index("一中") < html.index("某公司")  # ranked by coverage
    assert html.count('<rect class="fill"') == 3
    assert 'width="40"' in html  # 4% of a 1000-unit bar
    assert "<svg" in html and "<path" in html  # the inline QR
    assert '<p class="link">http://localhost/q/c1</p>' in html
    assert "更新于 " in html and 'id="updated"' in html


def test_page_works_without_inline_script(client, campaign):
    html = client.get("/screen/c1").get_data(as_text=True)
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""]  # one external script, nothing inline
    assert '<script src="/static/screen.js" defer></script>' in html
    assert ' style="' not in html and "onload" not in html and "javascript:" not in html
    assert re.search(r'<noscript><meta http-equiv="refresh" content="30"></noscript>', html)
    assert 'data-feed="/screen/c1/data.json"' in html and 'data-interval="5"' in html
    js = client.get("/static/screen.js")
    assert js.status_code == 200
    source = js.get_data(as_text=True)
    assert "fetch(" in source and "setInterval" in source
    # The script's words come from the page, in the page's language, not from the script.
    assert 'data-t-updated="更新于 {time}"' in html and 'say("updated"' in source
    assert "innerHTML" not in source  # names are user input: textContent only
    assert client.get("/static/screen.css").status_code == 200


def test_nicknames_masked_when_campaign_asks(client, campaign):
    set_campaign(campaign, mask_nicknames=True)
    data = client.get("/screen/c1/data.json").get_json()
    assert [p["nickname"] for p in data["people"]] == ["A***", "李**", "王*"]
    html = client.get("/screen/c1").get_data(as_text=True)
    assert "A***" in html and "李**" in html and "Alice" not in html and "李小龙" not in html


def test_nicknames_escaped(client, make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1),
                             orgs=(("x", "<b>单位</b>", "school", 10),))
    play_answers(campaign, join_player(campaign, "<script>x</script>", "x"), ALL_RIGHT, base)
    html = client.get("/screen/c1").get_data(as_text=True)
    assert "<script>x</script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert "<b>单位</b>" not in html and "&lt;b&gt;单位&lt;/b&gt;" in html
    assert client.get("/screen/c1/data.json").get_json()["people"][0]["nickname"] == "<script>x</script>"


def test_top_ten_only(client, make_campaign):
    import_test_bank()
    base = base_time()
    campaign = make_campaign(banks=[ARTICLE_ID], questions_per_quiz=3, opens_at=base - dt.timedelta(days=1))
    for i in range(12):
        play_answers(campaign, join_player(campaign, f"选手{i:02d}", "s1"), ALL_RIGHT, base + dt.timedelta(minutes=i))
    data = client.get("/screen/c1/data.json").get_json()
    assert [p["nickname"] for p in data["people"]] == [f"选手{i:02d}" for i in range(10)]
    assert data["participants"] == 12
    html = client.get("/screen/c1").get_data(as_text=True)
    assert "选手09" in html and "选手10" not in html


def test_placement_goes_on_the_qr_link(client, campaign, app):
    html = client.get("/screen/c1?src=m3").get_data(as_text=True)
    assert '<p class="link">http://localhost/q/c1?src=m3</p>' in html
    html = client.get("/screen/c1?src=nope").get_data(as_text=True)  # unknown codes are not printed
    assert '<p class="link">http://localhost/q/c1</p>' in html
    app.config["PUBLIC_URL"] = "https://fz.example.cn"
    html = client.get("/screen/c1?src=p1").get_data(as_text=True)
    assert '<p class="link">https://fz.example.cn/q/c1?src=p1</p>' in html


def test_board_follows_freeze(client, campaign):
    base = base_time()
    set_campaign(campaign, board_frozen_at=base + dt.timedelta(seconds=30))  # after Alice, before the others
    data = client.get("/screen/c1/data.json").get_json()
    assert data["frozen"] is True
    assert [p["nickname"] for p in data["people"]] == ["Alice"]
    assert [(o["org"], o["participants"]) for o in data["orgs"]] == [("s1", 1), ("co", 0), ("s2", 0)]
    assert 'id="frozen-note" class="frozen">' in client.get("/screen/c1").get_data(as_text=True)


def test_board_updates_after_a_new_result(client, campaign):
    assert len(client.get("/screen/c1/data.json").get_json()["people"]) == 3
    play_answers(campaign, join_player(campaign, "新来的", "co"), ALL_RIGHT, base_time() + dt.timedelta(minutes=5))
    data = client.get("/screen/c1/data.json").get_json()
    assert [p["nickname"] for p in data["people"]][:2] == ["Alice", "新来的"]
    assert data["orgs"][0]["org"] == "co"


def test_empty_campaign(client, make_campaign):
    make_campaign(orgs=())
    html = client.get("/screen/c1").get_data(as_text=True)
    assert "还没有人完成答题" in html and "暂无参赛单位" in html
    data = client.get("/screen/c1/data.json").get_json()
    assert data["orgs"] == [] and data["people"] == []


def test_unknown_campaign_is_404(client, app):
    assert client.get("/screen/nope").status_code == 404
    resp = client.get("/screen/nope/data.json", headers={"Accept": "application/json"})
    assert resp.status_code == 404 and resp.is_json
