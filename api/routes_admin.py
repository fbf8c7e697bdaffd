"""Admin: API keys and the audit log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from api.auth import Admin
from api.deps import ReadSession, WriteSession
from api.errors import StrictJSONRoute
from api.schemas_staff import ApiKeyCreated, ApiKeyIn, ApiKeyOut, AuditPage
from core import apikeys, audit
from core.models import ApiKey
from core.pagination import DEFAULT_LIMIT, MAX_ID, MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["admin"], route_class=StrictJSONRoute)


def _key(key: ApiKey) -> dict[str, Any]:
    return {"id": key.id, "principal": key.principal, "role": key.role, "prefix": key.prefix,
            "created_at": key.created_at, "last_used_at": key.last_used_at, "revoked_at": key.revoked_at}


@router.get("/apikeys", response_model=list[ApiKeyOut], summary="List API keys (admin); never the secrets")
def list_keys(session: ReadSession, _who: Admin) -> list[dict[str, Any]]:
    return [_key(k) for k in apikeys.list_keys(session)]


@router.post("/apikeys", response_model=ApiKeyCreated, status_code=201, summary="Issue an API key (admin)")
def create_key(session: WriteSession, who: Admin, body: ApiKeyIn) -> dict[str, Any]:
    """The secret is in this response only; it is stored as a SHA-256 hash."""
    key, token = apikeys.create(session, role=body.role, principal=body.name)
    audit.record(session, principal=who.name, role=who.role.value, action="apikey.create", target=str(key.id),
                 detail={"role": key.role, "principal": key.principal})
    return {**_key(key), "key": token}


@router.delete("/apikeys/{key_id}", status_code=204, summary="Revoke an API key (admin)",
               responses={404: {"description": "no key with this id"}})
def revoke_key(session: WriteSession, who: Admin, key_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> Response:
    """Revoking a key already revoked answers 204 again and changes nothing (no second audit event)."""
    key, revoked = apikeys.revoke(session, key_id=key_id)
    if revoked:
        audit.record(session, principal=who.name, role=who.role.value, action="apikey.revoke", target=str(key.id))
    return Response(status_code=204)


@router.get("/audit", response_model=AuditPage, summary="The audit log, newest first (admin)")
def audit_log(session: ReadSession, _who: Admin,
              limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
              cursor: Annotated[str | None, Query(max_length=100)] = None) -> dict[str, Any]:
    page = audit.list_events(session, limit=limit, cursor=cursor)
    return {"items": [{"id": e.id, "principal": e.principal, "role": e.role, "action": e.action,
                       "target": e.target, "detail": e.detail, "created_at": e.created_at} for e in page.items],
            "next_cursor": page.next_cursor}
