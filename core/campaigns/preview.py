"""What residents will see, for the organizer to check before opening: the invitation and every question."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from core import outbox
from core.campaigns.answering import question_view
from core.campaigns.definition import text_in
from core.campaigns.lifecycle import INVITATION, about
from core.models import Campaign


def preview(campaign: Campaign, *, zone: ZoneInfo) -> dict[str, Any]:
    """Per language of the campaign: title, description, the invitation message and each question as the bot
    shows it (header, text, options, hint)."""
    languages = {}
    for language in campaign.languages:
        invitation = outbox.render(INVITATION, about(campaign, zone), language)
        languages[language] = {
            "title": text_in(campaign.title, language),
            "description": text_in(campaign.description, language),
            "invitation": invitation.text,
            "questions": [question_view(campaign, index=i, language=language).as_dict()
                          for i in range(len(campaign.questions))],
        }
    return {"languages": languages}
