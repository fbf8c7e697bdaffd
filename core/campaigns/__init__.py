"""Consultations: organizers' campaigns, residents' answers in the chat, results and the lifecycle job.

- definition: the validated spec, codes, owners and the draft → open → closed → archived transitions
- targeting: who a campaign reaches, which open campaigns a resident finds, a respondent's district
- answering: one response per resident, one answer per question, resumable from the stored response
- results: full and public (suppressed) figures, the anonymised CSV
- lifecycle: the scheduled job's body (open/close on time, invitations, the halfway reminder, results notice)
"""

from core.campaigns.answering import (
    AnswerSummary,
    AnswerValue,
    Progress,
    QuestionView,
    answer,
    answer_value,
    answers_of,
    back,
    change_answer,
    finish,
    forget_respondent,
    next_question,
    open_for_resident,
    progress,
    question_view,
    skip,
    summary_of_answers,
)
from core.campaigns.definition import (
    CampaignClosed,
    CampaignSpec,
    NeedsConsent,
    archive_campaign,
    close_campaign,
    create,
    edit,
    get,
    get_by_code,
    is_accepting,
    list_for,
    open_campaign,
    open_for_preview,
    parse_spec,
    preview_payload,
    spec_of,
    text_in,
)
from core.campaigns.lifecycle import INVITATION, REMINDER, RESULTS, LifecycleReport, lifecycle
from core.campaigns.preview import preview
from core.campaigns.results import headline, public_results, responses_csv, results
from core.campaigns.targeting import NEAR_DEPLOYMENT_M, estimate_reach, open_for, reached_residents, respondent_district

__all__ = [
    "INVITATION",
    "NEAR_DEPLOYMENT_M",
    "REMINDER",
    "RESULTS",
    "AnswerSummary",
    "AnswerValue",
    "CampaignClosed",
    "CampaignSpec",
    "LifecycleReport",
    "NeedsConsent",
    "Progress",
    "QuestionView",
    "answer",
    "answer_value",
    "answers_of",
    "archive_campaign",
    "back",
    "change_answer",
    "close_campaign",
    "create",
    "edit",
    "estimate_reach",
    "finish",
    "forget_respondent",
    "get",
    "get_by_code",
    "headline",
    "is_accepting",
    "lifecycle",
    "list_for",
    "next_question",
    "open_campaign",
    "open_for",
    "open_for_preview",
    "open_for_resident",
    "parse_spec",
    "preview",
    "preview_payload",
    "progress",
    "public_results",
    "question_view",
    "reached_residents",
    "respondent_district",
    "responses_csv",
    "results",
    "skip",
    "spec_of",
    "summary_of_answers",
    "text_in",
]
