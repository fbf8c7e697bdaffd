"""The demo city of Riverton: districts, a realistic register and ten weeks of synthetic concerns."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import concerns, exchange, residents, triage
from core.deployments import ImportReport, import_records
from core.districts import import_districts
from core.models import (
    Category,
    Concern,
    ConcernKind,
    ConcernStatus,
    Deployment,
    District,
    Follow,
    utcnow,
)

DEMO_CONCERNS = 660
DEMO_RESIDENTS = 150
DEMO_WEEKS = 10
FAKE_TELEGRAM_BASE = 9_000_000_000  # far above real user ids' current range; never a real account
PLACES = ["Elm Street", "Maple Avenue", "Rue Saint-Denis", "University Boulevard", "Harbour Road", "Riverside Park",
          "the market square", "Northgate station", "the public library", "Eastfield school"]
# Older concerns are more often closed, as in a working triage team.
CLOSED_STATUSES = [ConcernStatus.ANSWERED, ConcernStatus.RESOLVED, ConcernStatus.NOT_RESPONSIBLE]
OPEN_LATER = [ConcernStatus.ACKNOWLEDGED, ConcernStatus.INVESTIGATING, ConcernStatus.PLANNED]


def _data(name: str) -> Any:
    return json.loads((resources.files("core") / "data" / name).read_text(encoding="utf-8"))


@dataclass
class SeedReport:
    districts: int
    register: ImportReport
    concerns_created: int
    concerns_total: int


def seed_districts(session: Session) -> int:
    """Load Riverton's districts through the same import a city uses for its own; return how many there are."""
    report = import_districts(session, collection=_data("demo_districts.geojson"), actor="seed demo")
    if not report.ok:
        raise RuntimeError(f"the demo districts do not import: {report.lines()}")
    return report.created + report.updated + report.unchanged


def seed_demo(session: Session, *, secret: bytes, policy: concerns.IntakePolicy, now: datetime | None = None
              ) -> SeedReport:
    """Seed Riverton; running it again changes nothing that is already there."""
    now = now or utcnow()
    district_count = seed_districts(session)
    text = (resources.files("core") / "data" / "demo_deployments.geojson").read_text(encoding="utf-8")
    register = import_records(session, rows=exchange.read_geojson(text), actor="seed demo")
    created = _seed_concerns(session, secret=secret, policy=policy, now=now)
    total = len(session.scalars(select(Concern.id).where(Concern.source == "demo")).all())
    return SeedReport(district_count, register, created, total)


def _seed_concerns(session: Session, *, secret: bytes, policy: concerns.IntakePolicy, now: datetime) -> int:
    rng = random.Random(20261127)
    templates = _data("demo_concerns.json")
    by_language: dict[str, list[dict[str, Any]]] = {"en": [], "es": []}
    for template in templates["templates"]:
        by_language[template["language"]].append(template)
    questions = {q["language"]: q["texts"] for q in templates["questions"]}
    replies = {(r["language"], r["status"]): r["texts"] for r in templates["staff_replies"]}
    deployments = list(session.scalars(select(Deployment).order_by(Deployment.code)))
    by_technology: dict[str, list[Deployment]] = {}
    for d in deployments:
        by_technology.setdefault(d.technology, []).append(d)
    people = [
        residents.get_or_create(session, secret=secret, telegram_user_id=FAKE_TELEGRAM_BASE + i,
                                language="es" if i % 3 == 0 else "en")
        for i in range(DEMO_RESIDENTS)
    ]
    for person in people:
        residents.give_consent(session, resident=person, now=now - timedelta(days=DEMO_WEEKS * 7 + 1))
    created = 0
    for i in range(DEMO_CONCERNS):
        # Draw everything first so a re-run makes the same choices for every index.
        person = people[rng.randrange(len(people))]
        language = person.language or "en"
        age = timedelta(minutes=rng.randrange(1, DEMO_WEEKS * 7 * 24 * 60 - 60))
        # A rising wave of surveillance worries in the last three weeks, so trends show something.
        is_question = rng.random() < 0.06
        template = rng.choice(by_language[language])
        if rng.random() < 0.25 and age < timedelta(days=21):
            template = next((t for t in by_language[language] if t["category"] == "surveillance"), template)
        candidates = [d for tech in template["technologies"] for d in by_technology.get(tech, [])] or deployments
        deployment = rng.choice(candidates) if rng.random() < 0.9 else None
        raw = rng.choice(questions[language] if is_question else template["texts"])
        body = raw.format(code=deployment.code if deployment else "AQ-001",
                          name=deployment.name if deployment else "the sensor", place=rng.choice(PLACES))
        feeling = rng.choice([1, 2, 2, 3, 4, 5]) if rng.random() < 0.35 else None
        roll = rng.random()
        key = f"demo-{i}"
        if session.scalar(select(Concern.id).where(Concern.idempotency_key == key)) is not None:
            continue
        created_at = now - age
        concern = concerns.submit(
            session, text=body, policy=policy, resident=person, deployment=deployment,
            category=None if is_question else Category(template["category"]), feeling=feeling,
            kind=ConcernKind.QUESTION if is_question else ConcernKind.CONCERN,
            idempotency_key=key, source="demo", now=created_at,
        )
        created += 1
        _triage(session, concern, roll, age, rng, replies, language, now)
    _seed_follows(session, people, deployments, rng)
    return created


def _triage(session: Session, concern: Concern, roll: float, age: timedelta, rng: random.Random,
            replies: dict[tuple[str, str], list[str]], language: str, now: datetime) -> None:
    days = age.days
    if days < 2 and roll < 0.7:
        return
    first = concern.created_at + timedelta(hours=rng.randrange(4, 24 * max(2, min(days, 12))))
    first = min(first, now - timedelta(minutes=5))
    if roll < 0.15:
        return  # left unanswered: response debt is real
    if roll < 0.45:
        status = rng.choice(OPEN_LATER)
        triage.change_status(session, concern=concern, status=status, actor="demo staff", now=first)
        return
    status = rng.choice(CLOSED_STATUSES)
    reason = "Provincial Transport Agency" if status is ConcernStatus.NOT_RESPONSIBLE else None
    texts = replies.get((language, status.value)) or replies.get((language, "answered")) or ["Thank you."]
    triage.reply(session, concern=concern, text=rng.choice(texts), author="demo staff", now=first)
    triage.change_status(session, concern=concern, status=status, actor="demo staff", reason=reason, now=first)
    if rng.random() < 0.4:
        concern.satisfied = rng.random() < 0.6
        concern.satisfaction_at = first + timedelta(days=3)


def _seed_follows(session: Session, people: list[Any], deployments: list[Deployment], rng: random.Random) -> None:
    districts = list(session.scalars(select(District.id).order_by(District.id)))
    for person in people[: len(people) // 3]:
        target = rng.choice(deployments)
        exists = session.scalar(select(Follow.id).where(Follow.resident_id == person.id,
                                                        Follow.deployment_id == target.id))
        if exists is None:
            session.add(Follow(resident_id=person.id, deployment_id=target.id))
        district = rng.choice(districts)
        exists = session.scalar(select(Follow.id).where(Follow.resident_id == person.id,
                                                        Follow.district_id == district))
        if exists is None:
            session.add(Follow(resident_id=person.id, district_id=district))
    session.flush()
