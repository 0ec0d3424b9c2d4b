"""`quizapp draw verify`: re-run a published prize draw offline and check it.

Needs no database and no app: only the JSON the public draw page offers
(``--file``), or the parts given one by one. Exit status 0 when sha256(seed)
equals the commitment and the recomputed winners equal the published ones,
1 on any mismatch or unusable input.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click

from quizapp.prizes import lottery as rules


def _fail(message: str) -> NoReturn:
    click.echo(f"FAIL: {message}", err=True)
    sys.exit(1)


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        _fail(f"cannot read {what} {path}: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(f"{what} {path} is not valid JSON: {exc}")
    return None  # pragma: no cover


def _entries(value, path: Path) -> list[str]:
    """An eligible list: a JSON array of entry strings, or a draw document's "eligible"."""
    if isinstance(value, dict):
        value = value.get("eligible")
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        _fail(f"{path}: expected a JSON array of entries (or a draw document with \"eligible\")")
    return value


def _winners(value, path: Path) -> list[tuple[str, str]]:
    """Published winners: [{"tier", "entry"}, ...] or [[tier, entry], ...], or a draw document's "winners"."""
    if isinstance(value, dict):
        value = value.get("winners")
    try:
        return [(str(w["tier"]), str(w["entry"])) if isinstance(w, dict) else (str(w[0]), str(w[1]))
                for w in value]
    except (KeyError, IndexError, TypeError):
        _fail(f"{path}: expected a JSON array of winners ({{\"tier\", \"entry\"}} objects)")
    return []  # pragma: no cover


@click.group("draw")
def draw_group() -> None:
    """Prize draws: verify a published draw."""


@draw_group.command("verify")
@click.option("--file", "doc_path", type=click.Path(dir_okay=False, path_type=Path),
              help="The draw JSON downloaded from the public draw page (seed, commitment, list, tiers, winners).")
@click.option("--seed", help="Revealed seed, hex (overrides the file's).")
@click.option("--commitment", help="Commitment published before the draw, hex (overrides the file's).")
@click.option("--eligible", "eligible_path", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON array of entries (or a draw JSON), overrides the file's list.")
@click.option("--tiers", help="Tiers in drawing order, e.g. '一等奖:1,二等奖:3' (overrides the file's).")
@click.option("--winners", "winners_path", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON with the published winners to compare (overrides the file's).")
def verify_command(doc_path: Path | None, seed: str | None, commitment: str | None, eligible_path: Path | None,
                   tiers: str | None, winners_path: Path | None) -> None:
    """Re-run a draw: check sha256(seed) == commitment, print the winners, compare with the published ones."""
    doc_seed = doc_commitment = None
    eligible: list[str] | None = None
    tier_list: list[tuple[str, int]] | None = None
    published: list[tuple[str, str]] | None = None
    if doc_path is not None:
        doc = _read_json(doc_path, "draw file")
        try:
            doc_seed, doc_commitment, eligible, tier_list, published = rules.document_parts(doc)
        except rules.DrawError as exc:
            _fail(f"{doc_path}: {exc}")
    if eligible_path is not None:
        eligible = _entries(_read_json(eligible_path, "eligible list"), eligible_path)
    if winners_path is not None:
        published = _winners(_read_json(winners_path, "winners file"), winners_path)
    if tiers is not None:
        try:
            tier_list = rules.parse_tiers(tiers)
        except rules.DrawError as exc:
            _fail(f"--tiers: {exc}")
    seed = seed or doc_seed
    commitment = commitment or doc_commitment
    if seed is None or commitment is None or eligible is None or tier_list is None:
        missing = [name for name, value in (("--seed", seed), ("--commitment", commitment), ("--eligible", eligible),
                                            ("--tiers", tier_list)) if value is None]
        _fail(f"missing {', '.join(missing)} (give them, or --file with the downloaded draw JSON)")

    result = rules.verify(seed, commitment, eligible, tier_list, published)
    click.echo(f"entries: {len(eligible)}; tiers: {rules.format_tiers(tier_list)}")
    for n, (tier, entry) in enumerate(result.winners, start=1):
        click.echo(f"{n:>4}  {tier}  {entry}")
    awarded, offered = len(result.winners), sum(c for _, c in tier_list)
    if result.winners and awarded < offered:
        click.echo(f"{offered - awarded} prize(s) not awarded: fewer entries than prizes")
    if result.ok:
        click.echo("commitment: OK (sha256(seed) matches)")
        click.echo("winners: OK (match the published winners)" if published is not None
                   else "winners: not compared (no published winners given)")
        return
    for problem in result.problems:
        click.echo(f"FAIL: {problem}", err=True)
    sys.exit(1)
