"""Months a sponsor pays in full are paid: `apply_sponsor_cover` moves `paid_through` over them
at registration, when a list is imported, before a code is issued and after a payment, so a
worker put on a list after registering never lapses for want of a bill."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from ..domain.sponsorship import run_end
from ..domain.status import first_unpaid_month
from ..models import SponsoredEntry, Worker
from ..queries.sponsorship import covered_through
from . import Actor, audit


def apply_sponsor_cover(session: Session, worker: Worker, actor: Actor, *,
                        entries: Iterable[SponsoredEntry] | None = None,
                        record_event: bool = True) -> date | None:
    """Mark paid the unbroken run of months, from the worker's first unpaid month, that a sponsor
    pays in full for the worker's programs. Returns the new paid-through month, or None when
    nothing changed. The caller holds the worker row locked (`tx.lock`) in its transaction.
    `entries` are the worker's list entries when the caller loaded them already.

    Only ever moves forward: a list entry shortened later does not take back months already
    marked paid (they were paid when marked). `record_event=False` for a registration, whose own
    event carries `sponsored_through`.
    """
    before = worker.paid_through
    start = first_unpaid_month(worker.first_month, worker.paid_through)
    through = (covered_through(session, worker.nik, start, worker.programs) if entries is None
               else run_end(entries, start, worker.programs))
    if through is None or through == before:
        return None
    worker.paid_through = through
    if record_event:
        audit.record(session, actor, "worker.sponsored_months", "worker", worker.id,
                     before={"paid_through": before}, after={"paid_through": through})
    return through
