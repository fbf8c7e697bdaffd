"""Where each resident is in a bot flow, kept in the database so a restart or another worker loses nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, bindparam, delete
from sqlalchemy.orm import Session

from core.models import FlowState, Resident

# DESIGN.md, Residents' data: flow state expires after 24 hours.
FLOW_TTL = timedelta(hours=24)
REFRESH = timedelta(minutes=10)  # an unchanged flow (e.g. the card being looked at) is rewritten at most this often


def current(session: Session, *, resident: Resident, now: datetime, state: FlowState | None = None
            ) -> FlowState | None:
    """Return the resident's flow, or None when there is none or it expired (`state`: already loaded)."""
    state = state if state is not None else session.get(FlowState, resident.id)
    if state is None:
        return None
    if state.expires_at <= now:
        session.delete(state)
        session.flush()
        return None
    return state


def put(session: Session, *, resident: Resident, flow: str, step: str, data: dict[str, Any],
        now: datetime) -> FlowState:
    """Record the resident's flow and step (replacing any other flow)."""
    state = session.get(FlowState, resident.id)
    if state is None:
        state = FlowState(resident_id=resident.id, flow=flow, step=step, data=dict(data), updated_at=now,
                          expires_at=now + FLOW_TTL)
        session.add(state)
    elif (state.flow, state.step, state.data) != (flow, step, data) or now - state.updated_at > REFRESH:
        state.flow, state.step, state.data = flow, step, dict(data)
        state.updated_at, state.expires_at = now, now + FLOW_TTL
    return state


_CLEAR = delete(FlowState).where(FlowState.resident_id == bindparam("resident_id"))  # built once: a hot path


def clear(session: Session, *, resident: Resident) -> bool:
    """End the resident's flow; return whether there was one."""
    result: CursorResult[Any] = session.execute(_CLEAR, {"resident_id": resident.id})  # type: ignore[assignment]
    return bool(result.rowcount)


def prune(session: Session, *, now: datetime) -> int:
    """Delete expired flows; return how many."""
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        delete(FlowState).where(FlowState.expires_at <= now))
    return int(result.rowcount)
