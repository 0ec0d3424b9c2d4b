"""The pure prize draw (quizapp/prizes/lottery.py) and `quizapp draw verify` on hand-made inputs: no app, no database."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
from collections import Counter

import pytest
from click.testing import CliRunner

from quizapp.cli.draw import draw_group
from quizapp.prizes import lottery as draw

TIERS = [("一等奖", 1), ("二等奖", 3), ("三等奖", 10)]
SEED_A = bytes(range(32))
SEED_B = bytes(range(1, 33))
ENTRIES = [f"{hashlib.sha256(str(i).encode()).hexdigest()[:16]}" for i in range(200)]


def reference_draw(seed: bytes, entries: list[str], tiers: list[tuple[str, int]]) -> list[tuple[str, str]]:
    """The procedure exactly as published in draw.ALGORITHM, written independently of draw.py."""
    pool = sorted(entries)
    out, counter = [], 0
    for tier, count in tiers:
        for _ in range(count):
            if not pool:
                return out
            n = len(pool)
            while True:
                r = int.from_bytes(hmac.new(seed, counter.to_bytes(8, "big"), hashlib.sha256).digest(), "big")
                counter += 1
                if r < (2**256 // n) * n:
                    break
            out.append((tier, pool.pop(r % n)))
    return out


# ---------------------------------------------------------------- determinism

def test_same_seed_and_list_give_identical_winners():
    first = draw.draw_winners(SEED_A, ENTRIES, TIERS)
    again = draw.draw_winners(SEED_A, list(ENTRIES), list(TIERS))
    assert first == again
    assert len(first) == 14


def test_order_of_the_list_does_not_matter():
    shuffled = list(ENTRIES)
    random.Random(7).shuffle(shuffled)  # nosec B311 - test data
    assert draw.draw_winners(SEED_A, shuffled, TIERS) == draw.draw_winners(SEED_A, ENTRIES, TIERS)


def test_different_seed_gives_different_winners():
    a = draw.draw_winners(SEED_A, ENTRIES, TIERS)
    b = draw.draw_winners(SEED_B, ENTRIES, TIERS)
    assert a != b
    assert {e for _, e in a} != {e for _, e in b}


def test_matches_the_published_procedure():
    for seed in (SEED_A, SEED_B, b"\xff" * 32):
        for size in (1, 2, 3, 14, 15, 200):
            assert draw.draw_winners(seed, ENTRIES[:size], TIERS) == reference_draw(seed, ENTRIES[:size], TIERS)


def test_known_answer_keeps_old_draws_verifiable():
    """Pinned output: a change to the procedure would make every published draw fail verification."""
    winners = draw.draw_winners(bytes(32), [f"e{i:02d}" for i in range(20)], TIERS)
    assert winners[:4] == [("一等奖", "e14"), ("二等奖", "e19"), ("二等奖", "e11"), ("二等奖", "e18")]
    assert [e for _, e in winners[4:]] == ["e03", "e09", "e13", "e16", "e07", "e17", "e02", "e10", "e12", "e00"]
    assert draw.commitment(bytes(32)) == "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"


# ---------------------------------------------------------------- shape of the result

def test_no_duplicates_and_tiers_respected():
    for seed in (SEED_A, SEED_B):
        winners = draw.draw_winners(seed, ENTRIES, TIERS)
        entries = [e for _, e in winners]
        assert len(entries) == len(set(entries)) == 14
        assert set(entries) <= set(ENTRIES)
        assert [t for t, _ in winners] == ["一等奖"] + ["二等奖"] * 3 + ["三等奖"] * 10
        assert Counter(t for t, _ in winners) == Counter(dict(TIERS))


def test_fewer_entries_than_prizes():
    five = ENTRIES[:5]
    winners = draw.draw_winners(SEED_A, five, TIERS)
    assert sorted(e for _, e in winners) == sorted(five)  # everyone wins once
    assert [t for t, _ in winners] == ["一等奖", "二等奖", "二等奖", "二等奖", "三等奖"]  # in tier order
    assert draw.draw_winners(SEED_A, [], TIERS) == []
    assert draw.draw_winners(SEED_A, ["only"], TIERS) == [("一等奖", "only")]


def test_picks_are_uniform():
    """Each of 3 entries wins the single prize about a third of the time over 3000 fixed seeds."""
    counts = Counter(draw.draw_winners(hashlib.sha256(str(i).encode()).digest(), ["a", "b", "c"], [("奖", 1)])[0][1]
                     for i in range(3000))
    assert all(900 < counts[e] < 1100 for e in "abc"), counts


def test_bad_input_is_refused():
    with pytest.raises(draw.DrawError, match="duplicate"):
        draw.draw_winners(SEED_A, ["x", "y", "x"], TIERS)
    with pytest.raises(draw.DrawError):
        draw.draw_winners(b"", ENTRIES, TIERS)
    with pytest.raises(draw.DrawError):
        draw.draw_winners(SEED_A, ENTRIES, [])
    with pytest.raises(draw.DrawError, match="重复"):
        draw.draw_winners(SEED_A, ENTRIES, [("一等奖", 1), ("一等奖", 2)])
    with pytest.raises(draw.DrawError, match="1 到 1000"):
        draw.draw_winners(SEED_A, ENTRIES, [("一等奖", 0)])


# ---------------------------------------------------------------- tiers as text

@pytest.mark.parametrize("text", ["一等奖:1,二等奖:3,三等奖:10", "一等奖 1\n二等奖 3\n三等奖 10",
                                  "一等奖：1，二等奖：3，三等奖：10名", " 一等奖  1 \n\n二等奖 3\r\n三等奖 10 "])
def test_parse_tiers(text):
    assert draw.parse_tiers(text.replace("\r", "")) == TIERS


def test_parse_tiers_keeps_spaces_inside_names():
    assert draw.parse_tiers("特别 奖 2") == [("特别 奖", 2)]
    assert draw.format_tiers(TIERS) == "一等奖:1,二等奖:3,三等奖:10"


@pytest.mark.parametrize("text, message", [
    ("", "至少设置一个奖项"), ("一等奖", "第 1 项“一等奖”看不懂"), ("一等奖 1,二等奖 x", "第 2 项"),
    ("一等奖 1,一等奖 2", "重复"), ("一等奖 0", "1 到 1000"), ("一等奖 1001", "1 到 1000"),
    (",".join(f"奖{i} 1" for i in range(11)), "最多 10 个"), ("奖" * 41 + " 1", "超过 40 个字"),
])
def test_parse_tiers_errors(text, message):
    with pytest.raises(draw.DrawError, match=message):
        draw.parse_tiers(text)


# ---------------------------------------------------------------- verification

def test_verify_checks_commitment_and_winners():
    published = draw.draw_winners(SEED_A, ENTRIES, TIERS)
    good = draw.verify(SEED_A.hex(), draw.commitment(SEED_A), ENTRIES, TIERS, published)
    assert good.ok and good.winners == published
    wrong_commitment = draw.verify(SEED_A.hex(), draw.commitment(SEED_B), ENTRIES, TIERS, published)
    assert not wrong_commitment.ok and "commitment mismatch" in wrong_commitment.problems[0]
    swapped = [published[1], published[0], *published[2:]]
    assert draw.verify(SEED_A.hex(), draw.commitment(SEED_A), ENTRIES, TIERS, swapped).problems == [
        "published winners differ from the recomputed ones"]
    assert not draw.verify("not hex", draw.commitment(SEED_A), ENTRIES, TIERS).ok
    assert draw.commitment_matches(SEED_A, draw.commitment(SEED_A).upper())


# ---------------------------------------------------------------- the command, offline

def cli(*args):
    return CliRunner().invoke(draw_group, ["verify", *args])


def test_cli_verify_from_parts(tmp_path):
    eligible = tmp_path / "eligible.json"
    eligible.write_text(json.dumps(ENTRIES), encoding="utf-8")
    result = cli("--seed", SEED_A.hex(), "--commitment", draw.commitment(SEED_A), "--eligible", str(eligible),
                 "--tiers", "一等奖:1,二等奖:3,三等奖:10")
    assert result.exit_code == 0, result.output
    for tier, entry in draw.draw_winners(SEED_A, ENTRIES, TIERS):
        assert f"{tier}  {entry}" in result.output
    assert "commitment: OK" in result.output and "not compared" in result.output


def test_cli_verify_commitment_mismatch_fails(tmp_path):
    eligible = tmp_path / "eligible.json"
    eligible.write_text(json.dumps(ENTRIES), encoding="utf-8")
    result = cli("--seed", SEED_B.hex(), "--commitment", draw.commitment(SEED_A), "--eligible", str(eligible),
                 "--tiers", "一等奖:1")
    assert result.exit_code == 1
    assert "FAIL: commitment mismatch" in result.output


def test_cli_verify_compares_published_winners(tmp_path):
    eligible = tmp_path / "eligible.json"
    eligible.write_text(json.dumps(ENTRIES), encoding="utf-8")
    published = draw.draw_winners(SEED_A, ENTRIES, [("一等奖", 2)])
    winners = tmp_path / "winners.json"
    args = ["--seed", SEED_A.hex(), "--commitment", draw.commitment(SEED_A), "--eligible", str(eligible),
            "--tiers", "一等奖:2", "--winners", str(winners)]
    winners.write_text(json.dumps([{"tier": t, "entry": e} for t, e in published]), encoding="utf-8")
    assert cli(*args).exit_code == 0
    winners.write_text(json.dumps([{"tier": t, "entry": e} for t, e in reversed(published)]), encoding="utf-8")
    result = cli(*args)
    assert result.exit_code == 1 and "published winners differ" in result.output


def test_cli_verify_reports_unusable_input(tmp_path):
    missing = cli("--seed", SEED_A.hex())
    assert missing.exit_code == 1 and "missing --commitment, --eligible, --tiers" in missing.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    result = cli("--file", str(bad))
    assert result.exit_code == 1 and "not valid JSON" in result.output and "Traceback" not in result.output
    assert cli("--file", str(tmp_path / "absent.json")).exit_code == 1
    eligible = tmp_path / "eligible.json"
    eligible.write_text(json.dumps(ENTRIES), encoding="utf-8")
    tiers = cli("--seed", SEED_A.hex(), "--commitment", draw.commitment(SEED_A), "--eligible", str(eligible),
                "--tiers", "一等奖")
    assert tiers.exit_code == 1 and "--tiers" in tiers.output
