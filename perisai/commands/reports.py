"""A report that shows full NIKs is recorded before a single row leaves the server."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from . import Actor, audit
from .tx import write_transaction


def record_full_nik_export(session: Session, *, branch_code: str, first_day: date,
                           last_day: date, actor: Actor) -> None:
    with write_transaction(session):
        audit.record(session, actor, "report.full_nik", "branch", branch_code,
                     after={"report": "collections", "from": first_day, "to": last_day})
