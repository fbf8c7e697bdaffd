"""Open311 GeoReport v2 (JSON and XML), with its own field names, statuses and error format."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, principal_for
from api.errors import StrictJSONRoute
from core import audit, concerns, open311
from core.errors import DomainError, NotFound
from core.models import Role
from core.settings import Settings

router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=StrictJSONRoute)
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = date(2026, 11, 27).isoformat() + "T00:00:00Z"
# XML element names for the items of each list the specification returns.
FORM = "application/x-www-form-urlencoded"
ITEM = {"services": "service", "service_requests": "request", "errors": "error"}


class Open311Error(Exception):
    def __init__(self, code: int, description: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.headers = headers


def _xml(root: str, value: Any) -> bytes:
    def fill(element: ET.Element, item: Any) -> None:
        if isinstance(item, dict):
            for key, inner in item.items():
                fill(ET.SubElement(element, key), inner)
        elif isinstance(item, list):
            child = ITEM.get(element.tag, "format" if element.tag == "formats" else
                             "endpoint" if element.tag == "endpoints" else "attribute")
            for inner in item:
                fill(ET.SubElement(element, child), inner)
        elif item is None:
            return
        else:
            element.text = ("true" if item else "false") if isinstance(item, bool) else str(item)

    element = ET.Element(root)
    fill(element, value)
    return bytes(ET.tostring(element, encoding="utf-8", xml_declaration=True))


def _respond(fmt: str, root: str, value: Any, status: int = 200, headers: dict[str, str] | None = None
             ) -> Response:
    if fmt == "xml":
        return Response(_xml(root, value), status_code=status, media_type="text/xml; charset=utf-8",
                        headers=headers)
    return JSONResponse(value, status_code=status, headers=headers)


def error_response(path: str, code: int, description: str) -> Response:
    """An Open311 error for a request that never reached a route (in the path's format, JSON by default)."""
    return _respond("xml" if path.endswith(".xml") else "json", "errors", [{"code": code, "description": description}],
                    code)


def _format(raw: str) -> str:
    if raw not in ("json", "xml"):
        raise Open311Error(400, "the format must be json or xml")
    return raw


def _handled(fmt_raw: str, root: str, produce: Callable[[str], Any], status: int = 200) -> Response:
    fmt = fmt_raw if fmt_raw in ("json", "xml") else "json"
    try:
        return _respond(_format(fmt_raw), root, produce(fmt), status)
    except Open311Error as exc:
        return _respond(fmt, "errors", [{"code": exc.code, "description": exc.description}], exc.code, exc.headers)
    except NotFound as exc:
        return _respond(fmt, "errors", [{"code": 404, "description": exc.reason}], 404)
    except DomainError as exc:
        return _respond(fmt, "errors", [{"code": 400, "description": exc.reason}], 400)


def _principal(request: Request, api_key: str | None) -> Principal | None:
    """Who is behind an api_key (rate-limited and noted as used like a Bearer key); None without one; 403 for
    a key that is not valid; 429 once the key's budget is spent."""
    if not api_key:
        return None
    try:
        principal = principal_for(request, request.app.state.database, api_key.strip())
    except HTTPException as exc:
        raise Open311Error(exc.status_code, str(exc.detail), dict(exc.headers or {})) from exc
    if principal is None:
        raise Open311Error(403, "invalid api_key")
    return principal


def _role(request: Request, api_key: str | None) -> Role | None:
    principal = _principal(request, api_key)
    return principal.role if principal is not None else None


@router.get("/discovery.{format}", summary="Open311 discovery")
def discovery(request: Request, format: str) -> Response:
    settings: Settings = request.app.state.settings
    return _handled(format, "discovery", lambda _fmt: {
        "changeset": CHANGESET, "contact": settings.public_url + "/api/v1/about",
        "key_service": "API keys are issued by the city's administrators (civicpulse apikey create).",
        "endpoints": [{"specification": SPECIFICATION, "url": settings.public_url + "/open311/v2",
                       "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}]})


@router.get("/services.{format}", summary="Open311 services: the concern categories")
def list_services(format: str, lang: str | None = None) -> Response:
    return _handled(format, "services", lambda _fmt: open311.services(lang))


@router.get("/services/{service_code}.{format}", summary="Open311 service definition")
def service_definition(service_code: str, format: str, lang: str | None = None) -> Response:
    def produce(_fmt: str) -> Any:
        if open311.service(service_code, lang) is None:
            raise Open311Error(404, f"no service {service_code!r}")
        return {"service_code": service_code, "attributes": []}

    return _handled(format, "service_definition", produce)


@router.get("/requests.{format}", summary="Open311 service requests (no description without a staff key)")
def list_requests(request: Request, format: str) -> Response:
    params = request.query_params

    def produce(_fmt: str) -> Any:
        role = _role(request, params.get("api_key"))
        query = open311.RequestQuery(
            ids=tuple(i for i in (params.get("service_request_id") or "").split(",") if i.strip()),
            service_code=params.get("service_code") or None,
            start=open311.parse_datetime(params["start_date"], "start_date") if params.get("start_date") else None,
            end=open311.parse_datetime(params["end_date"], "end_date") if params.get("end_date") else None,
            status=params.get("status") or None)
        with request.app.state.database.reading() as session:
            return open311.list_requests(session, query=query, with_text=role in (Role.STAFF, Role.ADMIN),
                                         language=params.get("lang"))

    return _handled(format, "service_requests", produce)


@router.get("/requests/{service_request_id}.{format}", summary="One Open311 service request")
def get_request(request: Request, service_request_id: str, format: str) -> Response:
    def produce(_fmt: str) -> Any:
        role = _role(request, request.query_params.get("api_key"))
        with request.app.state.database.reading() as session:
            found = open311.list_requests(session, query=open311.RequestQuery(ids=(service_request_id,)),
                                          with_text=role in (Role.STAFF, Role.ADMIN), language=None)
        if not found:
            raise Open311Error(404, f"no service request {service_request_id!r}")
        return found

    return _handled(format, "service_requests", produce)


@router.post("/requests.{format}", summary="File an Open311 service request (staff or admin api_key)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
                     "api_key": {"type": "string"}, "service_code": {"type": "string"},
                     "lat": {"type": "string"}, "long": {"type": "string"}, "address_string": {"type": "string"},
                     "address_id": {"type": "string"}, "description": {"type": "string"}}}}}}})
async def post_request(request: Request, format: str) -> Response:
    """The body is read here (form encoded); intake then runs on a worker thread, off the event loop. The
    concern is in the audit log under the key's principal, like every staff write."""
    body = await request.body()
    return await run_in_threadpool(_post, request, format, body)


def _post(request: Request, format: str, body: bytes) -> Response:
    def produce(_fmt: str) -> Any:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type and media_type != FORM:
            # The specification's POST is a form; a JSON body would be read as one odd field (and no api_key).
            raise Open311Error(400, f"the body must be form-encoded ({FORM}), not {media_type[:60]}")
        try:
            fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=50))
        except (UnicodeDecodeError, ValueError) as exc:
            raise Open311Error(400, "the body must be application/x-www-form-urlencoded UTF-8") from exc
        if any("\x00" in v for v in fields.values()):
            raise Open311Error(400, "NUL characters are not accepted")
        who = _principal(request, fields.pop("api_key", None))
        if who is None or who.role not in (Role.STAFF, Role.ADMIN):
            raise Open311Error(403, "a staff or admin api_key is required to file requests")
        settings: Settings = request.app.state.settings
        policy = concerns.IntakePolicy(zone=settings.zone, phone_region=settings.phone_region,
                                       concerns_per_hour=settings.concerns_per_hour)
        with request.app.state.database.transaction() as session:
            concern = open311.create_request(session, fields=fields, policy=policy)
            reference = concern.reference
            audit.record(session, principal=who.name, role=who.role.value, action="concern.create",
                         target=reference, detail={"source": "open311", "service_code": concern.category})
        return [{"service_request_id": reference, "token": reference, "service_notice": None, "account_id": None}]

    return _handled(format, "service_requests", produce, status=201)


@router.get("/tokens/{token}.{format}", summary="Open311 token lookup")
def token(request: Request, token: str, format: str) -> Response:
    def produce(_fmt: str) -> Any:
        with request.app.state.database.reading() as session:
            found = open311.list_requests(session, query=open311.RequestQuery(ids=(token,)), with_text=False,
                                          language=None)
        if not found:
            raise Open311Error(404, f"no token {token!r}")
        return [{"service_request_id": found[0]["service_request_id"], "token": token}]

    return _handled(format, "service_requests", produce)
