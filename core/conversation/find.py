"""Finding a deployment (code, location, words), its card, and plain questions answered from the record."""

from __future__ import annotations

from functools import cache, lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from core import concerns, follows
from core.conversation.base import Button, Safe, Turn, cut, tr
from core.deployments import SearchFilters, district_names, nearby, normalize_code, rank_by_words, search
from core.errors import DomainError, RateLimited
from core.models import ConcernKind, Deployment, District
from core.nlp.lexicon import load_json
from core.nlp.terms import TermMatcher
from core.nlp.text import words
from core.vocab import vocabularies

NEAR_RADIUS_M = 1500.0
NEAR_LIMIT = 8
SEARCH_LIMIT = 8
SEARCH_POOL = 50  # matches ranked to pick the SEARCH_LIMIT shown (the first by code; more is said as "more than")
DESCRIPTION_CHARS = 1200  # the card's other fields are bounded by the register; a long description is cut


_BY_CODE = select(Deployment).where(Deployment.code == bindparam("code"))  # built once: on most updates' path


def deployment_by_code(session: Session, raw: str) -> Deployment | None:
    """The deployment whose code this is, as typed; "aq-17" or "cam4" also find AQ-017 and CAM-004 when no
    code is written exactly so (signs print three digits; residents drop the zeros)."""
    code = normalize_code(raw.strip())
    if code is None:
        return None
    found = session.scalar(_BY_CODE, {"code": code})
    prefix, _, digits = code.partition("-")
    if found is None and len(digits) < 3:
        found = session.scalar(_BY_CODE, {"code": f"{prefix}-{digits.zfill(3)}"})
    return found


def _labels(lang: str, field: str, ids: tuple[str, ...] | None) -> str | None:
    if not ids:
        return None
    vocab = vocabularies()
    return ", ".join(vocab.label(field, i, lang) for i in ids)


def _value(lang: str, value: Any) -> Any:
    return tr(lang, "not-published") if value is None or value == "" else value


# The card is a function of these fields of the record and the language alone; it is rendered once for each
# combination of their values (a changed record is a new key, so nothing stale is ever shown).
CARD_FIELDS = ("technology", "description", "purposes", "accountable_org", "accountable_contact", "vendor",
               "data_types", "personal_data", "processing", "access", "storage", "retention_days", "status",
               "pilot_start", "pilot_end", "info_url", "privacy_url")
CARD_CACHE = 2048


def card_lines(turn: Turn, d: Deployment) -> dict[str, Safe]:
    """Every line of the card, keyed by the field it answers (questions pick from these)."""
    values = tuple(tuple(v) if isinstance(v, list) else v for v in (getattr(d, f) for f in CARD_FIELDS))
    return dict(_card_lines(turn.lang, values))


def retention_text(lang: str, days: int) -> Safe:
    """A retention period as people say it: "5 years (1,825 days)", "6 months (180 days)", "30 days"."""
    if days == 0:
        return tr(lang, "retention-none")
    if days % 365 == 0:
        return tr(lang, "retention-years", years=days // 365, days=days)
    if days >= 60 and days % 30 == 0:  # 30 days stays "30 days"; 90 becomes "3 months"
        return tr(lang, "retention-months", months=days // 30, days=days)
    return tr(lang, "retention-days", days=days)


@lru_cache(maxsize=CARD_CACHE)
def _card_lines(lang: str, values: tuple[Any, ...]) -> tuple[tuple[str, Safe], ...]:
    d = SimpleNamespace(**dict(zip(CARD_FIELDS, values, strict=True)))
    vocab = vocabularies()

    def line(label_key: str, value: Any) -> Safe:
        return tr(lang, "card-line", label=tr(lang, label_key), value=_value(lang, value))

    retention = None if d.retention_days is None else retention_text(lang, d.retention_days)
    personal = None if d.personal_data is None else tr(lang, "personal-yes" if d.personal_data else "personal-no")
    pilot = None
    if d.pilot_start and d.pilot_end:
        pilot = tr(lang, "card-pilot-dates", start=d.pilot_start.isoformat(), end=d.pilot_end.isoformat())
    elif d.pilot_start:
        pilot = tr(lang, "card-pilot-from", start=d.pilot_start.isoformat())
    elif d.pilot_end:
        pilot = tr(lang, "card-pilot-until", end=d.pilot_end.isoformat())
    links = " ".join(u for u in (d.info_url, d.privacy_url) if u) or None
    what = vocab.label("technology", d.technology, lang)
    if d.description:
        what = f"{what}: {cut(d.description, DESCRIPTION_CHARS)}"
    return (
        ("what", line("card-what", what)),
        ("why", line("card-why", _labels(lang, "purpose", d.purposes))),
        ("who", line("card-who", d.accountable_org)),
        ("contact", line("card-contact", d.accountable_contact)),
        ("vendor", line("card-vendor", d.vendor)),
        ("data", line("card-data", _labels(lang, "data_type", d.data_types))),
        ("personal", line("card-personal", personal)),
        ("processing", line("card-processing", _labels(lang, "processing", d.processing))),
        ("access", line("card-access", _labels(lang, "access", d.access))),
        ("storage", line("card-storage", _labels(lang, "storage", d.storage))),
        ("retention", line("card-retention", retention)),
        ("status", line("card-status", tr(lang, f"status-{d.status}"))),
        ("pilot", line("card-pilot", pilot)),
        ("links", line("card-links", links)),
    )


def card_buttons(turn: Turn, d: Deployment) -> list[list[Button]]:
    following = turn.consented and follows.is_following(turn.session, resident=turn.resident, deployment=d)
    return [
        [turn.button("button-report", f"r:{d.code}"), turn.button("button-ask", f"q:{d.code}")],
        [turn.button("button-unfollow" if following else "button-follow", f"{'u' if following else 'f'}:{d.code}"),
         turn.button("button-nearby", "n")],
    ]


def show_card(turn: Turn, d: Deployment) -> None:
    """Send the deployment's card and remember it as the one being looked at."""
    lines = card_lines(turn, d)
    body = Safe("\n".join(lines.values()))
    turn.say("card", buttons=card_buttons(turn, d), name=d.name, code=d.code, body=body)
    if not turn.in_flow("report"):
        turn.set_flow("browse", "card", {"code": d.code})


def open_code(turn: Turn, raw: str, *, from_start: bool = False) -> bool:
    """Open the card for a typed or deep-linked code; return False when the text is not a code."""
    if normalize_code(raw.strip()) is None:
        return False
    d = deployment_by_code(turn.session, raw)
    if d is None:
        turn.say("code-unknown", code=normalize_code(raw.strip()) or raw)
        return True
    show_card(turn, d)
    return True


def ask_location(turn: Turn, key: str = "near-ask") -> None:
    reply = turn.say(key)
    reply.ask_location = turn.label("near-button")


def show_nearby(turn: Turn, lat: float, lon: float, action: str = "c") -> None:
    """List the deployments near the point; a button opens its card ("c"), or picks it for a concern ("r")."""
    hits = nearby(turn.session, lat=lat, lon=lon, radius_m=NEAR_RADIUS_M, limit=NEAR_LIMIT)
    if not hits:
        reply = turn.say("near-none", km=NEAR_RADIUS_M / 1000)
        reply.remove_keyboard = True
        return
    rows = []
    for hit in hits:
        distance = (turn.t("distance-metres", metres=round(hit.distance_m)) if hit.distance_m < 1000
                    else turn.t("distance-km", km=round(hit.distance_m / 1000, 1)))
        rows.append([Button(turn.label("near-item", code=hit.deployment.code, name=cut(hit.deployment.name, 40),
                                       distance=distance), f"{action}:{hit.deployment.code}")])
    reply = turn.say("near-list", buttons=rows, count=len(hits))
    reply.remove_keyboard = True


def search_words(turn: Turn, text: str) -> bool:
    """Search the register for the words; offer the matches. Return False when nothing matched."""
    page = search(turn.session, filters=SearchFilters(text=text[:200]), limit=SEARCH_POOL)
    found = rank_by_words(list(page.items), text, district_names(turn.session))[:SEARCH_LIMIT]
    if not found:
        return False
    rows = [[Button(turn.label("search-item", code=d.code, name=cut(d.name, 48)), f"c:{d.code}")] for d in found]
    if len(page.items) > len(found):  # say how many matched, and that these are the closest to the words
        turn.say("search-results-some", buttons=rows, count=len(page.items), shown=len(found),
                 more="yes" if page.next_cursor else "no")
    else:
        turn.say("search-results", buttons=rows, count=len(found))
    return True


# ---- questions about a card -------------------------------------------------------------------------------

# Which card lines answer each intent (prompts/<lang>/intents.json lists the phrases).
INTENT_FIELDS: dict[str, tuple[str, ...]] = {
    "recording": ("personal", "data", "processing"),
    "access": ("access", "processing"),
    "retention": ("retention", "storage"),
    "storage": ("storage", "retention"),
    "contact": ("who", "contact"),
    "pilot_end": ("status", "pilot"),
    "purpose": ("what", "why"),
    "personal": ("personal", "data"),
    "vendor": ("vendor", "who"),
}


@cache
def _intents(language: str) -> TermMatcher:
    data = load_json(language, "intents.json")["intents"]
    unknown = set(data) - set(INTENT_FIELDS)
    if unknown:
        raise ValueError(f"prompts/{language}/intents.json names unknown intents: {sorted(unknown)}")
    return TermMatcher.build_groups(data)


def match_intent(text: str, language: str | None) -> str | None:
    """The question's intent (the longest matching phrase wins; ties by list order), or None."""
    tokens = words(text)
    best: tuple[int, float, str] | None = None
    for lang in dict.fromkeys([language or "en", "en", "es"]):
        if lang not in ("en", "es"):
            continue
        for hit in _intents(lang).hits(tokens):
            score = (hit.end - hit.start, hit.weight, hit.group)
            if best is None or score[:2] > best[:2]:
                best = score
        if best is not None:
            break
    return best[2] if best else None


def answer_question(turn: Turn, d: Deployment, text: str, *, store_unanswered: bool) -> bool:
    """Answer from the record; store an unanswerable question for staff. Return False if neither happened."""
    intent = match_intent(text, turn.resident.language)
    if intent is not None:
        lines = card_lines(turn, d)
        body = Safe("\n".join(lines[f] for f in INTENT_FIELDS[intent]))
        turn.say("answer", buttons=card_buttons(turn, d), name=d.name, code=d.code, body=body)
        return True
    if not store_unanswered:
        return False
    store_question(turn, d, text)
    return True


def store_question(turn: Turn, d: Deployment | None, text: str) -> None:
    """File a question the bot cannot answer as a concern of kind "question", so staff see it.

    Without consent the question is stored unlinked, and still counts against the resident's hourly limit.
    """
    key = f"tg:{turn.env.bot_id}:{turn.env.update_id}" if turn.env.update_id is not None else None
    linked = turn.resident if turn.consented else None
    try:
        with turn.session.begin_nested():
            concern = concerns.submit(turn.session, text=text, policy=turn.env.policy, resident=linked,
                                      asked_by=None if linked else turn.resident, deployment=d,
                                      kind=ConcernKind.QUESTION, idempotency_key=key, now=turn.env.now)
    except RateLimited as exc:
        turn.say("error-question-rate-limited", limit=int(str(exc.details.get("limit", 0))))
        return
    except DomainError as exc:
        from core.conversation.errors import explain

        explain(turn, exc)
        return
    turn.say("question-stored" if turn.consented else "question-stored-anonymous", reference=concern.reference)


def district_by_words(session: Session, text: str) -> District | None:
    wanted = " ".join(words(text.replace("-", " ")))
    if not wanted:
        return None
    for d in session.scalars(select(District).order_by(District.slug)):
        names = {" ".join(words(n.replace("-", " "))) for n in (d.slug, d.name_en, d.name_es)}
        if wanted in names:
            return d
    return None
