"""Helpers shared by test modules (fixtures live in conftest.py): the player-side view of console-made rows."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from quizapp.models import Attempt, Campaign, Participant
from quizapp.quiz import campaigns, play, players
from quizapp.quiz.attempts import PlayAttempt
from quizapp.quiz.campaigns import CampaignRules
from quizapp.quiz.play import PlayItem
from quizapp.quiz.players import Player


def rules(campaign: Campaign | CampaignRules) -> CampaignRules:
    """The play loop's view of a campaign made through the ORM (read fresh: tests change campaigns)."""
    return campaigns.get(campaign.id)


def player(participant: Participant | Player) -> Player:
    """The play loop's view of a participant, read fresh (after a finish changed their best)."""
    found = players.find(participant.id)
    assert found is not None
    return found


def campaign_of(participant: Participant | Player) -> CampaignRules:
    """The play loop's view of a participant's campaign."""
    return campaigns.get(participant.campaign_id)


def items(attempt: PlayAttempt | Attempt) -> list[PlayItem]:
    """The attempt's items in order, as the play loop reads them now."""
    return play.items_of(attempt.id)


def quizapp_bin() -> str:
    """The `quizapp` entry point of the environment running the tests (.venv/bin/quizapp)."""
    exe = Path(sys.executable).parent / "quizapp"
    found = str(exe) if exe.exists() else shutil.which("quizapp")
    if not found:
        pytest.fail("the quizapp console script is not installed (pip install -e .)")
    return found


def clean_env(**extra: str) -> dict:
    """This environment without any QUIZAPP_* setting of the caller's, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QUIZAPP_")}
    env.update(extra)
    return env
