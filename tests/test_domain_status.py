"""Membership status from paid months: awaiting, active, in arrears (due by the 15th), lapsed."""
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from perisai.domain.months import add_months, months_between
from perisai.domain.text import month_label
from perisai.domain.status import (ACTIVE, ARREARS, AWAITING, LAPSED, MAX_ARREARS,
                                   membership_status, overdue_count)

M = date


@pytest.mark.parametrize("first_month, paid_through, today, code, overdue, first_unpaid", [
    # New member: awaiting the first payment, even after the 15th
    (M(2026, 11, 1), None, date(2026, 11, 3), AWAITING, 0, M(2026, 11, 1)),
    (M(2026, 11, 1), None, date(2026, 11, 15), AWAITING, 0, M(2026, 11, 1)),
    (M(2026, 11, 1), None, date(2026, 11, 16), AWAITING, 1, M(2026, 11, 1)),
    (M(2026, 8, 1), None, date(2026, 11, 15), AWAITING, 3, M(2026, 8, 1)),
    # Never paid, more than 3 overdue months: lapsed
    (M(2026, 8, 1), None, date(2026, 11, 16), LAPSED, 4, M(2026, 8, 1)),
    # Current month paid: active
    (M(2026, 1, 1), M(2026, 11, 1), date(2026, 11, 30), ACTIVE, 0, M(2026, 12, 1)),
    (M(2026, 1, 1), M(2027, 10, 1), date(2026, 11, 30), ACTIVE, 0, M(2027, 11, 1)),
    # Previous month paid, this month not yet due: still active until the 15th
    (M(2026, 1, 1), M(2026, 10, 1), date(2026, 11, 15), ACTIVE, 0, M(2026, 11, 1)),
    (M(2026, 1, 1), M(2026, 10, 1), date(2026, 11, 16), ARREARS, 1, M(2026, 11, 1)),
    # Three overdue months is the most arrears allowed
    (M(2026, 1, 1), M(2026, 8, 1), date(2026, 11, 15), ARREARS, 2, M(2026, 9, 1)),
    (M(2026, 1, 1), M(2026, 8, 1), date(2026, 11, 16), ARREARS, 3, M(2026, 9, 1)),
    (M(2026, 1, 1), M(2026, 7, 1), date(2026, 11, 15), ARREARS, 3, M(2026, 8, 1)),
    (M(2026, 1, 1), M(2026, 7, 1), date(2026, 11, 16), LAPSED, 4, M(2026, 8, 1)),
    # Across a year end
    (M(2026, 1, 1), M(2026, 11, 1), date(2027, 1, 16), ARREARS, 2, M(2026, 12, 1)),
    (M(2026, 1, 1), M(2026, 9, 1), date(2027, 1, 16), LAPSED, 4, M(2026, 10, 1)),
])
def test_membership_status_table(first_month, paid_through, today, code, overdue, first_unpaid):
    status = membership_status(first_month, paid_through, today)
    assert (status.code, status.overdue_months, status.first_unpaid) == (code, overdue, first_unpaid)
    assert status.can_bill is (code != LAPSED)


def test_labels_and_explanations_in_bahasa_indonesia():
    lapsed = membership_status(M(2026, 1, 1), M(2026, 2, 1), date(2026, 11, 20))
    assert lapsed.label == "Nonaktif" and "mendaftar ulang" in str(lapsed.explanation)
    arrears = membership_status(M(2026, 1, 1), M(2026, 9, 1), date(2026, 11, 20))
    assert arrears.label == "Menunggak" and "2 bulan sejak Oktober 2026" in str(arrears.explanation)
    awaiting = membership_status(M(2026, 11, 1), None, date(2026, 11, 2))
    assert awaiting.label == "Menunggu pembayaran pertama" and "November 2026" in str(awaiting.explanation)
    active = membership_status(M(2026, 1, 1), M(2027, 1, 1), date(2026, 11, 2))
    assert active.label == "Aktif" and "Januari 2027" in str(active.explanation)
    assert not active.due_this_month and "jatuh tempo" not in str(active.explanation)


@pytest.mark.parametrize("today, due", [
    (date(2026, 11, 1), True), (date(2026, 11, 15), True),  # November unpaid, not yet late
    (date(2026, 10, 31), False),                             # October is paid
])
def test_an_unpaid_current_month_before_the_15th_says_when_it_falls_due(today, due):
    status = membership_status(M(2026, 1, 1), M(2026, 10, 1), today)
    assert status.code == "active" and status.due_this_month is due
    assert ("Iuran November 2026 jatuh tempo tanggal 15" in str(status.explanation)) is due
    assert "Terlindungi sampai akhir Oktober 2026" in str(status.explanation)


@pytest.mark.parametrize("first_unpaid, today, expected", [
    (M(2026, 12, 1), date(2026, 11, 30), 0),
    (M(2026, 11, 1), date(2026, 11, 1), 0),
    (M(2026, 11, 1), date(2026, 11, 16), 1),
    (M(2026, 1, 1), date(2026, 11, 1), 10),
])
def test_overdue_count(first_unpaid, today, expected):
    assert overdue_count(first_unpaid, today) == expected


@pytest.mark.parametrize("month, count, expected", [
    (M(2026, 11, 1), 1, M(2026, 12, 1)), (M(2026, 11, 1), 2, M(2027, 1, 1)),
    (M(2026, 1, 1), -1, M(2025, 12, 1)), (M(2026, 1, 1), 12, M(2027, 1, 1)),
])
def test_add_months(month, count, expected):
    assert add_months(month, count) == expected


def test_month_label():
    assert month_label(M(2026, 11, 1)) == "November 2026"


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@settings(max_examples=400, deadline=None)
@given(first=st.integers(-30, 0), paid=st.one_of(st.none(), st.integers(-1, 40)), today=days)
def test_status_properties(first, paid, today):
    first_month = add_months(today.replace(day=1), first)
    paid_through = None if paid is None else add_months(first_month, paid)
    status = membership_status(first_month, paid_through, today)
    expected_first_unpaid = add_months(paid_through, 1) if paid_through else first_month
    assert status.first_unpaid == expected_first_unpaid
    if status.code == LAPSED:
        assert status.overdue_months > MAX_ARREARS and not status.can_bill
    elif paid_through is None:
        assert status.code == AWAITING
    elif paid_through >= today.replace(day=1):
        assert status.code == ACTIVE
    # Paying the month in arrears never makes things worse
    if status.can_bill and status.overdue_months:
        later = membership_status(first_month, status.first_unpaid, today)
        assert later.overdue_months == status.overdue_months - 1
    if status.first_unpaid > today.replace(day=1):
        assert status.overdue_months == 0
    else:
        assert status.overdue_months == (months_between(status.first_unpaid, today.replace(day=1))
                                         + (1 if today.day > 15 else 0))
