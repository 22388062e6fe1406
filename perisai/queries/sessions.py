"""Is this login session still live on the server (see commands/sessions.py)?"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ..commands.sessions import digest
from ..models import LoginSession


def live_session(session: Session, token: str | None, user_id: int, now: datetime,
                 idle_timeout: timedelta) -> LoginSession | None:
    """The session row of `token` when it belongs to the user, was not ended (logout) and was
    used within the idle timeout; None otherwise."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    row = session.get(LoginSession, digest(token))
    if row is None or row.user_id != user_id or row.ended_at is not None \
            or now - row.last_seen_at > idle_timeout:
        return None
    return row
