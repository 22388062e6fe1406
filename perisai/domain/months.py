"""Contribution months, represented by the first day of the month."""
from datetime import date


def month_of(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + (month.month - 1) + count
    return date(index // 12, index % 12 + 1, 1)


def months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end` (0 when they are the same month)."""
    return (end.year - start.year) * 12 + (end.month - start.month)


def month_range(first: date, count: int) -> list[date]:
    return [add_months(first, i) for i in range(count)]


MONTH_NAMES_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
                  "September", "Oktober", "November", "Desember")
