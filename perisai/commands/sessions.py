"""Login sessions kept on the server (`login_sessions`): started at login, touched as they are
used, ended at logout. The cookie alone is not enough to act as someone: its token must name a
row that is neither ended nor idle for longer than the timeout."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..models import LoginSession
from .tx import write_transaction


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: Session, user_id: int, idle_timeout: timedelta) -> str:
    """A new session for the user; returns the token for the cookie. The user's ended and idle
    rows are cleared out on the way, so the table holds about one row per device."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction(session):
        session.execute(delete(LoginSession).where(
            LoginSession.user_id == user_id,
            or_(LoginSession.ended_at.is_not(None),
                LoginSession.last_seen_at < now - idle_timeout)))
        session.add(LoginSession(id=digest(token), user_id=user_id, created_at=now,
                                 last_seen_at=now))
    return token


def touch_session(session: Session, token: str, now: datetime) -> None:
    """Mark the session used now (the idle timeout counts from here)."""
    with write_transaction(session):
        session.execute(update(LoginSession).where(LoginSession.id == digest(token),
                                                   LoginSession.ended_at.is_(None))
                        .values(last_seen_at=now))


def end_session(session: Session, token: str | None) -> None:
    """Logout: the token stops working on the server, wherever a copy of the cookie is."""
    if not token:
        return
    with write_transaction(session):
        session.execute(update(LoginSession).where(LoginSession.id == digest(token),
                                                   LoginSession.ended_at.is_(None))
                        .values(ended_at=utcnow()))
