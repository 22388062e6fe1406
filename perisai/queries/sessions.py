"""The logged-in user with its login session (see commands/sessions.py), read in one query."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..commands.sessions import digest
from ..models import LoginSession, User


def session_user(session: Session, user_id: int, token: str | None, now: datetime,
                 idle_timeout: timedelta) -> tuple[User, datetime] | None:
    """(user, the session's last use) when `token` names a session of that user that was not
    ended (logout) and was used within the idle timeout; None otherwise."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    row = session.execute(
        select(User, LoginSession.last_seen_at)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == user_id, LoginSession.id == digest(token),
               LoginSession.ended_at.is_(None),
               LoginSession.last_seen_at >= now - idle_timeout)).first()
    return None if row is None else (row[0], row[1])
