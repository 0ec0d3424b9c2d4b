"""Helpers shared by test modules (fixtures live in conftest.py): the player-side view of console-made rows."""

from __future__ import annotations

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
