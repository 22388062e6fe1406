"""Use cases that change the database: each runs in one transaction and writes its audit event.

They take a SQLAlchemy session and plain values, never a request, so tests and CLI commands
call them directly. Pure rules live in `perisai.domain`.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who does something, for the audit trail."""
    id: int | None
    username: str
    ip: str | None = None


SYSTEM = Actor(None, "system")
