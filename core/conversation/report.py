"""Raising a concern: which deployment, the text, a category (suggested first), feeling, location, confirm."""

from __future__ import annotations

import secrets
from dataclasses import asdict, fields
from typing import Any

from core import concerns, nlp
from core.conversation.base import Button, Turn, cut
from core.conversation.errors import explain
from core.conversation.find import ask_location, deployment_by_code
from core.deployments import normalize_code
from core.errors import DomainError, TooLong
from core.models import Category, Concern
from core.nlp.categories import PRIORITY

CONFIRM_PREVIEW_CHARS = 1500


# A draft's buttons carry the start of its nonce ("ok|3f9a1c"): a button of an earlier draft is refused instead
# of acting on the current one (core.conversation checks it before any step runs).
NONCE_CHARS = 6


def _data(turn: Turn) -> dict[str, Any]:
    return dict(turn.flow.data) if turn.flow is not None else {}


def _button(turn: Turn, key: str, action: str, data: dict[str, Any], **args: Any) -> Button:
    return turn.button(key, f"{action}|{str(data['nonce'])[:NONCE_CHARS]}", **args)


def is_skip(turn: Turn, text: str) -> bool:
    """Whether a text is the location keyboard's Skip button (it sends its label, in either language)."""
    return text.strip().casefold() in {turn.label("button-skip").casefold(), "skip", "omitir"}


def belongs(turn: Turn, nonce: str) -> bool:
    """Whether a button with this nonce belongs to the draft in progress."""
    current = str(turn.flow.data.get("nonce", "")) if turn.flow is not None else ""
    return len(nonce) == NONCE_CHARS and current[:NONCE_CHARS] == nonce


def start(turn: Turn, code: str | None) -> None:
    """Begin a concern: about `code`, "-" for a general one, or None to ask which."""
    try:
        concerns.check_rate(turn.session, resident=turn.resident, policy=turn.env.policy, now=turn.env.now)
    except DomainError as exc:
        explain(turn, exc)
        return
    data: dict[str, Any] = {"nonce": secrets.token_hex(8), "code": None}
    if turn.in_flow("report") and turn.flow is not None and turn.flow.data.get("text"):
        # A new concern begun over a written draft replaces it: say so rather than lose it silently.
        turn.say("report-draft-replaced", text=cut(str(turn.flow.data["text"]), 80))
    if code is None:
        current = turn.flow.data.get("code") if turn.in_flow("browse") and turn.flow else None
        rows = []
        if current:
            rows.append([turn.button("report-target-this", f"r:{current}", code=current)])
        rows.append([turn.button("report-target-nearby", "r:?"), turn.button("report-target-general", "r:-")])
        rows.append([_button(turn, "button-cancel", "x", data)])
        turn.set_flow("report", "target", data)
        turn.say("report-ask-target", buttons=rows)
        return
    if code == "?":
        turn.set_flow("report", "target", data)
        ask_location(turn, "report-ask-location-target")
        return
    if code != "-":
        d = deployment_by_code(turn.session, code)
        if d is None:
            turn.say("code-unknown", code=code)
            return
        data["code"] = d.code
        data["name"] = d.name
    turn.set_flow("report", "text", data)
    _ask_text(turn, data)


def _ask_text(turn: Turn, data: dict[str, Any]) -> None:
    cancel = [[_button(turn, "button-cancel", "x", data)]]
    if data.get("code"):
        turn.say("report-ask-text", buttons=cancel, code=data["code"], name=data.get("name", ""),
                 limit=nlp.MAX_CHARS)
    else:
        turn.say("report-ask-text-general", buttons=cancel, limit=nlp.MAX_CHARS)


def on_text(turn: Turn, text: str) -> None:
    """A text message while raising a concern."""
    assert turn.flow is not None
    data, step = _data(turn), turn.flow.step
    if step == "target":
        code = normalize_code(text.strip())
        if code is None:
            turn.say("report-target-not-code")
            return
        start(turn, code)
        return
    if step == "text":
        _take_text(turn, data, text)
        return
    if step == "duplicate":
        turn.say("report-choose-duplicate")
        return
    if step == "location":
        if is_skip(turn, text):
            skip_location(turn)
        else:
            turn.say("report-location-words")  # no geocoder: an address cannot be placed, and is not dropped
        return
    turn.say("report-use-buttons")


def _take_text(turn: Turn, data: dict[str, Any], text: str) -> None:
    try:
        analysis = nlp.analyze(text, prior_language=turn.resident.language, region=turn.env.policy.phone_region)
    except TooLong as exc:
        # The draft is kept: the first part (redacted) can be used with one tap, or a shorter text sent.
        limit = int(str(exc.details.get("limit", nlp.MAX_CHARS)))
        try:
            head = nlp.analyze(nlp.normalize(text)[:limit], prior_language=turn.resident.language,
                               region=turn.env.policy.phone_region)
        except DomainError:
            explain(turn, exc)
            return
        data.update(long_text=head.text, long_category=head.category, long_analysis=asdict(head))
        turn.set_flow("report", "text", data)
        turn.say("report-too-long", buttons=[[_button(turn, "report-use-first", "tr", data, limit=limit)],
                                             [_button(turn, "button-cancel", "x", data)]],
                 length=int(str(exc.details.get("length", 0))), limit=limit)
        return
    except DomainError as exc:
        explain(turn, exc)
        return
    # The analysis goes with the draft: submit then only relabels it with the feeling, and keeps what
    # redaction found (analysing the redacted text again would find no e-mail or phone to flag).
    data.update(text=analysis.text, suggested=analysis.category, analysis=asdict(analysis))
    for key in ("long_text", "long_category", "long_analysis"):
        data.pop(key, None)
    _ask_category(turn, data)


def use_first_part(turn: Turn) -> None:
    data = _data(turn)
    if not turn.in_flow("report", "text") or "long_text" not in data:
        turn.say("flow-expired")
        return
    data.update(text=data.pop("long_text"), suggested=data.pop("long_category"),
                analysis=data.pop("long_analysis", None))
    _ask_category(turn, data)


def _ask_category(turn: Turn, data: dict[str, Any]) -> None:
    suggested = data.get("suggested") or Category.OTHER.value
    rows = [[_button(turn, "report-category-suggested", f"k:{suggested}", data,
                     category=turn.t(f"category-{suggested}"))]]
    others = [c.value for c in PRIORITY if c.value != suggested]
    for i in range(0, len(others), 2):
        rows.append([_button(turn, f"category-{c}", f"k:{c}", data) for c in others[i:i + 2]])
    turn.set_flow("report", "category", data)
    turn.say("report-ask-category", buttons=rows, category=turn.t(f"category-{suggested}"))


def on_category(turn: Turn, category: str) -> None:
    if not turn.in_flow("report") or turn.flow is None or turn.flow.step not in ("category", "confirm"):
        turn.say("flow-expired")
        return
    if category not in {c.value for c in Category}:
        turn.say("error-invalid")
        return
    data = _data(turn)
    data["category"] = category
    if turn.flow.step == "confirm":
        _confirm(turn, data)
        return
    rows = [[_button(turn, f"feeling-{n}", f"e:{n}", data) for n in range(1, 6)],
            [_button(turn, "button-skip", "e:0", data)]]
    turn.set_flow("report", "feeling", data)
    turn.say("report-ask-feeling", buttons=rows)


def on_feeling(turn: Turn, value: str) -> None:
    if not turn.in_flow("report", "feeling") or value not in {"0", "1", "2", "3", "4", "5"}:
        turn.say("flow-expired")
        return
    data = _data(turn)
    data["feeling"] = int(value) or None
    if data.get("code"):
        _confirm(turn, data)
        return
    turn.set_flow("report", "location", data)
    reply = turn.say("report-ask-location")
    reply.ask_location = turn.label("near-button")
    reply.keyboard_extra = turn.label("button-skip")


def on_location(turn: Turn, lat: float, lon: float) -> bool:
    """A location shared during the flow; return False when this step does not want one."""
    assert turn.flow is not None
    data = _data(turn)
    if turn.flow.step == "target":
        from core.conversation.find import show_nearby

        show_nearby(turn, lat, lon, action="r")  # a device picked here is the concern's, not a card to open
        return True
    if turn.flow.step != "location":
        return False
    data.update(lat=lat, lon=lon)
    _confirm(turn, data)
    return True


def skip_location(turn: Turn) -> None:
    if not turn.in_flow("report", "location"):
        turn.say("flow-expired")
        return
    _confirm(turn, _data(turn))


def _confirm(turn: Turn, data: dict[str, Any]) -> None:
    turn.set_flow("report", "confirm", data)
    about = (turn.t("report-about-deployment", code=data["code"], name=data.get("name", ""))
             if data.get("code") else turn.t("report-about-general"))
    feeling = turn.t(f"feeling-{data['feeling']}") if data.get("feeling") else turn.t("report-no-feeling")
    location = turn.t("report-location-yes" if data.get("lat") is not None else "report-location-no")
    rows = [[_button(turn, "report-send", "ok", data)],
            [_button(turn, "report-change-category", "kc", data), _button(turn, "button-cancel", "x", data)]]
    turn.say("report-confirm", buttons=rows, about=about, category=turn.t(f"category-{data['category']}"),
             feeling=feeling, location=location, text=cut(data["text"], CONFIRM_PREVIEW_CHARS))


def change_category(turn: Turn) -> None:
    if not turn.in_flow("report", "confirm"):
        turn.say("flow-expired")
        return
    data = _data(turn)
    suggested = data.get("suggested") or Category.OTHER.value
    rows = [[_button(turn, f"category-{c.value}", f"k:{c.value}", data)] for c in PRIORITY]
    turn.say("report-ask-category", buttons=rows, category=turn.t(f"category-{suggested}"))


def send(turn: Turn) -> None:
    """The resident confirmed: offer to add to a near-duplicate once, else store and give the reference."""
    if not turn.in_flow("report", "confirm"):
        turn.say("flow-expired")
        return
    data = _data(turn)
    d = deployment_by_code(turn.session, data["code"]) if data.get("code") else None
    if not data.get("dup_checked"):
        dup = concerns.find_near_duplicate(turn.session, resident=turn.resident,
                                           deployment_id=d.id if d else None, category=data["category"],
                                           text=data["text"], now=turn.env.now)
        if dup is not None:
            data["dup_checked"] = True
            data["dup"] = dup.reference
            turn.set_flow("report", "duplicate", data)
            turn.say("report-duplicate", buttons=[
                [_button(turn, "report-add-to", f"da:{dup.reference}", data, reference=dup.reference)],
                [_button(turn, "report-file-new", "dn", data)], [_button(turn, "button-cancel", "x", data)]],
                reference=dup.reference, date=dup.created_on.isoformat(), text=cut(dup.text, 300))
            return
    _store(turn, data, d)


_ANALYSIS_FIELDS = {f.name for f in fields(nlp.Analysis)}


def _draft_analysis(data: dict[str, Any]) -> nlp.Analysis | None:
    # A draft begun before the analysis was kept in drafts (or of another shape) is analysed again at submit.
    kept = data.get("analysis")
    if not isinstance(kept, dict) or set(kept) != _ANALYSIS_FIELDS or kept.get("text") != data.get("text"):
        return None
    return nlp.Analysis(**kept)


def _store(turn: Turn, data: dict[str, Any], d: Any) -> None:
    try:
        with turn.session.begin_nested():
            concern = concerns.submit(
                turn.session, text=data["text"], policy=turn.env.policy, resident=turn.resident, deployment=d,
                category=Category(data["category"]), feeling=data.get("feeling"), lat=data.get("lat"),
                lon=data.get("lon"), idempotency_key=f"flow:{turn.resident.id}:{data['nonce']}", now=turn.env.now,
                analysis=_draft_analysis(data))
    except DomainError as exc:
        explain(turn, exc)
        return
    turn.end_flow()
    reply = turn.say("report-done", reference=concern.reference)
    reply.remove_keyboard = True


def duplicate_choice(turn: Turn, reference: str | None) -> None:
    """Add the text to the earlier concern (reference) or file it as new (None)."""
    if not turn.in_flow("report", "duplicate"):
        turn.say("flow-expired")
        return
    data = _data(turn)
    if reference is None:
        d = deployment_by_code(turn.session, data["code"]) if data.get("code") else None
        _store(turn, data, d)
        return
    from sqlalchemy import select

    concern = turn.session.scalar(select(Concern).where(Concern.reference == reference))
    if concern is None or concern.resident_id != turn.resident.id:
        turn.say("error-not-found")
        return
    try:
        concerns.add_to(turn.session, concern=concern, resident=turn.resident, text=data["text"],
                        policy=turn.env.policy, now=turn.env.now)
    except DomainError as exc:
        explain(turn, exc)
        return
    turn.end_flow()
    turn.say("report-added", reference=concern.reference)
