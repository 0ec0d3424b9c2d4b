"""The prize draw as pure functions: commitment, tiers, the draw itself and its verification.

No Flask and no database here, and no `random` module state: the winners are
a function of the seed, the list of entries and the tiers alone, so anyone
holding the published JSON can re-run the draw (``quizapp draw verify``) and
must get the same winners.

The procedure (also published with every draw as ALGORITHM):

1. Commit: before the draw the seed (32 random bytes) is kept secret and
   ``commitment = sha256(seed)`` is published with the rules.
2. Entries are sorted by Unicode code point; duplicates are refused (one
   entry per person).
3. Tiers are drawn in their published order, one prize at a time. Each pick
   computes ``r = HMAC-SHA256(key=seed, msg=counter)`` with the counter as an
   8-byte big-endian unsigned integer starting at 0 and incremented after every
   HMAC (rejected ones included); ``r`` read as a 256-bit big-endian integer is
   rejected while ``r >= floor(2^256 / n) * n`` (no modulo bias), otherwise the
   entry at index ``r mod n`` of the n remaining entries wins and leaves the
   list, so nobody wins twice.
4. When the entries run out, the remaining prizes are not awarded.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from quizapp.textsafe import forbidden_character

SEED_BYTES = 32
TIER_NAME_MAX = 40
TIER_COUNT_MAX = 1000
TIERS_MAX = 10
_SPACE = 1 << 256

ALGORITHM = (
    "commitment = sha256(seed). Entries sorted by Unicode code point. Tiers in order, one prize at a time: "
    "r = HMAC-SHA256(key=seed, msg=counter as 8-byte big-endian unsigned, starting at 0, +1 after every HMAC); "
    "r as a 256-bit big-endian integer is rejected while r >= floor(2^256 / n) * n, else the entry at index "
    "r mod n of the n remaining entries wins and is removed. Prizes left when entries run out are not awarded."
)


class DrawError(ValueError):
    """Input the draw cannot use: bad tiers, duplicate entries, an empty or malformed seed."""


def commitment(seed: bytes) -> str:
    """The published commitment to a seed: sha256(seed) as lower-case hex."""
    return hashlib.sha256(seed).hexdigest()


def commitment_matches(seed: bytes, published: str) -> bool:
    """True when sha256(seed) equals the published commitment (hex, any case)."""
    return hmac.compare_digest(commitment(seed), published.strip().lower())


def parse_seed(text: str) -> bytes:
    """A seed written as hex (as published) back to bytes."""
    try:
        seed = bytes.fromhex(text.strip())
    except (ValueError, AttributeError) as exc:
        raise DrawError("seed must be hexadecimal") from exc
    if not seed:
        raise DrawError("seed is empty")
    return seed


# ---------------------------------------------------------------- tiers

_TIER_RE = re.compile(r"^(?P<name>.+?)\s*(?:[:：]|\s)\s*(?P<count>[0-9]+)\s*[名个人份]?$")


def parse_tiers(text: str) -> list[tuple[str, int]]:
    """Parse tiers written as ``一等奖:1,二等奖:3`` or one per line (``一等奖 1``).

    Items are separated by commas (, or ，) or new lines; a name and its count
    by a colon (: or ：) or spaces. Raises DrawError naming the item at fault.
    """
    items = [part.strip() for part in re.split(r"[,，\n]", text or "") if part.strip()]
    if not items:
        raise DrawError("至少设置一个奖项，例如：一等奖 1")
    tiers = []
    for n, item in enumerate(items, start=1):
        match = _TIER_RE.match(item)
        if match is None:
            raise DrawError(f"第 {n} 项“{item}”看不懂：请写成“奖项名称 数量”，例如：二等奖 3")
        hidden = forbidden_character(match["name"].strip())
        if hidden is not None:
            raise DrawError(f"第 {n} 项的奖项名称含有不可见的控制字符（{hidden}），请删除后再保存")
        tiers.append((match["name"].strip(), int(match["count"])))
    check_tiers(tiers)
    return tiers


def check_tiers(tiers: Sequence[tuple[str, int]]) -> None:
    """Raise DrawError unless tiers are 1-10 distinct names of up to 40 characters with 1-1000 prizes each."""
    if not tiers:
        raise DrawError("至少设置一个奖项，例如：一等奖 1")
    if len(tiers) > TIERS_MAX:
        raise DrawError(f"奖项最多 {TIERS_MAX} 个")
    seen = set()
    for name, count in tiers:
        if not isinstance(name, str) or not name.strip():
            raise DrawError("奖项名称不能为空")
        if len(name) > TIER_NAME_MAX:
            raise DrawError(f"奖项名称“{name[:10]}…”超过 {TIER_NAME_MAX} 个字")
        if name in seen:
            raise DrawError(f"奖项“{name}”重复了")
        seen.add(name)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= TIER_COUNT_MAX:
            raise DrawError(f"奖项“{name}”的数量必须是 1 到 {TIER_COUNT_MAX} 之间的整数")


def format_tiers(tiers: Sequence[tuple[str, int]]) -> str:
    """Tiers as the CLI writes them: ``一等奖:1,二等奖:3``."""
    return ",".join(f"{name}:{count}" for name, count in tiers)


# ---------------------------------------------------------------- the draw

def _pick(seed: bytes, counter: int, n: int) -> tuple[int, int]:
    """A uniform index below n from HMAC-SHA256(seed, counter), by rejection; returns (index, next counter)."""
    limit = (_SPACE // n) * n
    while True:
        block = hmac.new(seed, counter.to_bytes(8, "big"), hashlib.sha256).digest()
        counter += 1
        value = int.from_bytes(block, "big")
        if value < limit:
            return value % n, counter


def draw_winners(seed: bytes, eligible: Sequence[str], tiers: Sequence[tuple[str, int]]) -> list[tuple[str, str]]:
    """Draw the winners: [(tier, entry), ...] in drawing order (see the module docstring for the procedure).

    Deterministic: the same seed, entries (in any order) and tiers give the
    same winners. Nobody wins twice; when there are fewer entries than prizes,
    every entry wins and the prizes left over are not awarded.
    """
    if not isinstance(seed, bytes | bytearray) or not seed:
        raise DrawError("seed must be non-empty bytes")
    check_tiers(tiers)
    remaining = sorted(eligible)
    if len(set(remaining)) != len(remaining):
        raise DrawError("duplicate entries: each person enters once")
    winners: list[tuple[str, str]] = []
    counter = 0
    for name, count in tiers:
        for _ in range(count):
            if not remaining:
                return winners
            index, counter = _pick(bytes(seed), counter, len(remaining))
            winners.append((name, remaining.pop(index)))
    return winners


# ---------------------------------------------------------------- verification

@dataclass
class Verification:
    """The outcome of re-running a published draw."""

    winners: list[tuple[str, str]] = field(default_factory=list)  # as recomputed
    problems: list[str] = field(default_factory=list)  # empty when everything matches

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(seed_hex: str, commitment_hex: str, eligible: Sequence[str], tiers: Sequence[tuple[str, int]],
           published: Sequence[tuple[str, str]] | None = None) -> Verification:
    """Re-run a draw: check sha256(seed) == commitment, recompute the winners, compare with the published ones.

    published=None skips the comparison (only the commitment is checked).
    """
    result = Verification()
    try:
        seed = parse_seed(seed_hex)
    except DrawError as exc:
        result.problems.append(str(exc))
        return result
    if not commitment_matches(seed, commitment_hex or ""):
        result.problems.append(f"commitment mismatch: sha256(seed) = {commitment(seed)}, published {commitment_hex}")
    try:
        result.winners = draw_winners(seed, list(eligible), list(tiers))
    except DrawError as exc:
        result.problems.append(str(exc))
        return result
    if published is not None:
        expected = [tuple(w) for w in published]
        if expected != result.winners:
            result.problems.append("published winners differ from the recomputed ones")
    return result


def document_parts(doc: dict) -> tuple[str, str, list[str], list[tuple[str, int]], list[tuple[str, str]] | None]:
    """(seed, commitment, eligible, tiers, winners) out of a downloaded draw JSON; DrawError when incomplete."""
    if not isinstance(doc, dict):
        raise DrawError("not a draw document (expected a JSON object)")
    seed = doc.get("seed")
    if not seed:
        raise DrawError("the draw has not taken place yet: no seed published")
    try:
        tiers = [(str(name), int(count)) for name, count in doc["tiers"]]
        eligible = [str(e) for e in doc["eligible"]]
        winners = doc.get("winners")
        published = None if winners is None else [(str(w["tier"]), str(w["entry"])) for w in winners]
        return str(seed), str(doc["commitment"]), eligible, tiers, published
    except (KeyError, TypeError, ValueError) as exc:
        raise DrawError(f"not a draw document: {exc.__class__.__name__} {exc}") from exc
