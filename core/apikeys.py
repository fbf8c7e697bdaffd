"""API keys: 256-bit random secrets, stored as SHA-256 with a short lookup prefix."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Invalid, NotFound
from core.models import ApiKey, Role, utcnow
from core.pagination import MAX_ID
from core.plaintext import control_problem

KEY_PREFIX = "cp_"
PREFIX_LENGTH = 8
LAST_USED_RESOLUTION = timedelta(minutes=1)
LINE_BREAKS = re.compile("[\t\n\r]")  # what control_problem lets through for multi-line text


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(session: Session, *, role: Role, principal: str) -> tuple[ApiKey, str]:
    """Issue a key for a named principal; the plain key is returned once and never stored."""
    principal = principal.strip()
    if not principal or len(principal) > 200:
        raise Invalid("a key needs a principal name of 1 to 200 characters")
    if (problem := control_problem(principal)) is not None:
        raise Invalid(f"the key's name: {problem}")
    if (found := LINE_BREAKS.search(principal)) is not None:
        # A name is one line of the key listing and the audit log.
        raise Invalid(f"the key's name is one line: tabs and line ends are not accepted (U+{ord(found.group()):04X} "
                      f"at position {found.start() + 1})")
    secret = secrets.token_urlsafe(32)  # 256 bits
    token = f"{KEY_PREFIX}{secret}"
    key = ApiKey(principal=principal, role=Role(role).value, prefix=secret[:PREFIX_LENGTH], key_hash=_hash(token))
    session.add(key)
    session.flush()
    return key, token


def authenticate(session: Session, *, token: str) -> ApiKey | None:
    """Return the live (unrevoked) key for a presented token, or None; reads only."""
    if not token.startswith(KEY_PREFIX) or len(token) > 100:
        return None
    prefix = token[len(KEY_PREFIX):len(KEY_PREFIX) + PREFIX_LENGTH]
    digest = _hash(token)
    for key in session.scalars(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None))):
        if hmac.compare_digest(key.key_hash, digest):
            return key
    return None


def use_is_due(key: ApiKey, now: datetime) -> bool:
    """Whether last_used_at is stale enough to be written (at most once a minute per key)."""
    return key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION


def note_use(session: Session, *, key_id: int, now: datetime) -> None:
    """Record that a key was used now (callers check use_is_due first)."""
    key = session.get(ApiKey, key_id)
    if key is not None:
        key.last_used_at = now


def list_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke(session: Session, *, key_id: int, now: datetime | None = None) -> tuple[ApiKey, bool]:
    """Revoke a key; return it and whether this call revoked it (False: it already was, and stays as it was)."""
    # An id no row can have (ids are 32-bit on PostgreSQL) is simply not a key, never a database error.
    key = session.get(ApiKey, key_id) if 1 <= key_id <= MAX_ID else None
    if key is None:
        raise NotFound(f"no API key with id {key_id}")
    if key.revoked_at is not None:
        return key, False
    key.revoked_at = now or utcnow()
    return key, True
