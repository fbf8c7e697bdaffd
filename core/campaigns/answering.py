"""Residents answering a campaign in the chat: one response each, one answer per question, resumable.

Everything the bot needs to resume is stored: the response's `current_index` is the next question to show,
and the answers are rows, so a restarted bot (or another worker) carries on where the resident left off.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import nlp
from core.campaigns.definition import (
    SCALE,
    CampaignClosed,
    NeedsConsent,
    get_by_code,
    is_accepting,
    language_for,
    text_in,
)
from core.campaigns.targeting import respondent_district
from core.concerns import IntakePolicy
from core.errors import Invalid, NotFound
from core.i18n import t
from core.models import (
    Campaign,
    CampaignAnswer,
    CampaignAnswerPhrase,
    CampaignResponse,
    CampaignStatus,
    QuestionKind,
    Resident,
)

MAX_ANSWER_CHARS = 2000

AnswerValue = int | list[int] | str


@dataclass(frozen=True)
class Progress:
    """Where a resident is in a campaign (all derived from the stored response)."""

    code: str
    total: int
    current_index: int  # the next question to show; == total when every question was reached
    answered: list[int]  # question indexes with an answer (skipped ones not included)
    skipped: list[int]
    started: bool
    completed: bool
    accepting: bool  # answers (and changes) are still taken

    @property
    def at_end(self) -> bool:
        return self.current_index >= self.total


@dataclass(frozen=True)
class QuestionView:
    """One question as the bot shows it, in one language (plain text; the bot escapes it)."""

    index: int
    number: int
    total: int
    kind: QuestionKind
    required: bool
    title: str
    text: str
    options: list[str]
    header: str  # "Question 2 of 5"
    hint: str  # how to answer this kind (choose one, choose any then Done, 1–5, type) and whether it can be skipped
    current: AnswerValue | None  # the resident's stored answer, for back and change

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "number": self.number, "total": self.total, "kind": self.kind.value,
                "required": self.required, "header": self.header, "text": self.text, "options": self.options,
                "hint": self.hint}


@dataclass(frozen=True)
class AnswerSummary:
    index: int
    question: str
    answer: str  # the answer in words; "skipped" / "not answered" from prompts


def open_for_resident(session: Session, *, code: str, resident: Resident, now: datetime) -> Campaign:
    """The campaign behind a `c_<code>` link or a `cs:<code>` button if it takes answers; else a domain error.

    NotFound for an unknown code or a draft (drafts do not exist for residents); CampaignClosed when it is closed,
    archived, or past its closing time.
    """
    campaign = get_by_code(session, code=code)
    if campaign.status == CampaignStatus.DRAFT:
        raise NotFound("no such campaign")
    if not is_accepting(campaign, now):
        raise CampaignClosed("this campaign is closed")
    return campaign


def _response(session: Session, campaign: Campaign, resident: Resident, *, lock: bool = False
              ) -> CampaignResponse | None:
    query = select(CampaignResponse).where(CampaignResponse.campaign_id == campaign.id,
                                           CampaignResponse.resident_id == resident.id)
    return session.scalar(query.with_for_update() if lock else query)


def _answers(session: Session, response: CampaignResponse | None) -> dict[int, CampaignAnswer]:
    if response is None:
        return {}
    return {a.question_index: a for a in session.scalars(
        select(CampaignAnswer).where(CampaignAnswer.response_id == response.id))}


def _progress(campaign: Campaign, response: CampaignResponse | None, answers: dict[int, CampaignAnswer],
              now: datetime) -> Progress:
    total = len(campaign.questions)
    return Progress(
        code=campaign.code, total=total, current_index=min(response.current_index, total) if response else 0,
        answered=sorted(i for i, a in answers.items() if not a.skipped),
        skipped=sorted(i for i, a in answers.items() if a.skipped),
        started=response is not None, completed=response is not None and response.completed_at is not None,
        accepting=is_accepting(campaign, now))


def progress(session: Session, *, campaign: Campaign, resident: Resident, now: datetime) -> Progress:
    """Where the resident is in the campaign (for resume after any pause or restart)."""
    response = _response(session, campaign, resident)
    return _progress(campaign, response, _answers(session, response), now)


def _value_of(answer: CampaignAnswer | None) -> AnswerValue | None:
    if answer is None or answer.skipped:
        return None
    if answer.mask is not None:
        return [i for i in range(answer.mask.bit_length()) if answer.mask >> i & 1]
    if answer.text is not None:
        return answer.text
    return answer.value


def question_view(campaign: Campaign, *, index: int, language: str | None, current: AnswerValue | None = None
                  ) -> QuestionView:
    """The question at this index, in the resident's language (or the campaign's first)."""
    questions = campaign.questions
    if not 0 <= index < len(questions):
        raise Invalid(f"question index must be 0 to {len(questions) - 1}")
    lang = language_for(campaign, language)
    question = questions[index]
    kind = QuestionKind(question["kind"])
    hint = t(lang, f"campaign-hint-{kind.value}")
    if not question["required"]:
        hint = f"{hint} {t(lang, 'campaign-hint-optional')}"
    return QuestionView(
        index=index, number=index + 1, total=len(questions), kind=kind, required=bool(question["required"]),
        title=text_in(campaign.title, lang), text=text_in(question["text"], lang),
        options=[text_in(o, lang) for o in question["options"]],
        header=t(lang, "campaign-question-header", number=index + 1, total=len(questions)), hint=hint,
        current=current)


def next_question(session: Session, *, campaign: Campaign, resident: Resident, language: str | None,
                  now: datetime) -> QuestionView | None:
    """The question to show now (with any stored answer), or None when every question was reached."""
    response = _response(session, campaign, resident)
    index = response.current_index if response else 0
    if index >= len(campaign.questions):
        return None
    answers = _answers(session, response)
    return question_view(campaign, index=index, language=language or resident.language,
                         current=_value_of(answers.get(index)))


def _ensure_accepting(campaign: Campaign, resident: Resident, now: datetime) -> None:
    if not is_accepting(campaign, now):
        raise CampaignClosed("this campaign is closed; answers are no longer taken")
    if resident.consent_at is None:
        raise NeedsConsent("answering a campaign needs consent")


def _start(session: Session, campaign: Campaign, resident: Resident, now: datetime) -> CampaignResponse:
    """The resident's response, locked for this transaction; created (with their district) on first answer."""
    response = _response(session, campaign, resident, lock=True)
    if response is not None:
        return response
    district_id = respondent_district(session, campaign=campaign, resident=resident, now=now)
    try:
        with session.begin_nested():
            response = CampaignResponse(campaign_id=campaign.id, resident_id=resident.id, district_id=district_id,
                                        current_index=0, started_at=now, updated_at=now)
            session.add(response)
            session.flush()
    except IntegrityError:
        # The same resident's other update created it first (one response per resident per campaign).
        response = _response(session, campaign, resident, lock=True)
        if response is None:
            raise
    return response


def _check_index(campaign: Campaign, response: CampaignResponse, question_index: int) -> dict[str, Any]:
    total = len(campaign.questions)
    if isinstance(question_index, bool) or not 0 <= question_index < total:
        raise Invalid(f"question index must be 0 to {total - 1}")
    if question_index > response.current_index:
        raise Invalid("answer the questions in order")
    question: dict[str, Any] = campaign.questions[question_index]
    return question


def _index_list(value: Any, count: int) -> list[int]:
    if not isinstance(value, list) or not value:
        raise Invalid("choose at least one option")
    chosen = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item < count:
            raise Invalid(f"options are numbered 0 to {count - 1}")
        chosen.append(item)
    return sorted(set(chosen))


def _clear(answer: CampaignAnswer) -> None:
    answer.skipped = False
    answer.value = answer.mask = None
    answer.text = answer.language = answer.label = answer.category = None
    answer.polarity = answer.subjectivity = None
    answer.key_phrases = answer.flags = None


def _fill(answer: CampaignAnswer, question: dict[str, Any], value: Any, resident: Resident,
          policy: IntakePolicy | None, analyzer: nlp.SentimentAnalyzer | None) -> None:
    kind = QuestionKind(question["kind"])
    count = len(question["options"])
    _clear(answer)
    if kind is QuestionKind.SINGLE_CHOICE:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
            raise Invalid(f"choose one option, numbered 0 to {count - 1}")
        answer.value = value
    elif kind is QuestionKind.MULTIPLE_CHOICE:
        answer.mask = sum(1 << i for i in _index_list(value, count))
    elif kind is QuestionKind.SCALE:
        if isinstance(value, bool) or not isinstance(value, int) or not SCALE[0] <= value <= SCALE[1]:
            raise Invalid(f"answer with a whole number from {SCALE[0]} to {SCALE[1]}")
        answer.value = value
    else:
        if not isinstance(value, str):
            raise Invalid("answer in words")
        # The same intake as a concern: validated, redacted, language, sentiment, label, key phrases, category.
        analysis = nlp.analyze(value, prior_language=resident.language,
                               region=policy.phone_region if policy else IntakePolicy.phone_region,
                               analyzer=analyzer, max_chars=MAX_ANSWER_CHARS)
        answer.text, answer.language, answer.category = analysis.text, analysis.language, analysis.category
        answer.polarity, answer.subjectivity, answer.label = analysis.polarity, analysis.subjectivity, analysis.label
        answer.key_phrases, answer.flags = list(analysis.key_phrases), list(analysis.flags)


def _store(session: Session, *, campaign: Campaign, resident: Resident, question_index: int, value: Any,
           skip: bool, now: datetime, policy: IntakePolicy | None, analyzer: nlp.SentimentAnalyzer | None,
           advance: bool) -> Progress:
    _ensure_accepting(campaign, resident, now)
    response = _start(session, campaign, resident, now)
    question = _check_index(campaign, response, question_index)
    answers = _answers(session, response)
    answer = answers.get(question_index) or CampaignAnswer(response_id=response.id, campaign_id=campaign.id,
                                                           question_index=question_index)
    if skip:
        if question["required"]:
            raise Invalid("this question needs an answer")
        _clear(answer)
        answer.skipped = True
    else:
        _fill(answer, question, value, resident, policy, analyzer)
    answer.answered_at = now
    if answer.id is None:
        session.add(answer)
        session.flush()
    else:
        session.execute(delete(CampaignAnswerPhrase).where(CampaignAnswerPhrase.answer_id == answer.id))
    phrases = sorted({p[:200] for p in answer.key_phrases or [] if p})
    if phrases:
        session.execute(insert(CampaignAnswerPhrase), [
            {"answer_id": answer.id, "campaign_id": campaign.id, "question_index": question_index, "phrase": p}
            for p in phrases])
    answers[question_index] = answer
    if advance and response.current_index == question_index:
        response.current_index = question_index + 1
    response.updated_at = now
    session.flush()
    return _progress(campaign, response, answers, now)


def answer(session: Session, *, campaign: Campaign, resident: Resident, question_index: int, value: AnswerValue,
           now: datetime, policy: IntakePolicy, analyzer: nlp.SentimentAnalyzer | None = None) -> Progress:
    """Store the answer to a question reached so far and move on past it.

    Single choice: an option index; multiple choice: a list of option indexes; scale: 1..5; free text: words,
    analysed by the concern intake (redacted, language, sentiment, label, key phrases, category) but stored as a
    campaign answer, never as a concern. Refused (CampaignClosed) once the campaign no longer takes answers.
    """
    return _store(session, campaign=campaign, resident=resident, question_index=question_index, value=value,
                  skip=False, now=now, policy=policy, analyzer=analyzer, advance=True)


def skip(session: Session, *, campaign: Campaign, resident: Resident, question_index: int, now: datetime
         ) -> Progress:
    """Skip a question that is not required, and move on past it."""
    return _store(session, campaign=campaign, resident=resident, question_index=question_index, value=None,
                  skip=True, now=now, policy=None, analyzer=None, advance=True)


def back(session: Session, *, campaign: Campaign, resident: Resident, now: datetime) -> Progress:
    """Go back one question (its stored answer stays until it is answered again)."""
    _ensure_accepting(campaign, resident, now)
    response = _response(session, campaign, resident, lock=True)
    if response is None:
        return _progress(campaign, None, {}, now)
    response.current_index = max(0, min(response.current_index, len(campaign.questions)) - 1)
    response.updated_at = now
    session.flush()
    return _progress(campaign, response, _answers(session, response), now)


def finish(session: Session, *, campaign: Campaign, resident: Resident, now: datetime) -> Progress:
    """Mark the response complete once every required question has an answer (changes stay possible until close)."""
    _ensure_accepting(campaign, resident, now)
    response = _response(session, campaign, resident, lock=True)
    if response is None:
        raise Invalid("nothing answered yet")
    answers = _answers(session, response)
    missing = [i + 1 for i, q in enumerate(campaign.questions)
               if q["required"] and (i not in answers or answers[i].skipped)]
    if missing:
        raise Invalid(f"question {', '.join(map(str, missing))} still needs an answer", missing=missing)
    unreached = [i for i in range(len(campaign.questions)) if i not in answers]
    if unreached:
        raise Invalid(f"question {unreached[0] + 1} has not been answered or skipped yet")
    response.current_index = len(campaign.questions)
    if response.completed_at is None:
        response.completed_at = now
    response.updated_at = now
    session.flush()
    return _progress(campaign, response, answers, now)


def change_answer(session: Session, *, campaign: Campaign, resident: Resident, question_index: int,
                  value: AnswerValue | None, now: datetime, policy: IntakePolicy,
                  analyzer: nlp.SentimentAnalyzer | None = None) -> Progress:
    """Change the answer to a question already reached (value None skips it when allowed), until the campaign
    closes; the resident's place in the campaign does not move."""
    return _store(session, campaign=campaign, resident=resident, question_index=question_index, value=value,
                  skip=value is None, now=now, policy=policy, analyzer=analyzer, advance=False)


def _words(question: dict[str, Any], answer: CampaignAnswer | None, language: str) -> str:
    if answer is None:
        return t(language, "campaign-answer-none")
    if answer.skipped:
        return t(language, "campaign-answer-skipped")
    kind = QuestionKind(question["kind"])
    options = [text_in(o, language) for o in question["options"]]
    if kind is QuestionKind.SINGLE_CHOICE and answer.value is not None:
        return options[answer.value]
    if kind is QuestionKind.MULTIPLE_CHOICE and answer.mask is not None:
        return ", ".join(options[i] for i in range(len(options)) if answer.mask >> i & 1)
    if kind is QuestionKind.SCALE and answer.value is not None:
        return t(language, "campaign-answer-scale", value=answer.value, top=SCALE[1])
    return answer.text or t(language, "campaign-answer-removed")


def summary_of_answers(session: Session, *, campaign: Campaign, resident: Resident, language: str | None
                       ) -> list[AnswerSummary]:
    """Every question with the resident's answer in words, in order (for the summary after finishing)."""
    lang = language_for(campaign, language or resident.language)
    answers = _answers(session, _response(session, campaign, resident))
    return [AnswerSummary(i, text_in(q["text"], lang), _words(q, answers.get(i), lang))
            for i, q in enumerate(campaign.questions)]


def answer_value(session: Session, *, campaign: Campaign, resident: Resident, question_index: int
                 ) -> AnswerValue | None:
    """The resident's stored answer to one question (None when skipped or not answered)."""
    return _value_of(_answers(session, _response(session, campaign, resident)).get(question_index))


def forget_respondent(session: Session, *, resident_id: int) -> int:
    """On erase: unlink the resident's responses and empty their free text; choices and scale values stay, so
    results stay honest (as erase does with concerns). Return how many responses were unlinked."""
    response_ids = list(session.scalars(select(CampaignResponse.id).where(CampaignResponse.resident_id == resident_id)))
    if not response_ids:
        return 0
    answer_ids = select(CampaignAnswer.id).where(CampaignAnswer.response_id.in_(response_ids))
    session.execute(delete(CampaignAnswerPhrase).where(CampaignAnswerPhrase.answer_id.in_(answer_ids)))
    session.execute(update(CampaignAnswer).where(CampaignAnswer.response_id.in_(response_ids),
                                                 CampaignAnswer.text.is_not(None))
                    .values(text="", key_phrases=[], flags=[]))
    session.execute(update(CampaignResponse).where(CampaignResponse.id.in_(response_ids)).values(resident_id=None))
    return len(response_ids)


def answers_of(session: Session, *, response_ids: list[int]) -> list[CampaignAnswer]:
    """The answer rows of these responses (for a resident's data export)."""
    if not response_ids:
        return []
    return list(session.scalars(select(CampaignAnswer).where(CampaignAnswer.response_id.in_(response_ids))
                                .order_by(CampaignAnswer.id)))
