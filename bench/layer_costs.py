#!/usr/bin/env python3
"""CPU per statement of three ways to run the play loop's lookups, on the same SQLite database.

    .venv/bin/python bench/layer_costs.py

Loads one attempt by its public id (the first statement of every question GET and answer POST) N times:
  plain  the app's RawConnection (a pooled DB-API connection, fixed SQL text, values adapted by hand)
  core   a SQLAlchemy Core select() built once, run on a Connection (compiled-statement cache)
  orm    a Session select() of the mapped Attempt with its campaign joined
The figures back docs/decisions/0001-play-loop-data-layer.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N = 3000


def main() -> None:
    tmp = tempfile.mkdtemp(prefix="layer-costs-")
    url = f"sqlite:///{tmp}/costs.db"
    env = {**os.environ, "QUIZAPP_DATABASE_URL": url, "QUIZAPP_SECRET_KEY": "k" * 40}
    subprocess.run([str(ROOT / ".venv/bin/quizapp"), "demo", "--no-serve"], env=env, check=True, capture_output=True)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from quizapp import create_app
    from quizapp.extensions import db
    from quizapp.models import Attempt, Campaign
    from quizapp.quiz import attempts, campaigns
    from quizapp.quiz.start import join_and_start

    app = create_app()
    with app.test_request_context("/"):
        _p, attempt, _token = join_and_start(campaigns.find("demo"), "测量", "whsz")
        public_id = attempt.public_id
        core = (select(Attempt.id, Attempt.public_id, Attempt.kind, Attempt.token_hash, Attempt.campaign_id,
                       Attempt.participant_id, Attempt.total, Attempt.seconds_per_question, Attempt.speed_bonus,
                       Attempt.streak_step, Attempt.streak_cap, Attempt.day, Attempt.started_at, Attempt.expires_at,
                       Attempt.finished_at, Attempt.score, Attempt.correct_count, Attempt.duration_ms,
                       Attempt.flags, Campaign.closes_at, Campaign.slug)
                .join(Campaign, Campaign.id == Attempt.campaign_id).where(Attempt.public_id == public_id))
        orm = select(Attempt).options(joinedload(Attempt.campaign)).where(Attempt.public_id == public_id)
        connection = db.engine.connect()

        def plain_once():
            attempts.load(public_id)

        def core_once():
            connection.execute(core).one()

        def orm_once():
            db.session.scalars(orm).one()
            db.session.expunge_all()

        results = {}
        for name, once in (("plain", plain_once), ("core", core_once), ("orm", orm_once)):
            for _ in range(200):
                once()
            samples = []
            for _ in range(5):
                started = time.process_time()
                for _ in range(N):
                    once()
                samples.append((time.process_time() - started) / N * 1e6)
            results[name] = statistics.median(samples)
        connection.close()
    for name, us in results.items():
        print(f"{name:6s} {us:7.1f} us per lookup (median of 5 x {N})")


if __name__ == "__main__":
    main()
