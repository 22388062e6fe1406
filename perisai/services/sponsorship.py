"""Which months a sponsor (government, village, company) pays for a worker, and for which programs.

A sponsored-list entry with programs=2 pays JKK+JKM; programs=3 pays JHT as well. Months a
sponsor pays in full (all the worker's programs) count as paid: `apply_sponsor_cover` moves
`paid_through` over them at registration, when a list is imported, before a code is issued and
after a payment, so a worker put on a list after registering never lapses for want of a bill.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.months import add_months, month_of
from ..domain.status import first_unpaid_month
from ..models import SponsoredEntry, Worker
from . import Actor, audit

SponsorCover = dict[date, int]  # month -> programs the sponsor pays that month


def cover_by_nik(session: Session, niks: Iterable[str], first: date, last: date) -> dict[str, SponsorCover]:
    """For each NIK, the months in [first, last] a sponsor pays, in one query."""
    niks = list(niks)
    if not niks:
        return {}
    by_nik: dict[str, list[SponsoredEntry]] = {}
    for entry in session.scalars(select(SponsoredEntry).where(
            SponsoredEntry.nik.in_(niks), SponsoredEntry.valid_from <= last,
            SponsoredEntry.valid_to >= first)):
        by_nik.setdefault(entry.nik, []).append(entry)
    return {nik: cover_from_entries(entries, first, last) for nik, entries in by_nik.items()}


def cover_from_entries(entries: Iterable[SponsoredEntry], first: date, last: date) -> SponsorCover:
    """The months in [first, last] that these entries (of one NIK) pay, with their programs."""
    cover: SponsorCover = {}
    for entry in entries:
        month = max(month_of(entry.valid_from), first)
        while month <= min(month_of(entry.valid_to), last):
            cover[month] = max(cover.get(month, 0), entry.programs)
            month = add_months(month, 1)
    return cover


def sponsor_cover(session: Session, nik: str, first: date, last: date) -> SponsorCover:
    return cover_by_nik(session, [nik], first, last).get(nik, {})


def covered_through(session: Session, nik: str, start: date, programs: int) -> date | None:
    """The last month of the unbroken run, from `start`, in which a sponsor pays all `programs`."""
    return run_end(session.scalars(select(SponsoredEntry).where(
        SponsoredEntry.nik == nik, SponsoredEntry.valid_to >= start)), start, programs)


def run_end(entries: Iterable[SponsoredEntry], start: date, programs: int) -> date | None:
    """`covered_through` over entries (of one NIK) already loaded."""
    entries = [e for e in entries if e.programs >= programs]
    last = None
    month = start
    while True:
        covering = [e for e in entries if month_of(e.valid_from) <= month <= month_of(e.valid_to)]
        if not covering:
            return last
        last = max(month_of(e.valid_to) for e in covering)
        month = add_months(last, 1)


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
