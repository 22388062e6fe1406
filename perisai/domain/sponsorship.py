"""Which months a sponsor (government, village, company) pays for a worker, and for which programs.

A sponsored-list entry with programs=2 pays JKK+JKM; programs=3 pays JHT as well. An entry is
anything with `valid_from`, `valid_to` and `programs` (a `SponsoredEntry` row).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from .months import add_months, month_of

SponsorCover = dict[date, int]  # month -> programs the sponsor pays that month


def cover_from_entries(entries: Iterable, first: date, last: date) -> SponsorCover:
    """The months in [first, last] that these entries (of one NIK) pay, with their programs."""
    cover: SponsorCover = {}
    for entry in entries:
        month = max(month_of(entry.valid_from), first)
        while month <= min(month_of(entry.valid_to), last):
            cover[month] = max(cover.get(month, 0), entry.programs)
            month = add_months(month, 1)
    return cover


def run_end(entries: Iterable, start: date, programs: int) -> date | None:
    """The last month of the unbroken run, from `start`, in which the entries (of one NIK) pay
    all `programs`; None when `start` itself is not paid."""
    entries = [e for e in entries if e.programs >= programs]
    last = None
    month = start
    while True:
        covering = [e for e in entries if month_of(e.valid_from) <= month <= month_of(e.valid_to)]
        if not covering:
            return last
        last = max(month_of(e.valid_to) for e in covering)
        month = add_months(last, 1)
