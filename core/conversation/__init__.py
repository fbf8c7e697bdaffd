"""The resident conversation: one function from an event (command, text, location, button) to the replies.

The bot parses a Telegram update into an `Event`, calls `handle` inside one transaction, and sends the
`Reply` list after the commit, so anything the resident is told has been stored. Flow state lives in the
database (core.flows), so a restart or another worker can take the next update of any conversation.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import residents, updates
from core.conversation import account, consult, find, report
from core.conversation.base import Button, Document, Env, Event, Reply, Turn, resident_for
from core.deployments import normalize_code

__all__ = ["COMMANDS", "Button", "Document", "Env", "Event", "Reply", "handle"]

COMMANDS = ("start", "help", "near", "report", "mine", "follow", "unfollow", "following", "notifications",
            "campaigns", "mydata", "forget", "language", "cancel")


def handle(session: Session, *, env: Env, event: Event) -> list[Reply]:
    """Handle one resident event; an update already handled (same update id) gets no reply."""
    if env.update_id is not None and not updates.claim(session, bot_id=env.bot_id, update_id=env.update_id,
                                                       now=env.now):
        return []
    resident, flow = resident_for(session, env)
    turn = Turn(session, env, resident, flow)
    if event.kind == "command":
        _command(turn, event.text, event.args.strip())
    elif event.kind == "text":
        _text(turn, event.text)
    elif event.kind == "location" and event.lat is not None and event.lon is not None:
        _location(turn, event.lat, event.lon)
    elif event.kind == "callback":
        _callback(turn, event.text)
    elif turn.in_flow("report", "text"):
        turn.say("report-text-only")  # a sticker or a photo while the draft waits for its words
    else:
        turn.say("attachment-not-understood")
    return turn.replies


def _command(turn: Turn, name: str, args: str) -> None:
    if name == "start":
        if args.startswith("c_"):
            consult.start(turn, args[2:].strip())
        elif args.startswith("p_"):
            payload = args[2:].strip()
            consult.start(turn, payload.partition("_")[2], preview=payload)
        elif args and find.open_code(turn, args, from_start=True):
            pass
        else:
            account.welcome(turn)
    elif name == "help":
        account.help_text(turn)
    elif name == "near":
        find.ask_location(turn)
    elif name == "report":
        code = normalize_code(args) if args else None
        if not account.needs_consent(turn, f"r:{code or ''}"):  # the code is kept through the consent question
            report.start(turn, code)
    elif name == "mine":
        account.mine(turn)
    elif name == "follow":
        account.follow(turn, args)
    elif name == "unfollow":
        account.unfollow(turn, args)
    elif name == "following":
        account.following(turn)
    elif name == "notifications":
        account.notifications(turn)
    elif name == "campaigns":
        consult.list_open(turn)
    elif name == "mydata":
        account.my_data(turn)
    elif name == "forget":
        account.forget_ask(turn)
    elif name == "language":
        account.choose_language(turn)
    elif name == "cancel":
        if turn.flow is not None and turn.flow.flow != "browse":
            turn.end_flow()
            reply = turn.say("cancelled")
        else:
            reply = turn.say("nothing-to-cancel")
        reply.remove_keyboard = True
    else:
        turn.say("command-unknown")


def _text(turn: Turn, text: str) -> None:
    if turn.in_flow("report"):
        report.on_text(turn, text)
        return
    if turn.in_flow("campaign", "question"):
        consult.on_text(turn, text)
        return
    if turn.in_flow("satisfaction", "reason"):
        account.satisfaction_reason(turn, text)
        return
    if turn.in_flow("ask") and turn.flow is not None:
        d = find.deployment_by_code(turn.session, str(turn.flow.data.get("code", "")))
        if d is not None:
            turn.set_flow("browse", "card", {"code": d.code})
            find.answer_question(turn, d, text, store_unanswered=True)
            return
    if report.is_skip(turn, text):
        # A location keyboard's Skip pressed after its step: nothing to skip, and the keyboard goes.
        turn.say("skip-nothing").remove_keyboard = True
        return
    if find.open_code(turn, text):
        return
    if turn.in_flow("browse") and turn.flow is not None:
        d = find.deployment_by_code(turn.session, str(turn.flow.data.get("code", "")))
        if d is not None and find.answer_question(turn, d, text, store_unanswered=text.rstrip().endswith("?")):
            return
    # A question about "it" with no card open asks which device; other words ("facial recognition", "licence
    # plate reader") are searched first, even when they name what a question would be about.
    intent = find.match_intent(text, turn.resident.language)
    if intent is not None and (text.rstrip().endswith("?") or text.lstrip().startswith("¿")):
        turn.say("question-which-deployment")
        return
    if find.search_words(turn, text):
        return
    turn.say("question-which-deployment" if intent is not None else "not-understood")


def _location(turn: Turn, lat: float, lon: float) -> None:
    residents.remember_location(turn.session, resident=turn.resident, lat=lat, lon=lon, now=turn.env.now)
    if turn.in_flow("report") and report.on_location(turn, lat, lon):
        return
    find.show_nearby(turn, lat, lon)


def _callback(turn: Turn, data: str) -> None:
    data, marked, nonce = data.partition("|")
    if marked and not report.belongs(turn, nonce):
        turn.say("flow-expired")  # a button of an earlier draft must not act on the current one
        return
    head, _, rest = data.partition(":")
    if head == "c":
        if not find.open_code(turn, rest):
            turn.say("code-unknown", code=rest)
    elif head == "r":
        if not account.needs_consent(turn, data):
            report.start(turn, rest or None)
    elif head == "q":
        d = find.deployment_by_code(turn.session, rest)
        if d is None:
            turn.say("code-unknown", code=rest)
        else:
            turn.set_flow("ask", "question", {"code": d.code})
            turn.say("ask-prompt", code=d.code, name=d.name)
    elif head in ("f", "fd"):
        account.follow(turn, rest)
    elif head in ("u", "ud"):
        account.unfollow(turn, rest)
    elif head == "fl":
        account.following(turn, int(rest) if rest.isdigit() else 0)
    elif data == "n":
        find.ask_location(turn)
    elif head == "k":
        report.on_category(turn, rest)
    elif data == "kc":
        report.change_category(turn)
    elif head == "e":
        report.on_feeling(turn, rest)
    elif data == "ls":
        report.skip_location(turn)
    elif data == "ok":
        report.send(turn)
    elif data == "tr":
        report.use_first_part(turn)
    elif head == "da":
        report.duplicate_choice(turn, rest)
    elif data == "dn":
        report.duplicate_choice(turn, None)
    elif data == "x":
        if turn.flow is None or turn.flow.flow == "browse":
            turn.say("nothing-to-cancel").remove_keyboard = True
        else:
            turn.end_flow()
            turn.say("cancelled").remove_keyboard = True
    elif head == "l":
        account.set_language(turn, rest)
    elif head == "y":
        account.give_consent(turn)
        if rest:
            _callback(turn, rest)
    elif data == "yn":
        account.decline_consent(turn)
    elif head == "m":
        account.mine(turn, int(rest) if rest.isdigit() else 0)
    elif data in ("fy", "fn"):
        account.forget(turn, data == "fy")
    elif head == "sat" and rest[:2] in ("y:", "n:"):
        account.satisfaction(turn, rest[0], rest[2:])
    elif head == "no":
        if rest in ("0", "1"):
            account.set_notifications(turn, rest == "1")
        else:
            account.notifications(turn)
    elif head == "cs":
        consult.start(turn, rest)
    elif head == "cp":
        consult.start(turn, rest.partition("_")[2], preview=rest)
    elif head in ("ca", "cm", "cd", "ck", "cb", "cc"):
        consult.on_callback(turn, head, rest)
    elif head == "kl" and rest in ("0", "1"):
        account.set_keep_location(turn, rest == "1")
    else:
        turn.say("flow-expired")
