"""The resident's own things: welcome, consent, language, follows, notifications, their concerns, their data."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from core import concerns, follows, residents
from core.conversation.base import Button, Document, Reply, Safe, Turn, cut, tr
from core.conversation.errors import explain
from core.conversation.find import deployment_by_code, district_by_words
from core.errors import DomainError, LimitReached
from core.models import Concern, ConcernStatus, Deployment, District, StaffReply

MINE_PAGE = 5
# Five concerns with their replies stay well under Telegram's 4,096 characters.
MINE_TEXT_CHARS = 280
MINE_REPLY_CHARS = 360
# Ten lines of at most a 32-character code, a separator and a 200-character name (the register's bounds; a
# district's name is bounded the same) stay well under 4,096 characters, with one button per line.
FOLLOWING_PAGE = 10


def welcome(turn: Turn) -> None:
    rows = [[Button("English", "l:en"), Button("Español", "l:es")]]
    if not turn.consented:
        rows.insert(0, [turn.button("consent-agree", "y:"), turn.button("consent-later", "yn")])
    turn.say("welcome", buttons=rows)


def needs_consent(turn: Turn, pending: str) -> bool:
    """Ask for consent (then carry on with `pending`) when the resident has not given it; True if asked."""
    if turn.consented:
        return False
    data = f"y:{pending}"
    turn.say("consent-needed", buttons=[[turn.button("consent-agree", data if len(data.encode()) <= 64 else "y:"),
                                         turn.button("consent-later", "yn")]])
    return True


def give_consent(turn: Turn) -> None:
    residents.give_consent(turn.session, resident=turn.resident, now=turn.env.now)
    turn.resident.chat_id = turn.env.chat_id
    turn.say("consent-thanks")


def decline_consent(turn: Turn) -> None:
    turn.say("consent-declined")


def choose_language(turn: Turn) -> None:
    turn.say("language-choose", buttons=[[Button("English", "l:en"), Button("Español", "l:es")]])


def set_language(turn: Turn, language: str) -> None:
    try:
        residents.set_language(turn.session, resident=turn.resident, language=language)
    except DomainError as exc:
        explain(turn, exc)
        return
    turn.say("language-set")


def help_text(turn: Turn) -> None:
    turn.say("help")


# ---- follows ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    deployment: Deployment | None
    district: District | None
    name: str  # what the resident reads: the code, or the district's name in their language
    undo: str  # the callback that unfollows it


def _current_code(turn: Turn, target: str) -> str:
    """The typed target, or the card being looked at when none was typed."""
    if not target and turn.in_flow("browse") and turn.flow is not None:
        return str(turn.flow.data.get("code", ""))
    return target


def _resolve(turn: Turn, target: str) -> _Target | None:
    """A deployment by code or a district by name; tells the resident when it is neither."""
    d = deployment_by_code(turn.session, target)
    if d is not None:
        return _Target(d, None, d.code, f"u:{d.code}")
    district = district_by_words(turn.session, target)
    if district is not None:
        return _Target(None, district, _district_name(turn, district), f"ud:{district.slug}")
    turn.say("follow-unknown", target=cut(target, 120))
    return None


def follow(turn: Turn, target: str) -> None:
    """Follow a deployment (by code) or a district (by name); no target: the card being looked at."""
    target = _current_code(turn, target)
    if not target:
        turn.say("follow-how")
        return
    found = _resolve(turn, target)  # a look-up needs no consent; an unknown name is told as typed
    if found is None:
        return
    pending = f"fd:{found.district.slug}" if found.district is not None else f"f:{found.name}"
    if needs_consent(turn, pending):  # the button carries the code or slug, which always fits
        return
    try:
        added = follows.follow(turn.session, resident=turn.resident, deployment=found.deployment,
                               district=found.district, now=turn.env.now)
    except LimitReached:
        turn.say("follow-limit", target=found.name, limit=follows.MAX_FOLLOWS)
        return
    turn.say("follow-done" if added else "follow-already", buttons=[[turn.button("button-unfollow", found.undo)]],
             target=found.name, notifications="on" if turn.resident.notifications else "off")


def _district_name(turn: Turn, district: District) -> str:
    return district.name_es if turn.lang == "es" else district.name_en


def unfollow(turn: Turn, target: str) -> None:
    """Stop following a deployment or district; no target: the card being looked at, else the list."""
    target = _current_code(turn, target)
    if not target:
        following(turn)
        return
    found = _resolve(turn, target)
    if found is None:
        return
    removed = follows.unfollow(turn.session, resident=turn.resident, deployment=found.deployment,
                               district=found.district)
    turn.say("unfollow-done" if removed else "unfollow-not-following", target=found.name)


def following(turn: Turn, page: int = 0) -> None:
    """What the resident follows, a page at a time, each with a button to unfollow it."""
    found = follows.following(turn.session, resident=turn.resident)
    entries = [_Target(d, None, d.code, f"u:{d.code}") for d in found.deployments]
    entries += [_Target(None, z, _district_name(turn, z), f"ud:{z.slug}") for z in found.districts]
    if not entries:
        turn.say("following-none")
        return
    pages = (len(entries) + FOLLOWING_PAGE - 1) // FOLLOWING_PAGE
    page = min(max(page, 0), pages - 1)
    shown = entries[page * FOLLOWING_PAGE:(page + 1) * FOLLOWING_PAGE]
    items = [turn.t("following-deployment", code=e.name, name=e.deployment.name) if e.deployment is not None
             else turn.t("following-district", name=e.name) for e in shown]
    rows = [[turn.button("following-unfollow-item", e.undo, target=e.name)] for e in shown]
    nav = []
    if page > 0:
        nav.append(turn.button("button-previous", f"fl:{page - 1}"))
    if page + 1 < pages:
        nav.append(turn.button("button-next", f"fl:{page + 1}"))
    if nav:
        rows.append(nav)
    turn.say("following-list", buttons=rows, items=Safe("\n".join(items)), page=page + 1, pages=pages,
             total=len(entries))


# ---- notifications and the kept location ------------------------------------------------------------------

def notifications(turn: Turn) -> None:
    if needs_consent(turn, "no:"):
        return
    r = turn.resident
    rows = [[turn.button("notifications-turn-off" if r.notifications else "notifications-turn-on",
                         f"no:{0 if r.notifications else 1}")],
            [turn.button("keep-location-turn-off" if r.keep_location else "keep-location-turn-on",
                         f"kl:{0 if r.keep_location else 1}")]]
    turn.say("notifications-state", buttons=rows, notifications="on" if r.notifications else "off",
             location="on" if r.keep_location else "off")


def set_notifications(turn: Turn, on: bool) -> None:
    if needs_consent(turn, f"no:{int(on)}"):
        return
    residents.set_notifications(turn.session, resident=turn.resident, on=on)
    turn.say("notifications-on" if on else "notifications-off")


def set_keep_location(turn: Turn, on: bool) -> None:
    if needs_consent(turn, f"kl:{int(on)}"):
        return
    residents.set_keep_location(turn.session, resident=turn.resident, on=on)
    turn.say("keep-location-on" if on else "keep-location-off")


# ---- my concerns ------------------------------------------------------------------------------------------

def mine(turn: Turn, page: int = 0) -> None:
    page = max(page, 0)
    rows, total = concerns.list_mine(turn.session, resident=turn.resident, offset=page * MINE_PAGE, limit=MINE_PAGE)
    if total == 0:
        turn.say("mine-none")
        return
    replies: dict[int, StaffReply] = {}
    for r in turn.session.scalars(select(StaffReply).where(StaffReply.concern_id.in_([c.id for c in rows]))
                                  .order_by(StaffReply.created_at, StaffReply.id)):
        replies[r.concern_id] = r  # the latest reply of each concern wins
    items = []
    for c in rows:
        item = turn.t("mine-item", reference=c.reference, status=turn.t(f"concern-status-{c.status}"),
                      date=c.created_on.isoformat(), category=turn.t(f"category-{c.category}"),
                      text=cut(c.text, MINE_TEXT_CHARS) if c.text else turn.t("mine-text-removed"))
        if c.id in replies:
            item = Safe(item + "\n" + turn.t("mine-reply", text=cut(replies[c.id].text, MINE_REPLY_CHARS)))
        items.append(item)
    nav = []
    if page > 0:
        nav.append(turn.button("button-previous", f"m:{page - 1}"))
    if (page + 1) * MINE_PAGE < total:
        nav.append(turn.button("button-next", f"m:{page + 1}"))
    turn.say("mine-list", buttons=[nav] if nav else [], items=Safe("\n\n".join(items)), page=page + 1,
             pages=(total + MINE_PAGE - 1) // MINE_PAGE, total=total)


# ---- satisfaction ------------------------------------------------------------------------------------------

def _own_concern(turn: Turn, reference: str) -> Concern | None:
    concern = turn.session.scalar(select(Concern).where(Concern.reference == reference))
    if concern is None or concern.resident_id != turn.resident.id:
        turn.say("error-not-found")
        return None
    return concern


def satisfaction(turn: Turn, answer: str, reference: str) -> None:
    concern = _own_concern(turn, reference)
    if concern is None:
        return
    if answer == "y":
        concerns.answer_satisfaction(turn.session, concern=concern, resident=turn.resident, satisfied=True,
                                     policy=turn.env.policy, now=turn.env.now)
        turn.say("satisfaction-thanks", reference=reference)
        return
    concerns.answer_satisfaction(turn.session, concern=concern, resident=turn.resident, satisfied=False,
                                 policy=turn.env.policy, now=turn.env.now)
    turn.set_flow("satisfaction", "reason", {"reference": reference})
    turn.say("satisfaction-ask-reason", buttons=[[turn.button("button-cancel", "x")]], reference=reference)


def satisfaction_reason(turn: Turn, text: str) -> None:
    assert turn.flow is not None
    concern = _own_concern(turn, str(turn.flow.data.get("reference", "")))
    if concern is None:
        turn.end_flow()
        return
    try:
        reopened = concerns.answer_satisfaction(turn.session, concern=concern, resident=turn.resident,
                                                satisfied=False, reason=text, policy=turn.env.policy,
                                                now=turn.env.now)
    except DomainError as exc:
        explain(turn, exc)
        return
    turn.end_flow()
    # A concern merged into another is followed under that one: name it, as the merge notice did.
    shown = turn.session.get(Concern, concern.merged_into_id) if concern.merged_into_id is not None else concern
    shown = shown or concern
    if reopened:
        turn.say("satisfaction-reopened", reference=shown.reference)
    elif ConcernStatus(shown.status).is_open:
        turn.say("satisfaction-still-open", reference=shown.reference)
    else:
        turn.say("satisfaction-noted", reference=shown.reference)


# ---- my data -----------------------------------------------------------------------------------------------

def my_data(turn: Turn) -> None:
    document = residents.export(turn.session, resident=turn.resident)
    content = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True, default=str).encode()
    reply = turn.say("mydata-caption")
    reply.document = Document("civicpulse-my-data.json", content, caption=reply.text)


def forget_ask(turn: Turn) -> None:
    turn.set_flow("forget", "confirm", {})
    turn.say("forget-confirm", buttons=[[turn.button("forget-yes", "fy"), turn.button("forget-no", "fn")]])


def forget(turn: Turn, confirmed: bool) -> None:
    if not confirmed:
        turn.end_flow()
        turn.say("forget-kept")
        return
    if not turn.in_flow("forget", "confirm"):
        turn.say("flow-expired")
        return
    language = turn.lang
    report = residents.erase(turn.session, resident=turn.resident, now=turn.env.now)
    removed = sum(n for table, n in report.rows_deleted.items() if table != "resident")
    turn.flow = None
    turn.replies.append(Reply(tr(language, "forget-done", concerns=report.concerns_unlinked, rows=removed)))
