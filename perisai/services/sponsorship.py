"""Which months a sponsor (government, village, company) pays for a worker, and for which programs.

A sponsored-list entry with programs=2 pays JKK+JKM; programs=3 pays JHT as well.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.months import add_months, month_of
from ..models import SponsoredEntry

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
    entries = [e for e in session.scalars(select(SponsoredEntry).where(
        SponsoredEntry.nik == nik, SponsoredEntry.valid_to >= start)) if e.programs >= programs]
    last = None
    month = start
    while True:
        covering = [e for e in entries if month_of(e.valid_from) <= month <= month_of(e.valid_to)]
        if not covering:
            return last
        last = max(month_of(e.valid_to) for e in covering)
        month = add_months(last, 1)
