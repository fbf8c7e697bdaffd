"""Authentication with API keys (Authorization: Bearer <key>) and the role matrix of DESIGN.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from api.deps import get_database
from core import apikeys
from core.db import Database
from core.models import Role, utcnow

BEARER = "bearer"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's named principal and its role."""

    name: str
    role: Role
    key_id: int


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": "Bearer"})


def optional_principal(request: Request, database: Annotated[Database, Depends(get_database)]
                       ) -> Principal | None:
    """The caller's principal, None without an Authorization header; 401 for a malformed or unknown key."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != BEARER or not token.strip():
        raise _unauthorized("use 'Authorization: Bearer <key>'")
    principal = principal_for(request, database, token.strip())
    if principal is None:
        raise _unauthorized("invalid or revoked API key")
    return principal


def principal_for(request: Request, database: Database, token: str) -> Principal | None:
    """The principal behind a presented key (None if it is unknown or revoked), counted against the key's rate
    limit (HTTPException 429 once spent) and noted as used; every way of presenting a key goes through here."""
    with database.reading() as session:
        key = apikeys.authenticate(session, token=token)
        found = (key.id, key.principal, Role(key.role), key) if key else None
    if found is None:
        return None
    key_id, name, role, key = found
    key_limiter = getattr(request.app.state, "key_limiter", None)
    if key_limiter is not None:
        key_limiter.check(key_id)
    now = utcnow()
    if apikeys.use_is_due(key, now):
        # A short write of its own, at most once a minute per key, so reads never take the write lock.
        with database.transaction() as session:
            apikeys.note_use(session, key_id=key_id, now=now)
    return Principal(name=name, role=role, key_id=key_id)


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require(*roles: Role):  # type: ignore[no-untyped-def]
    """A dependency that admits only the given roles: 401 without a key, 403 for another role."""

    def dependency(principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise _unauthorized("an API key is required")
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"the {principal.role.value} role may not do this")
        return principal

    return dependency


Staff = Annotated[Principal, Depends(require(Role.STAFF, Role.ADMIN))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
