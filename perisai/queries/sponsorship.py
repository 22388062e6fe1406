"""The sponsored-premium list: who is on it, for which months, and how long the list is."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.sponsored_list import SPONSOR_CODES
from ..domain.sponsorship import SponsorCover, cover_from_entries, run_end
from ..models import SponsoredEntry


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


def sponsor_cover(session: Session, nik: str, first: date, last: date) -> SponsorCover:
    return cover_by_nik(session, [nik], first, last).get(nik, {})


def covered_through(session: Session, nik: str, start: date, programs: int) -> date | None:
    """The last month of the unbroken run, from `start`, in which a sponsor pays all `programs`."""
    return run_end(session.scalars(select(SponsoredEntry).where(
        SponsoredEntry.nik == nik, SponsoredEntry.valid_to >= start)), start, programs)


def entries_for(session: Session, nik: str, since: date) -> list[SponsoredEntry]:
    """A NIK's entries still running on or after `since`, oldest first (the public check)."""
    return list(session.scalars(select(SponsoredEntry).where(
        SponsoredEntry.nik == nik, SponsoredEntry.valid_to >= since)
        .order_by(SponsoredEntry.valid_from)).all())


@dataclass(frozen=True)
class ListCounts:
    entries: int
    niks: int
    current: int
    by_sponsor: dict[str, int]


def list_counts(session: Session, today: date) -> ListCounts:
    by_sponsor = dict(session.execute(
        select(SponsoredEntry.sponsor_code, func.count()).group_by(SponsoredEntry.sponsor_code)).all())
    return ListCounts(
        entries=sum(by_sponsor.values()),
        niks=session.scalar(select(func.count(func.distinct(SponsoredEntry.nik)))) or 0,
        current=session.scalar(select(func.count()).select_from(SponsoredEntry).where(
            SponsoredEntry.valid_from <= today, SponsoredEntry.valid_to >= today)) or 0,
        by_sponsor={code: by_sponsor.get(code, 0) for code in SPONSOR_CODES})
