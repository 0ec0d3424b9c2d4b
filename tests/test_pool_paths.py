"""Every path that serves questions serves only the campaign's pool: published, not retired, in its banks and tags.

A contest, a daily practice set and a wrong-answer retry are played through the
API and through the pages; the questions they serve are compared with the pool
computed here from the bank files and the changes the test makes, never with the
app's own pool function, so a change to any of the app's queries shows.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from quizapp.bank import load_paths
from quizapp.bank.importing import set_question_draft, set_question_retired
from quizapp.database import writing
from quizapp.extensions import db
from quizapp.models import Campaign
from quizapp.quiz import attempts, play

BANK_DIR = Path(__file__).resolve().parent.parent / "question_bank"
ARTICLE = "xinzhou-2021-03-26"
OTHER_ARTICLE = "lanzhou-2022-06-17"
TAG = "boss_impersonation"
API = "/api/v1"


def tagged(article: str, tag: str) -> list[str]:
    """Ids of the bank file's questions of an article carrying a tag, in file order."""
    return [q.id for q in load_paths([BANK_DIR]).questions if q.article_id == article and tag in q.tags]


@pytest.fixture
def scene(app, make_campaign):
    """Campaign c1 drawing from one article and one scam type, with one of those questions sent back to draft
    and one retired; returns (campaign, the ids it may serve, the draft id, the retired id)."""
    ids = tagged(ARTICLE, TAG)
    assert len(ids) >= 6, ids  # enough for a pool, a daily set of 3 and a retry
    draft, retired = ids[0], ids[1]
    set_question_draft(draft, True)
    set_question_retired(retired, True)
    campaign = make_campaign(banks=[ARTICLE], tags=[TAG], questions_per_quiz=50, attempts_per_day=10)
    return campaign, set(ids[2:]), draft, retired


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag == "input":
            self.found.append(dict(attrs))


def _question_on(html: str) -> tuple[str, str, list[str]]:
    """(question id, answer field name, option keys) of a question page."""
    parser = _Inputs()
    parser.feed(html)
    qid = next(i["value"] for i in parser.found if i.get("name") == "question_id")
    options = [i for i in parser.found if i.get("name") in ("choice", "choices")]
    return qid, options[0]["name"], [i["value"] for i in options]


def _wrong(public_id: str, question_id: str, keys: list[str]) -> list[str]:
    """A wrong answer to the served question, worked out from what the attempt stored."""
    item = play.find_item(attempts.load(public_id), question_id)
    right = play.to_display_keys(item, item.version.answer)
    return [next(k for k in keys if k not in right)]


class ApiPlayer:
    """Plays through /api/v1 with a participant token."""

    def __init__(self, client) -> None:
        self.client = client
        body = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "接口", "org": "s1"}).get_json()
        self.token = body["participant_token"]
        self.first = body

    def contest(self) -> list[str]:
        return self._play(self.first)

    def daily(self) -> list[str]:
        return self._start("practice/daily")

    def retry(self) -> list[str] | int:
        return self._start("practice/review")

    def _start(self, path: str) -> list[str] | int:
        resp = self.client.post(f"{API}/campaigns/c1/{path}", json={"participant_token": self.token})
        if resp.status_code != 201:
            return resp.status_code
        return self._play(resp.get_json())

    def _play(self, started: dict) -> list[str]:
        served, headers = [], {"Authorization": f"Bearer {started['token']}"}
        while True:
            body = self.client.get(f"{API}/attempts/{started['attempt_id']}/question", headers=headers).get_json()
            if body["done"]:
                return served
            qid = body["question"]["id"]
            keys = [o["key"] for o in body["question"]["options"]]
            served.append(qid)
            resp = self.client.post(f"{API}/attempts/{started['attempt_id']}/answers", headers=headers,
                                    json={"question_id": qid, "choices": _wrong(started["attempt_id"], qid, keys)})
            assert resp.status_code == 200, resp.get_json()


class PagePlayer:
    """Plays through the HTML pages with the signed session cookie."""

    def __init__(self, client) -> None:
        self.client = client
        assert client.post("/q/c1/join", data={"nickname": "网页", "org": "s1"}).status_code == 302

    def contest(self) -> list[str]:
        return self._start("/q/c1/start")

    def daily(self) -> list[str]:
        return self._start("/q/c1/practice/daily")

    def retry(self) -> list[str] | int:
        return self._start("/q/c1/mistakes/retry")

    def _start(self, path: str) -> list[str] | int:
        resp = self.client.post(path, data={})
        if resp.status_code != 302:
            return resp.status_code
        public_id = resp.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        served = []
        while True:
            resp = self.client.get(f"/a/{public_id}")
            if resp.status_code == 302:
                return served
            qid, name, keys = _question_on(resp.get_data(as_text=True))
            served.append(qid)
            answer = self.client.post(f"/a/{public_id}/answer",
                                      data={"question_id": qid, name: _wrong(public_id, qid, keys)})
            assert answer.status_code == 302, answer.get_data(as_text=True)


DOORS = {"api": ApiPlayer, "pages": PagePlayer}


@pytest.mark.parametrize("door", DOORS)
def test_contest_serves_exactly_the_pool(client, scene, door):
    _campaign, allowed, _draft, _retired = scene
    served = DOORS[door](client).contest()
    assert sorted(served) == sorted(allowed)  # the whole pool (50 asked), each once, nothing else


@pytest.mark.parametrize("door", DOORS)
def test_daily_set_comes_from_the_pool(client, scene, door):
    _campaign, allowed, _draft, _retired = scene
    served = DOORS[door](client).daily()
    assert len(served) == 3 and len(set(served)) == 3 and set(served) <= allowed


@pytest.mark.parametrize("door", DOORS)
def test_retry_serves_only_book_questions_still_in_the_pool(client, scene, door):
    campaign, allowed, _draft, _retired = scene
    player = DOORS[door](client)
    book = set(player.contest())  # every answer wrong: the whole pool is in the book
    assert book == allowed
    newly_retired, newly_draft = sorted(book)[:2]
    set_question_retired(newly_retired, True)
    set_question_draft(newly_draft, True)
    served = player.retry()
    assert sorted(served) == sorted(book - {newly_retired, newly_draft})
    # The campaign now draws from another article only: the rest of the book is outside its pool.
    with writing():
        db.session.get(Campaign, campaign.id).banks = [OTHER_ARTICLE]
    assert player.retry() == 409


@pytest.mark.parametrize("door", DOORS)
def test_an_unpublished_bank_serves_nothing_anywhere(client, make_campaign, door):
    ids = tagged(ARTICLE, TAG)
    for qid in ids:
        set_question_draft(qid, True)
    make_campaign(banks=[ARTICLE], tags=[TAG])
    player = DOORS[door](client) if door == "pages" else None
    if door == "api":
        resp = client.post(f"{API}/campaigns/c1/attempts", json={"nickname": "接口", "org": "s1"})
        assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "empty_pool"
    else:
        assert player.contest() == 409
        assert player.daily() == 409


def test_each_quiz_avoids_the_questions_of_the_latest_one(client, make_campaign):
    """With a pool of exactly two quizzes' worth, quizzes alternate between its halves: each new one avoids the
    latest one's questions (not the first one's)."""
    ids = tagged(ARTICLE, TAG)[:6]
    for qid in tagged(ARTICLE, TAG)[6:]:
        set_question_retired(qid, True)
    make_campaign(banks=[ARTICLE], tags=[TAG], questions_per_quiz=3, attempts_per_day=10)
    player = ApiPlayer(client)
    first = set(player.contest())
    rounds = [first]
    for _ in range(2):
        body = client.post(f"{API}/campaigns/c1/attempts", json={"participant_token": player.token}).get_json()
        rounds.append(set(player._play(body)))
    assert len(first) == 3 and rounds[0] | rounds[1] == set(ids) and not rounds[0] & rounds[1]
    assert rounds[2] == rounds[0]
