"""Answering a consultation in the chat: one question at a time, skip, back, resume, change until it closes."""

from __future__ import annotations

from typing import Any

from core import campaigns
from core.campaigns import AnswerSummary, CampaignClosed, NeedsConsent, QuestionView
from core.campaigns.definition import language_for
from core.conversation.account import needs_consent
from core.conversation.base import MAX_MESSAGE_CHARS, Button, Safe, Turn, cut, visible_length
from core.conversation.errors import explain
from core.conversation.fit import cut_units, shares, units
from core.errors import DomainError, Invalid, NotFound
from core.models import Campaign, CampaignStatus, QuestionKind
from core.timeutil import local_date

# The longest a question and an answer are shown in the summary; when all of them would not fit in one message,
# each is cut further (see _summary_items).
SUMMARY_QUESTION_CHARS = 120
SUMMARY_ANSWER_CHARS = 200


def list_open(turn: Turn) -> None:
    """Open consultations near the resident (kept location) or about what they follow."""
    found = campaigns.open_for(turn.session, resident=turn.resident, now=turn.env.now)
    if not found:
        turn.say("campaigns-none")
        return
    rows = [[Button(cut(campaigns.text_in(c.title, turn.lang), 60), f"cs:{c.code}")] for c in found[:10]]
    turn.say("campaigns-list", buttons=rows, count=len(found))


def _campaign(turn: Turn, code: str, preview: str | None = None) -> Campaign | None:
    try:
        if preview:
            campaign = campaigns.open_for_preview(turn.session, payload=preview, secret=turn.env.secret)
            if campaign.status == CampaignStatus.DRAFT:
                return campaign
        return campaigns.open_for_resident(turn.session, code=code, resident=turn.resident, now=turn.env.now)
    except CampaignClosed:
        if turn.in_flow("campaign"):
            turn.end_flow()
        turn.say("campaign-closed")
    except NotFound:
        turn.say("campaign-unknown")
    return None


def start(turn: Turn, code: str, *, preview: str | None = None) -> None:
    """Open a consultation from a deep link, a button or the list: its intro, then where the resident left off.

    `preview` is a draft's preview payload (`<token>_<code>`): the organizer tries the campaign before it opens.
    """
    campaign = _campaign(turn, code, preview)
    if campaign is None or needs_consent(turn, f"cp:{preview}" if preview else f"cs:{code}"):
        return
    preview = preview if campaign.status == CampaignStatus.DRAFT else None
    turn.set_flow("campaign", "intro", {"code": campaign.code, "index": -1, "sel": [], "change": False,
                                        "preview": preview})
    if preview:
        turn.say("campaign-preview")
    lang = language_for(campaign, turn.lang)
    progress = campaigns.progress(turn.session, campaign=campaign, resident=turn.resident, now=turn.env.now)
    if progress.completed:
        _summary(turn, campaign)
        return
    if not progress.started:
        until = (turn.t("campaign-closes-on", date=local_date(campaign.closes_at, turn.env.policy.zone).isoformat())
                 if campaign.closes_at else turn.t("campaign-open-ended"))
        turn.say("campaign-intro", title=campaigns.text_in(campaign.title, lang),
                 description=cut(campaigns.text_in(campaign.description, lang), 1500),
                 count=progress.total, until=until)
    _ask_next(turn, campaign)


def _ask_next(turn: Turn, campaign: Campaign) -> None:
    view = campaigns.next_question(turn.session, campaign=campaign, resident=turn.resident, language=turn.lang,
                                   now=turn.env.now)
    if view is None:
        _finish(turn, campaign)
        return
    _show(turn, campaign, view, change=False)


def _show(turn: Turn, campaign: Campaign, view: QuestionView, *, change: bool) -> None:
    selected: list[int] = []
    if view.kind is QuestionKind.MULTIPLE_CHOICE and isinstance(view.current, list):
        selected = [int(i) for i in view.current]
    turn.set_flow("campaign", "question", {"code": campaign.code, "index": view.index, "sel": selected,
                                           "change": change, "preview": _preview_of(turn)})
    turn.say("campaign-question", buttons=_buttons(turn, view, selected, change=change), header=view.header,
             text=view.text, hint=view.hint)


def _buttons(turn: Turn, view: QuestionView, selected: list[int], *, change: bool) -> list[list[Button]]:
    i = view.index
    rows: list[list[Button]] = []
    if view.kind is QuestionKind.SINGLE_CHOICE:
        rows = [[Button(cut(label, 60), f"ca:{i}:{n}")] for n, label in enumerate(view.options)]
    elif view.kind is QuestionKind.MULTIPLE_CHOICE:
        rows = [[Button(("✓ " if n in selected else "") + cut(label, 58), f"cm:{i}:{n}")]
                for n, label in enumerate(view.options)]
        rows.append([turn.button("button-done", f"cd:{i}")])
    elif view.kind is QuestionKind.SCALE:
        rows = [[Button(str(n), f"ca:{i}:{n}") for n in range(1, 6)]]
    nav = []
    if i > 0 and not change:
        nav.append(turn.button("button-back", "cb"))
    if not view.required:
        nav.append(turn.button("button-skip", f"ck:{i}"))
    if nav:
        rows.append(nav)
    return rows


def _preview_of(turn: Turn) -> str | None:
    """The preview payload carried by the resident's campaign flow, if they are trying a draft."""
    if turn.flow is not None and turn.flow.flow == "campaign":
        value = turn.flow.data.get("preview")
        return str(value) if value else None
    return None


def _state(turn: Turn) -> tuple[Campaign, dict[str, Any]] | None:
    if not turn.in_flow("campaign") or turn.flow is None:
        turn.say("flow-expired")
        return None
    data = dict(turn.flow.data)
    campaign = _campaign(turn, str(data.get("code", "")), data.get("preview"))
    if campaign is None:
        return None
    return campaign, data


def _store(turn: Turn, campaign: Campaign, data: dict[str, Any], index: int, value: Any) -> None:
    """Store an answer (value None: skip) and show what comes next."""
    try:
        if data.get("change"):
            campaigns.change_answer(turn.session, campaign=campaign, resident=turn.resident, question_index=index,
                                    value=value, now=turn.env.now, policy=turn.env.policy)
            _summary(turn, campaign)
            return
        if value is None:
            campaigns.skip(turn.session, campaign=campaign, resident=turn.resident, question_index=index,
                           now=turn.env.now)
        else:
            campaigns.answer(turn.session, campaign=campaign, resident=turn.resident, question_index=index,
                             value=value, now=turn.env.now, policy=turn.env.policy)
    except CampaignClosed:
        turn.end_flow()
        turn.say("campaign-closed")
        return
    except NeedsConsent:
        needs_consent(turn, f"cs:{campaign.code}")
        return
    except DomainError as exc:
        explain(turn, exc)
        return
    _ask_next(turn, campaign)


def on_callback(turn: Turn, head: str, rest: str) -> None:
    """A button of a question: ca (answer), cm (toggle), cd (done), ck (skip), cb (back), cc (change)."""
    state = _state(turn)
    if state is None:
        return
    campaign, data = state
    parts = rest.split(":") if rest else []
    if head == "cb":
        try:
            campaigns.back(turn.session, campaign=campaign, resident=turn.resident, now=turn.env.now)
        except DomainError as exc:
            explain(turn, exc)
            return
        _ask_next(turn, campaign)
        return
    if not parts or not parts[0].isdigit():
        turn.say("flow-expired")
        return
    index = int(parts[0])
    if head == "cc":
        view = campaigns.question_view(campaign, index=index, language=turn.lang,
                                       current=campaigns.answer_value(turn.session, campaign=campaign,
                                                                      resident=turn.resident, question_index=index))
        _show(turn, campaign, view, change=True)
        return
    if index != data.get("index"):
        turn.say("flow-expired")  # a button of a question already answered
        return
    if head == "ca" and len(parts) == 2 and parts[1].isdigit():
        _store(turn, campaign, data, index, int(parts[1]))
    elif head == "ck":
        _store(turn, campaign, data, index, None)
    elif head == "cm" and len(parts) == 2 and parts[1].isdigit():
        option = int(parts[1])
        selected = set(data.get("sel", []))
        selected ^= {option}
        data["sel"] = sorted(selected)
        view = campaigns.question_view(campaign, index=index, language=turn.lang)
        turn.set_flow("campaign", "question", data)
        reply = turn.say("campaign-question", buttons=_buttons(turn, view, data["sel"], change=bool(data["change"])),
                         header=view.header, text=view.text, hint=view.hint)
        reply.edit = True
    elif head == "cd":
        if not data.get("sel"):
            turn.say("campaign-choose-one")
            return
        _store(turn, campaign, data, index, list(data["sel"]))
    else:
        turn.say("flow-expired")


def on_text(turn: Turn, text: str) -> None:
    """Typed text during a consultation: the answer to a free-text question, else a hint to use the buttons."""
    state = _state(turn)
    if state is None:
        return
    campaign, data = state
    index = int(data.get("index", 0))
    view = campaigns.question_view(campaign, index=index, language=turn.lang)
    if view.kind is not QuestionKind.FREE_TEXT:
        turn.say("campaign-use-buttons")
        return
    _store(turn, campaign, data, index, text)


def _finish(turn: Turn, campaign: Campaign) -> None:
    try:
        campaigns.finish(turn.session, campaign=campaign, resident=turn.resident, now=turn.env.now)
    except Invalid as exc:
        missing = exc.details.get("missing")
        if isinstance(missing, list) and missing:
            view = campaigns.question_view(campaign, index=int(missing[0]) - 1, language=turn.lang)
            turn.say("campaign-missing", number=view.number)
            _show(turn, campaign, view, change=False)
            return
        explain(turn, exc)
        return
    _summary(turn, campaign, thanks=True)


def _summary(turn: Turn, campaign: Campaign, *, thanks: bool = False) -> None:
    """The resident's answers, with a button to change each until the campaign closes."""
    turn.set_flow("campaign", "summary", {"code": campaign.code, "index": -1, "sel": [], "change": False,
                                          "preview": _preview_of(turn)})
    answers = campaigns.summary_of_answers(turn.session, campaign=campaign, resident=turn.resident,
                                           language=turn.lang)
    rows = [[turn.button("campaign-change", f"cc:{a.index}", number=a.index + 1)] for a in answers]
    lang = language_for(campaign, turn.lang)
    title = campaigns.text_in(campaign.title, lang)
    if thanks:
        when = (turn.t("campaign-results-when", date=local_date(campaign.closes_at, turn.env.policy.zone)
                       .isoformat()) if campaign.closes_at else turn.t("campaign-results-when-open"))
        turn.say("campaign-thanks", title=title, when=when)
    turn.say("campaign-summary", buttons=rows, title=title, items=_summary_items(turn, answers, title))


def _summary_items(turn: Turn, answers: list[AnswerSummary], title: str) -> Safe:
    """The summary's lines, each question and answer cut so that the whole summary is one message.

    The summary is sent in the transaction that stores the last answer and finishes the response: a message
    over Telegram's limit would undo both, on every retry. What the frame and the line numbers take is
    measured; the rest is shared among the questions and answers (short ones keep their length, long ones get
    an even share), in the unit Telegram counts.
    """
    wanted = [min(units(text), cap) for a in answers
              for text, cap in ((a.question, SUMMARY_QUESTION_CHARS), (a.answer, SUMMARY_ANSWER_CHARS))]
    frame = visible_length(turn.t("campaign-summary", title=title, items=Safe("")))
    frame += sum(visible_length(turn.t("campaign-summary-item", number=a.index + 1, question="", answer=""))
                 for a in answers) + max(len(answers) - 1, 0)  # the newlines between lines
    budget = MAX_MESSAGE_CHARS - frame
    while True:
        allowed = shares(wanted, budget)
        items = Safe("\n".join(
            turn.t("campaign-summary-item", number=a.index + 1, question=cut_units(a.question, allowed[2 * n]),
                   answer=cut_units(a.answer, allowed[2 * n + 1])) for n, a in enumerate(answers)))
        excess = visible_length(turn.t("campaign-summary", title=title, items=items)) - MAX_MESSAGE_CHARS
        if excess <= 0 or budget <= 0:
            return items  # measured to fit (the frame alone always does: the title is at most 200 characters)
        budget -= excess
