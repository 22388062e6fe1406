"""Bulk probing of the registration check: an agent who checks more NIKs than anyone registers
is stopped (workers/views.py) and this writes it to the audit trail, once per window."""
from __future__ import annotations

from sqlalchemy.orm import Session

from . import Actor, audit
from .tx import write_transaction


def record_nik_probing(session: Session, actor: Actor, *, limit: str) -> None:
    with write_transaction(session):
        audit.record(session, actor, "nik_check.limited", "user", actor.id,
                     after={"limit": limit})
