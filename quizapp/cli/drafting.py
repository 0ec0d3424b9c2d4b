"""`quizapp bank draft ARTICLE.txt [--out FILE] [--max N]`: draft a bank file from a pasted article."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from quizapp.bank.loader import parse_bank_text
from quizapp.drafting.draft import DEFAULT_MAX, DraftError, draft_article


def read_article(path: str) -> str:
    """Read an article file (UTF-8, or GB18030 as Chinese Windows saves it); "-" reads standard input."""
    if path == "-":
        data = sys.stdin.buffer.read()
    else:
        try:
            data = Path(path).read_bytes()
        except IsADirectoryError:
            raise click.ClickException(f"{path}: is a directory, not an article file") from None
        except FileNotFoundError:
            raise click.ClickException(f"{path}: no such file") from None
        except OSError as exc:
            raise click.ClickException(f"{path}: cannot read ({exc.strerror or exc.__class__.__name__})") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise click.ClickException(f"{path}: not a text file (neither UTF-8 nor GB18030)")


@click.command("draft")
@click.argument("article", metavar="ARTICLE")
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="write the bank file here instead of printing it")
@click.option("--max", "max_questions", type=click.IntRange(min=1), default=DEFAULT_MAX, show_default=True,
              help="at most this many questions")
@click.option("--force", is_flag=True, help="overwrite --out if it exists")
def draft_command(article: str, out: str | None, max_questions: int, force: bool) -> None:
    """Draft questions from a news article into a bank file of drafts.

    Cleans the pasted text (HTML/Markdown remains, breadcrumbs, site spam, pinyin
    glosses, doubled punctuation, garbled characters), converts it to Simplified
    Chinese and drafts what-to-do, scam-script, hotline, figure and true/false
    questions, each citing its source sentence. Every question is `draft = true`:
    review it, then delete that line to publish. Works offline; the same article
    always gives the same drafts.
    """
    text = read_article(article)
    try:
        bank = draft_article(text, source=None if article == "-" else article, max_questions=max_questions)
    except DraftError as exc:
        raise click.ClickException(f"{article}: nothing to draft: {exc}") from None
    toml_text = bank.to_toml()
    check = parse_bank_text(toml_text, out or "<draft>")
    if check.problems:  # a bug, not the user's fault: say so rather than write a broken file
        details = "; ".join(str(p) for p in check.problems[:5])
        raise click.ClickException(f"internal error: the drafted bank does not validate: {details}")
    if out is None:
        click.echo(toml_text, nl=False)
    else:
        target = Path(out)
        if target.exists() and not force:
            raise click.ClickException(f"{out}: already exists (use --force to overwrite)")
        try:
            target.write_text(toml_text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"{out}: cannot write ({exc.strerror or exc.__class__.__name__})") from None
    where = f" into {out}" if out else ""
    click.echo(f"drafted {bank.summary()} from “{bank.article['title']}”{where}; "
               f"all are drafts until reviewed and published", err=True)
    for note in bank.notes:
        click.echo(f"check: {note}", err=True)
