"""The outbox's delivery side: claim due rows, render them in the recipient's language, record each outcome.

A row goes queued → sending → delivered | failed. A claim commits the row as `sending` before anything is sent
and uses `not_before` as the claim's expiry, so two senders never hold one row and a row left `sending` by a
crash is found later and failed rather than sent again (a crash never makes a resident get a message twice).
"""

from __future__ import annotations

import html
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased

from core.i18n import DEFAULT_LANGUAGE, t
from core.models import ConcernStatus, Outbox, OutboxStatus, Resident, utcnow

MAX_ATTEMPTS = 10
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 900.0
MESSAGE_LIMIT = 4096  # Telegram's limit, in UTF-16 code units of the text without markup
REASON_CHARS = 500  # Outbox.last_error

INTERRUPTED = "interrupted while sending; not retried so it is never delivered twice"
BLOCKED = "recipient blocked the bot"
UNKNOWN_KIND = "unknown kind"
NOTIFICATIONS_OFF = "the resident switched notifications off (or withdrew consent) after it was queued"
# Notices a resident receives only while notifications are on; a row queued before they switched them off is
# failed at claim rather than sent. Replies, status changes, merges and checks about their own concerns, and
# the results of a campaign they answered, are not opt-in.
OPT_IN_KINDS = frozenset({"announcement", "deployment_created", "deployment_changed", "pilot_reminder",
                          "campaign_invitation", "campaign_reminder"})


@dataclass(frozen=True)
class Claimed:
    """One row a sender now holds: everything needed to render and send it."""

    id: int
    chat_id: int
    language: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    expires_at: datetime
    resident_id: int | None = None


@dataclass(frozen=True)
class Batch:
    """What one claim returned: rows to send, and how many due rows were failed because nobody can receive them."""

    rows: list[Claimed]
    failed: int = 0


@dataclass(frozen=True)
class Rendered:
    """A message ready to send: text (the caption when there is a photo or a document), markup, attachment."""

    text: str
    parse_mode: str | None = "HTML"
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)  # rows of (label, callback_data)
    photo: bytes | None = None
    document: bytes | None = None
    filename: str | None = None


class UnknownKind(ValueError):
    """An outbox row of a kind this version cannot render."""


def backoff(attempt: int, *, base: float = BACKOFF_BASE_SECONDS, cap: float = BACKOFF_CAP_SECONDS,
            rng: Callable[[], float] = random.random) -> float:
    """Seconds to wait before the next attempt: exponential, capped, with "equal jitter" (half fixed, half random)."""
    ceiling = min(cap, base * 2.0 ** max(0, attempt - 1))
    return ceiling / 2 + rng() * ceiling / 2


def claim(session: Session, *, now: datetime | None = None, lease: timedelta = timedelta(minutes=5),
          batch_size: int = 50, fifo: bool = False) -> Batch:
    """Take due queued rows in id order, mark them sending until now + lease, and return them.

    With `fifo`, a row is taken only when no earlier row for the same recipient is still waiting or being sent
    (by anyone), so each chat gets its messages in order even across retries and several senders; a batch then
    holds at most one row per recipient.
    """
    now = now or utcnow()
    candidates = (select(Outbox.id).where(Outbox.status == OutboxStatus.QUEUED, Outbox.not_before <= now)
                  .order_by(Outbox.id).limit(batch_size))
    if fifo:
        earlier = aliased(Outbox)
        # "Not finished" rather than "queued or sending": the same rows, but a planner with stale statistics (a
        # table just filled by a broadcast) cannot intersect the status index into every lookup (100× slower).
        unfinished = and_(earlier.id < Outbox.id,
                          earlier.status.not_in((OutboxStatus.DELIVERED, OutboxStatus.FAILED)))
        candidates = candidates.where(
            ~exists().where(earlier.resident_id == Outbox.resident_id, unfinished),
            ~exists().where(Outbox.resident_id.is_(None), earlier.resident_id.is_(None),
                            earlier.staff_chat_id == Outbox.staff_chat_id, unfinished))
    # PostgreSQL: rows another sender is claiming are skipped, not waited for. SQLite ignores FOR UPDATE;
    # its BEGIN IMMEDIATE already makes the whole claim one writer at a time.
    ids = list(session.scalars(candidates.with_for_update(skip_locked=True)))
    if not ids:
        return Batch([])
    expires_at = now + lease
    # The status check in the UPDATE is what makes the claim atomic: a row someone else took is not returned.
    taken = set(session.scalars(
        update(Outbox).where(Outbox.id.in_(ids), Outbox.status == OutboxStatus.QUEUED)
        .values(status=OutboxStatus.SENDING, attempts=Outbox.attempts + 1, not_before=expires_at)
        .returning(Outbox.id)))
    rows = session.execute(
        select(Outbox, Resident).outerjoin(Resident, Outbox.resident_id == Resident.id)
        .where(Outbox.id.in_(taken)).order_by(Outbox.id)).all()
    claimed: list[Claimed] = []
    unreachable: dict[int, str] = {}
    for row, resident in rows:
        if row.staff_chat_id is not None and row.resident_id is None:
            claimed.append(Claimed(row.id, row.staff_chat_id, DEFAULT_LANGUAGE, row.kind, dict(row.payload),
                                   row.attempts, expires_at))
        elif resident is None:
            unreachable[row.id] = "no recipient"
        elif resident.chat_id is None:
            unreachable[row.id] = "the resident has no chat id (erased or never shared)"
        elif not resident.active:
            unreachable[row.id] = "the resident is inactive"
        elif row.kind in OPT_IN_KINDS and not (resident.notifications and resident.consent_at is not None):
            unreachable[row.id] = NOTIFICATIONS_OFF
        else:
            claimed.append(Claimed(row.id, resident.chat_id, resident.language or DEFAULT_LANGUAGE, row.kind,
                                   dict(row.payload), row.attempts, expires_at, resident.id))
    for outbox_id, reason in unreachable.items():
        _fail(session, outbox_id, reason)
    return Batch(claimed, failed=len(unreachable))


def mark_delivered(session: Session, *, outbox_id: int, message_id: int, now: datetime | None = None) -> None:
    """Record that Telegram accepted the row's message, with the message id it gave."""
    # Also over a row recovered as interrupted meanwhile: Telegram did accept it, and the record should say so.
    session.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.status != OutboxStatus.DELIVERED)
                    .values(status=OutboxStatus.DELIVERED, telegram_message_id=message_id, sent_at=now or utcnow(),
                            last_error=None))


def retry(session: Session, *, outbox_id: int, wait: float, reason: str, now: datetime | None = None,
          max_attempts: int = MAX_ATTEMPTS) -> OutboxStatus:
    """Put a row that could not be sent back in the queue after `wait` seconds, or fail it once attempts run out."""
    now = now or utcnow()
    attempts = session.scalar(select(Outbox.attempts).where(Outbox.id == outbox_id,
                                                            Outbox.status == OutboxStatus.SENDING))
    if attempts is None:
        return OutboxStatus.FAILED  # no longer ours (recovered as interrupted): leave it as it is
    if attempts >= max_attempts:
        _fail(session, outbox_id, f"gave up after {attempts} attempts: {reason}")
        return OutboxStatus.FAILED
    session.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.status == OutboxStatus.SENDING)
                    .values(status=OutboxStatus.QUEUED, not_before=now + timedelta(seconds=max(0.0, wait)),
                            last_error=reason[:REASON_CHARS]))
    return OutboxStatus.QUEUED


def release(session: Session, *, outbox_ids: list[int], not_before: datetime) -> None:
    """Give back claimed rows that were never tried (no attempt counted), due again at not_before."""
    if outbox_ids:
        session.execute(update(Outbox).where(Outbox.id.in_(outbox_ids), Outbox.status == OutboxStatus.SENDING)
                        .values(status=OutboxStatus.QUEUED, not_before=not_before,
                                attempts=Outbox.attempts - 1))


def mark_failed(session: Session, *, outbox_id: int, reason: str) -> None:
    """Fail a row for good, with the reason staff will read."""
    _fail(session, outbox_id, reason)


def recipient_blocked(session: Session, *, outbox_id: int) -> int:
    """The row's recipient blocked the bot: stop writing to them and fail every row still waiting for them.

    A resident becomes inactive; for a staff chat, its waiting rows fail. Return how many rows failed.
    """
    row = session.get(Outbox, outbox_id)
    if row is None:
        return 0
    if row.resident_id is not None:
        session.execute(update(Resident).where(Resident.id == row.resident_id).values(active=False))
        recipient = Outbox.resident_id == row.resident_id
    elif row.staff_chat_id is not None:
        recipient = Outbox.staff_chat_id == row.staff_chat_id
    else:
        return 0
    result = session.execute(
        update(Outbox).where(recipient, Outbox.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)))
        .values(status=OutboxStatus.FAILED, last_error=BLOCKED).returning(Outbox.id))
    return len(result.all())


def recover_interrupted(session: Session, *, now: datetime | None = None) -> int:
    """Fail rows left `sending` past their claim's expiry (a sender died mid-send); return how many."""
    result = session.execute(
        update(Outbox).where(Outbox.status == OutboxStatus.SENDING, Outbox.not_before < (now or utcnow()))
        .values(status=OutboxStatus.FAILED, last_error=INTERRUPTED).returning(Outbox.id))
    return len(result.all())


def _fail(session: Session, outbox_id: int, reason: str) -> None:
    session.execute(update(Outbox).where(Outbox.id == outbox_id)
                    .values(status=OutboxStatus.FAILED, last_error=reason[:REASON_CHARS]))


# Rendering ------------------------------------------------------------------------------------------------------

def render(kind: str, payload: dict[str, Any], language: str | None, *, session: Session | None = None) -> Rendered:
    """Render a row as Telegram HTML in the recipient's language; staff free text is escaped and framed.

    Kinds in STORED_KINDS read what they show from the database (a stored summary) and need a session.
    """
    stored = _STORED_RENDERERS.get(kind)
    if stored is not None:
        if session is None:
            raise ValueError(f"{kind} is rendered from the database: give a session")
        return stored(session, payload, language or DEFAULT_LANGUAGE)
    renderer = _RENDERERS.get(kind)
    if renderer is None:
        raise UnknownKind(kind)
    return renderer(payload, language or DEFAULT_LANGUAGE)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=False)


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _framed(header: str, text: str) -> str:
    """The header, a blank line and the staff's text, cut with an ellipsis to fit Telegram's limit."""
    text = text.strip()
    room = MESSAGE_LIMIT - _utf16(header) - 2
    if _utf16(text) > room:
        # Cut on UTF-16 units as Telegram counts them; a surrogate pair split in two is dropped whole.
        cut = text.encode("utf-16-le")[: 2 * (room - 1)].decode("utf-16-le", errors="ignore")
        text = cut.rstrip() + "…"
    # Telegram counts the text after entity parsing, so escaping (&amp; is one character) never makes it longer.
    return f"{header}\n\n{_e(text)}"


def _staff_reply(payload: dict[str, Any], language: str) -> Rendered:
    header = t(language, "outbox-reply-header", reference=_e(payload["reference"]))
    return Rendered(_framed(header, str(payload["text"])))


def _concern_status(payload: dict[str, Any], language: str) -> Rendered:
    reference, status = _e(payload["reference"]), ConcernStatus(payload["status"])
    if status is ConcernStatus.NOT_RESPONSIBLE:
        header = t(language, "outbox-status-not-responsible", reference=reference)
        return Rendered(_framed(header, str(payload.get("reason") or "")))
    label = t(language, f"concern-status-{status.value}")
    return Rendered(t(language, "outbox-status", reference=reference, status=_e(label)))


def _concern_merged(payload: dict[str, Any], language: str) -> Rendered:
    reference, into = payload["reference"], payload["into"]
    if payload.get("both"):
        text = t(language, "outbox-merged-both", reference=_e(into), other=_e(payload["merged_with"]))
    elif reference == into:
        text = t(language, "outbox-merged-survivor", reference=_e(reference), other=_e(payload["merged_with"]))
    else:
        text = t(language, "outbox-merged-duplicate", reference=_e(reference), into=_e(into))
    return Rendered(text)


def _announcement(payload: dict[str, Any], language: str) -> Rendered:
    if payload.get("deployment"):
        header = t(language, "outbox-announcement-deployment", code=_e(payload["deployment"]))
    elif payload.get("district"):
        header = t(language, "outbox-announcement-district", district=_e(payload["district"]))
    else:
        header = t(language, "outbox-announcement")
    return Rendered(_framed(header, str(payload["text"])))


def _deployment_created(payload: dict[str, Any], language: str) -> Rendered:
    status = t(language, f"status-{payload['status']}")
    return Rendered(t(language, "outbox-deployment-created", code=_e(payload["code"]), name=_e(payload["name"]),
                      status=_e(status)))


def _deployment_changed(payload: dict[str, Any], language: str) -> Rendered:
    status = t(language, f"status-{payload['status']}")
    return Rendered(t(language, "outbox-deployment-changed", code=_e(payload["code"]), name=_e(payload["name"]),
                      status=_e(status), count=len(payload.get("fields") or [])))


def _satisfaction_check(payload: dict[str, Any], language: str) -> Rendered:
    reference = str(payload["reference"])
    return Rendered(t(language, "outbox-satisfaction", reference=_e(reference)),
                    buttons=[[(t(language, "outbox-satisfaction-yes"), f"sat:y:{reference}"),
                              (t(language, "outbox-satisfaction-no"), f"sat:n:{reference}")]])


def _pilot_reminder(payload: dict[str, Any], language: str) -> Rendered:
    return Rendered(t(language, "outbox-pilot-ending", code=_e(payload["code"]), name=_e(payload["name"]),
                      days=int(payload["days"]), date=_e(payload["pilot_end"])))


def _digest_chart(payload: dict[str, Any], language: str) -> Rendered:
    from core.jobs.digest import render_chart

    return Rendered(t(language, "digest-chart-caption", week=_e(payload["iso_week"])),
                    photo=render_chart(payload, language))


def _digest_text(session: Session, payload: dict[str, Any], language: str) -> Rendered:
    from core.jobs.digest import render_text

    return Rendered(render_text(session, payload, language))


def _digest_document(session: Session, payload: dict[str, Any], language: str) -> Rendered:
    from core.jobs.digest import render_document

    filename, content = render_document(session, payload, language)
    return Rendered(t(language, "digest-document-caption", week=_e(payload["iso_week"])), document=content,
                    filename=filename)


def _campaign_title(payload: dict[str, Any], language: str) -> str:
    titles: dict[str, str] = payload.get("title") or {}
    return titles.get(language) or next(iter(titles.values()), "")


def _campaign_closes(payload: dict[str, Any], language: str) -> str:
    if payload.get("closes_on"):
        return t(language, "campaign-closes-on", date=_e(payload["closes_on"]))
    return t(language, "campaign-open-ended")


def _campaign_invitation(payload: dict[str, Any], language: str) -> Rendered:
    text = t(language, "outbox-campaign-invitation", title=_e(_campaign_title(payload, language)))
    return Rendered(f"{text}\n{_campaign_closes(payload, language)}",
                    buttons=[[(t(language, "outbox-campaign-answer"), f"cs:{payload['code']}")]])


def _campaign_reminder(payload: dict[str, Any], language: str) -> Rendered:
    text = t(language, "outbox-campaign-reminder", title=_e(_campaign_title(payload, language)))
    return Rendered(f"{text}\n{_campaign_closes(payload, language)}",
                    buttons=[[(t(language, "outbox-campaign-continue"), f"cs:{payload['code']}")]])


def _campaign_results(payload: dict[str, Any], language: str) -> Rendered:
    title = _e(_campaign_title(payload, language))
    found: dict[str, Any] = payload.get("headline") or {}
    responses = found.get("responses")
    if responses is None:
        return Rendered(t(language, "outbox-campaign-results-few", title=title))
    question = found.get("question")
    if question and found.get("option") is not None and found.get("share") is not None:
        return Rendered(t(language, "outbox-campaign-results-option", title=title, responses=responses,
                          question=_e(question.get(language) or next(iter(question.values()))),
                          option=_e(found["option"].get(language) or next(iter(found["option"].values()))),
                          percent=round(100 * float(found["share"]))))
    if question and found.get("mean") is not None:
        return Rendered(t(language, "outbox-campaign-results-scale", title=title, responses=responses,
                          question=_e(question.get(language) or next(iter(question.values()))),
                          mean=f"{float(found['mean']):.1f}"))
    return Rendered(t(language, "outbox-campaign-results-count", title=title, responses=responses))


_STORED_RENDERERS: dict[str, Callable[[Session, dict[str, Any], str], Rendered]] = {
    "digest_text": _digest_text,
    "digest_document": _digest_document,
}
STORED_KINDS = frozenset(_STORED_RENDERERS)

_RENDERERS: dict[str, Callable[[dict[str, Any], str], Rendered]] = {
    "staff_reply": _staff_reply,
    "concern_status": _concern_status,
    "concern_merged": _concern_merged,
    "announcement": _announcement,
    "deployment_created": _deployment_created,
    "deployment_changed": _deployment_changed,
    "satisfaction_check": _satisfaction_check,
    "campaign_invitation": _campaign_invitation,
    "campaign_reminder": _campaign_reminder,
    "campaign_results": _campaign_results,
    "pilot_reminder": _pilot_reminder,
    "digest_chart": _digest_chart,
}
KINDS = frozenset(_RENDERERS) | STORED_KINDS
