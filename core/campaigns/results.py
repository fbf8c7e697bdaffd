"""Campaign results: full figures for the owner, staff and admins; suppressed public figures; anonymised CSV.

Public figures follow core/stats.py's idea (nothing is built from a group below min_group_size) with
complementary suppression: every published breakdown is a partition of the respondents (each option, plus
"no answer"), so once a cell is hidden, more cells are hidden (smallest first) until at least two are and they
hold min_group_size respondents together — the respondent total minus the shown cells then pins no cell down.
Means are computed from the shown cells only, and no other total is given.
"""

from __future__ import annotations

import csv
import io
import math
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.campaigns.definition import SCALE, text_in
from core.errors import NotFound
from core.models import (
    Campaign,
    CampaignAnswer,
    CampaignAnswerPhrase,
    CampaignResponse,
    CampaignStatus,
    Category,
    District,
    Label,
    QuestionKind,
)
from core.plaintext import spreadsheet_safe
from core.suppression import hide

DECIMALS = 4
MAX_TEXTS = 200  # free-text answers listed per question in full results (latest first); the CSV has them all
MAX_PHRASES = 20
LABELS = [label.value for label in Label]
CATEGORIES = [c.value for c in Category]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), DECIMALS)


def _scale_figures(counts: dict[int, int]) -> dict[str, Any]:
    """Mean, population standard deviation and lower median of a 1..5 distribution (from its counts)."""
    n = sum(counts.values())
    if n == 0:
        return {"n": 0, "mean": None, "std_dev": None, "median": None}
    mean = sum(v * c for v, c in counts.items()) / n
    variance = sum(c * (v - mean) ** 2 for v, c in counts.items()) / n
    # The lower median (as core/summaries.lower_median defines it) read off the cumulative counts.
    position, seen, median = (n - 1) // 2, 0, None
    for value in sorted(counts):
        seen += counts[value]
        if seen > position:
            median = float(value)
            break
    return {"n": n, "mean": _round(mean), "std_dev": _round(math.sqrt(variance)), "median": median}


def _load(session: Session, campaign: Campaign) -> dict[str, Any]:
    """Every count in two grouped queries, each an index-only scan of the campaign's rows."""
    cid = campaign.id
    by_district = session.execute(
        select(CampaignResponse.district_id, func.count(), func.count(CampaignResponse.completed_at))
        .where(CampaignResponse.campaign_id == cid).group_by(CampaignResponse.district_id)).all()
    a = CampaignAnswer
    keys = (a.question_index, a.skipped, a.value, a.mask, a.label, a.category)
    cells = session.execute(
        select(*keys, func.count(), func.sum(a.polarity), func.count(a.polarity))
        .where(a.campaign_id == cid).group_by(*keys)).all()
    return {"by_district": by_district, "cells": cells}


def _phrases(session: Session, campaign: Campaign, index: int) -> Counter[str]:
    """How many answers to a free-text question gave each key phrase (an index-only GROUP BY)."""
    rows = session.execute(
        select(CampaignAnswerPhrase.phrase, func.count())
        .where(CampaignAnswerPhrase.campaign_id == campaign.id, CampaignAnswerPhrase.question_index == index)
        .group_by(CampaignAnswerPhrase.phrase))
    return Counter({str(phrase): int(count) for phrase, count in rows})


def _ranked(counter: Counter[str], minimum: int, limit: int) -> list[dict[str, Any]]:
    kept = [(p, c) for p, c in counter.items() if c >= minimum]
    kept.sort(key=lambda pc: (-pc[1], pc[0]))
    return [{"phrase": p, "count": c} for p, c in kept[:limit]]


def _texts_of(session: Session, campaign: Campaign, index: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(CampaignAnswer).where(
        CampaignAnswer.campaign_id == campaign.id, CampaignAnswer.question_index == index,
        CampaignAnswer.skipped.is_(False)).order_by(CampaignAnswer.id.desc()).limit(MAX_TEXTS))
    return [{"text": a.text or "", "language": a.language, "polarity": _round(a.polarity),
             "subjectivity": _round(a.subjectivity), "label": a.label, "category": a.category,
             "key_phrases": list(a.key_phrases or []), "flags": list(a.flags or [])} for a in rows]


def _share(count: int | None, total: int | None) -> float | None:
    return None if count is None or not total else _round(count / total)


def _compute(session: Session, campaign: Campaign, minimum: int | None) -> dict[str, Any]:
    """Full figures when minimum is None; the public, suppressed variant otherwise."""
    public = minimum is not None
    data = _load(session, campaign)
    total = sum(int(r[1]) for r in data["by_district"])
    completed = sum(int(r[2]) for r in data["by_district"])
    suppressed = 0

    def cut(counts: list[int], also: frozenset[int] = frozenset()) -> list[int | None]:
        nonlocal suppressed
        if not public:
            return list(counts)
        result = hide(counts, minimum or 1, also)
        suppressed += sum(1 for c in result if c is None)
        return result

    if public and total < (minimum or 1):
        return {"responses": None, "completed": None, "completion_rate": None, "questions": [], "districts": [],
                "suppressed": 1, "published": False}
    done = cut([completed, total - completed])[0]
    per_question: dict[int, Counter[tuple[bool, int | None]]] = defaultdict(Counter)
    masks: dict[int, Counter[int]] = defaultdict(Counter)
    text_cells: dict[int, list[Any]] = defaultdict(list)
    for index, skipped, value, mask, label, category, count, p_sum, p_n in data["cells"]:
        per_question[index][(bool(skipped), value)] += int(count)
        if mask is not None:
            masks[index][int(mask)] += int(count)
        if not skipped and (label is not None or category is not None or p_n):
            text_cells[index].append((label, category, int(count), p_sum, int(p_n)))
    questions = []
    for index, question in enumerate(campaign.questions):
        kind = QuestionKind(question["kind"])
        cells = per_question.get(index, Counter())
        skipped = sum(c for (s, _), c in cells.items() if s)
        answered = sum(c for (s, _), c in cells.items() if not s)
        out: dict[str, Any] = {"index": index, "kind": kind.value, "required": question["required"],
                               "text": dict(question["text"]), "answered": None if public else answered,
                               "skipped": None if public else skipped}
        no_answer = total - answered
        if kind in (QuestionKind.SINGLE_CHOICE, QuestionKind.SCALE):
            values = (list(range(len(question["options"]))) if kind is QuestionKind.SINGLE_CHOICE
                      else list(range(SCALE[0], SCALE[1] + 1)))
            counts = cut([cells.get((False, v), 0) for v in values] + [no_answer])
            out["no_answer"] = counts[-1]
            if kind is QuestionKind.SINGLE_CHOICE:
                out["options"] = [{"index": v, "text": dict(question["options"][v]), "count": counts[i],
                                   "share": _share(counts[i], total)} for i, v in enumerate(values)]
            else:
                out["distribution"] = [{"value": v, "count": counts[i]} for i, v in enumerate(values)]
                out.update(_scale_figures({v: c for v, c in zip(values, counts[:-1], strict=True) if c}))
        elif kind is QuestionKind.MULTIPLE_CHOICE:
            by_mask = masks.get(index, Counter())
            options = []
            for i, option in enumerate(question["options"]):
                count = sum(n for mask, n in by_mask.items() if mask >> i & 1)
                shown = cut([count, total - count])[0]
                options.append({"index": i, "text": dict(option), "count": shown, "share": _share(shown, total)})
            out["options"] = options
            out["no_answer"] = cut([answered, no_answer])[1] if public else no_answer
        else:
            rows = text_cells.get(index, [])
            label_counts = Counter[str | None]()
            category_counts = Counter[str | None]()
            polarity_sum, polarity_n = 0.0, 0
            for label, category, count, p_sum, p_n in rows:
                label_counts[label] += count
                category_counts[category] += count
                polarity_sum += float(p_sum or 0.0)
                polarity_n += p_n
            label_cells = [label_counts.get(v, 0) for v in LABELS] + [label_counts.get(None, 0), no_answer]
            category_cells = [category_counts.get(c, 0) for c in CATEGORIES] + [no_answer]
            # Labels and categories are two partitions of the same respondents sharing the "no answer" cell:
            # hidden in one, it is hidden in the other too, or the other's total minus its shown cells would
            # give away the first's hidden ones.
            shared: frozenset[int] = frozenset()
            if public and (hide(label_cells, minimum or 1)[-1] is None
                           or hide(category_cells, minimum or 1)[-1] is None):
                shared = frozenset({-1})
            labels = cut(label_cells, frozenset(len(label_cells) + i for i in shared))
            out["labels"] = {**dict(zip(LABELS, labels, strict=False)), "undetermined": labels[-2]}
            out["no_answer"] = labels[-1]
            categories = cut(category_cells, frozenset(len(category_cells) + i for i in shared))
            out["categories"] = [{"category": c, "count": categories[i]} for i, c in enumerate(CATEGORIES)
                                 if categories[i] != 0]
            out["share_negative"] = _share(labels[0], answered - label_counts.get(None, 0)) if not public else None
            enough = polarity_n >= (minimum or 1)
            out["mean_polarity"] = _round(polarity_sum / polarity_n) if polarity_n and enough else None
            out["key_phrases"] = _ranked(_phrases(session, campaign, index), minimum or 1, MAX_PHRASES)
            out["answers"] = [] if public else _texts_of(session, campaign, index)
        questions.append(out)
    slugs = dict(session.execute(select(District.id, District.slug)).all())
    rows = sorted(data["by_district"], key=lambda r: (-int(r[1]), slugs.get(r[0]) is None, slugs.get(r[0], "")))
    shown_responses = cut([int(r[1]) for r in rows])
    districts = []
    for row, count in zip(rows, shown_responses, strict=True):
        entry: dict[str, Any] = {"district": slugs.get(row[0]), "responses": count}
        entry["completed"] = None if public else int(row[2])
        districts.append(entry)
    return {"responses": total, "completed": done, "completion_rate": _share(done, total), "questions": questions,
            "districts": districts, "suppressed": suppressed, "published": True}


def results(session: Session, *, campaign: Campaign) -> dict[str, Any]:
    """Every figure for the owner, staff and admins: counts, completion, distributions, scale means with spread,
    free-text answers with sentiment, category and key phrases, and a breakdown by district."""
    return {"code": campaign.code, "status": campaign.status, **_compute(session, campaign, None)}


def public_results(session: Session, *, campaign: Campaign, min_group_size: int) -> dict[str, Any]:
    """The published figures: only for a closed campaign whose owner made results public, suppressed (see above).
    NotFound otherwise, so unpublished campaigns do not show they exist."""
    if campaign.status not in (CampaignStatus.CLOSED, CampaignStatus.ARCHIVED) or not campaign.results_public:
        raise NotFound("no published results for this campaign")
    return {"code": campaign.code, "status": campaign.status,
            **_compute(session, campaign, max(1, min_group_size))}


def headline(session: Session, *, campaign: Campaign, min_group_size: int) -> dict[str, Any]:
    """The one result participants hear: the first single-choice (most chosen option) or scale (mean) question,
    from the public figures."""
    figures = _compute(session, campaign, max(1, min_group_size))
    found: dict[str, Any] = {"responses": figures["responses"], "question": None}
    for question in figures["questions"]:
        if question["kind"] == QuestionKind.SINGLE_CHOICE.value:
            shown = [o for o in question["options"] if o["count"]]
            if shown:
                top = min(shown, key=lambda o: (-o["count"], o["index"]))
                return {**found, "question": question["text"], "kind": question["kind"], "option": top["text"],
                        "share": top["share"]}
        if question["kind"] == QuestionKind.SCALE.value and question.get("mean") is not None:
            return {**found, "question": question["text"], "kind": question["kind"], "mean": question["mean"]}
    return found



def csv_columns(campaign: Campaign) -> list[str]:
    columns = ["respondent", "district", "started_on", "completed"]
    for number, question in enumerate(campaign.questions, 1):
        columns.append(f"q{number}")
        if question["kind"] == QuestionKind.FREE_TEXT.value:
            columns += [f"q{number}_language", f"q{number}_label", f"q{number}_polarity", f"q{number}_category"]
    return columns


def responses_csv(session: Session, *, campaign: Campaign, batch: int = 2000) -> Iterator[str]:
    """Anonymised responses as CSV: no resident id or pseudonym; respondents are numbered 1..n in a random order
    drawn afresh for each export (so rows cannot be joined across exports or to the bot)."""
    language = campaign.languages[0]
    ids = list(session.scalars(select(CampaignResponse.id).where(CampaignResponse.campaign_id == campaign.id)))
    secrets.SystemRandom().shuffle(ids)
    slugs = dict(session.execute(select(District.id, District.slug)).all())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_columns(campaign))
    yield buffer.getvalue()
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        responses = {r.id: r for r in session.execute(
            select(CampaignResponse.id, CampaignResponse.district_id, CampaignResponse.started_at,
                   CampaignResponse.completed_at).where(CampaignResponse.id.in_(chunk)))}
        answers: dict[int, dict[int, CampaignAnswer]] = defaultdict(dict)
        for a in session.scalars(select(CampaignAnswer).where(CampaignAnswer.response_id.in_(chunk))):
            answers[a.response_id][a.question_index] = a
        buffer.seek(0)
        buffer.truncate()
        for number, response_id in enumerate(chunk, start + 1):
            r = responses[response_id]
            row: list[Any] = [number, slugs.get(r.district_id) or "", r.started_at.date().isoformat(),
                              "yes" if r.completed_at else "no"]
            for index, question in enumerate(campaign.questions):
                row.extend(_cells(question, answers[response_id].get(index), language))
            writer.writerow(row)
        yield buffer.getvalue()


def _cells(question: dict[str, Any], answer: CampaignAnswer | None, language: str) -> list[Any]:
    kind = QuestionKind(question["kind"])
    free = kind is QuestionKind.FREE_TEXT
    if answer is None or answer.skipped:
        return ["", "", "", "", ""] if free else [""]
    if kind is QuestionKind.SINGLE_CHOICE and answer.value is not None:
        return [spreadsheet_safe(text_in(question["options"][answer.value], language))]
    if kind is QuestionKind.MULTIPLE_CHOICE and answer.mask is not None:
        return [";".join(spreadsheet_safe(text_in(o, language)) for i, o in enumerate(question["options"])
                         if answer.mask >> i & 1)]
    if kind is QuestionKind.SCALE:
        return [answer.value]
    return [spreadsheet_safe(answer.text or ""), answer.language or "", answer.label or "",
            "" if answer.polarity is None else round(answer.polarity, DECIMALS), answer.category or ""]

