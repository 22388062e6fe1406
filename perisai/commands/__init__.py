"""Use cases that change the database, one function each. This is the only package that opens
and commits a transaction (`commands.tx.write_transaction`); every change of money or membership
writes its audit event in the same transaction, and the agent's books move through
`commands.books`.

Commands take a SQLAlchemy session and plain values, never a request, so the views, the CLI and
the tests call them alike. They read through `perisai.queries` and decide by `perisai.domain`.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """Who does something, for the audit trail."""
    id: int | None
    username: str
    ip: str | None = None


SYSTEM = Actor(None, "system")
