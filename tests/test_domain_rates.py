"""Pricing month by month from the seeded rate book (values of perisai/data/rates.toml)."""
from datetime import date

import pytest
from hypothesis import given, settings, strategies as st

from perisai.domain import DomainError
from perisai.domain.months import add_months, month_range
from perisai.commands.rates import seed_data
from perisai.domain.bills import Quote
from perisai.domain.rates import Discount, Rate, RateBook, after_discount, percent_of
from perisai.domain.text import rupiah


def book_from_seed() -> RateBook:
    data = seed_data()
    rates = tuple(Rate(row["effective_from"], row["jkk_basis_points"], row["jkm_flat"],
                       row["jht_basis_points"], row["min_income"], row["max_income"],
                       row["income_step"]) for row in data["schedule"])
    discounts = tuple(Discount(row["code"], row["scope"], row["month_from"], row["month_to"],
                               row["percent"], frozenset(row["programs"]))
                      for row in data["discount"])
    return RateBook(rates, discounts)


BOOK = book_from_seed()
M = date  # a contribution month is its first day


def total(first: date, count: int, *, income: int = 1_000_000, programs: int = 3,
          transport: bool = False) -> int:
    return sum(line.total for line in BOOK.price(first, count, income=income, programs=programs,
                                                 transport=transport))


def test_seed_file_has_the_published_rates():
    rate = BOOK.rate_for(M(2026, 1, 1))
    assert (rate.jkk_basis_points, rate.jkm_flat, rate.jht_basis_points) == (100, 6800, 200)
    assert (rate.min_income, rate.max_income, rate.income_step) == (1_000_000, 20_700_000, 100_000)
    assert {(d.scope, d.month_from, d.month_to, d.percent, d.programs) for d in BOOK.discounts} == {
        ("all", M(2026, 4, 1), M(2026, 12, 1), 50, frozenset({"JKK", "JKM"})),
        ("transport", M(2026, 1, 1), M(2027, 3, 1), 50, frozenset({"JKK", "JKM"})),
    }


@pytest.mark.parametrize("month, programs, transport, jkk, jkm, jht", [
    # The issue's examples: Rp1.000.000 outside any discount...
    (M(2025, 6, 1), 3, False, 10_000, 6_800, 20_000),    # 36.800
    (M(2025, 6, 1), 2, False, 10_000, 6_800, 0),         # 16.800
    # ...and the same non-transport worker in November 2026: 5.000 + 3.400 + 20.000 = 28.400
    (M(2026, 11, 1), 3, False, 5_000, 3_400, 20_000),
    (M(2026, 11, 1), 2, False, 5_000, 3_400, 0),
    (M(2027, 6, 1), 3, False, 10_000, 6_800, 20_000),
    (M(2027, 6, 1), 3, True, 10_000, 6_800, 20_000),
])
def test_issue_examples(month, programs, transport, jkk, jkm, jht):
    line = BOOK.price_month(month, income=1_000_000, programs=programs, transport=transport)
    assert (line.jkk, line.jkm, line.jht) == (jkk, jkm, jht)
    assert line.total == jkk + jkm + jht


def test_issue_example_totals():
    assert total(M(2025, 6, 1), 1) == 36_800
    assert total(M(2025, 6, 1), 1, programs=2) == 16_800
    assert total(M(2026, 11, 1), 1) == 28_400


@pytest.mark.parametrize("month, transport, discounted", [
    # Most occupations: April–December 2026
    (M(2026, 3, 1), False, False),
    (M(2026, 4, 1), False, True),
    (M(2026, 12, 1), False, True),
    (M(2027, 1, 1), False, False),
    # Transport: January 2026 – March 2027
    (M(2025, 12, 1), True, False),
    (M(2026, 1, 1), True, True),
    (M(2026, 3, 1), True, True),
    (M(2026, 4, 1), True, True),
    (M(2026, 12, 1), True, True),
    (M(2027, 1, 1), True, True),
    (M(2027, 3, 1), True, True),
    (M(2027, 4, 1), True, False),
])
def test_discount_boundaries(month, transport, discounted):
    line = BOOK.price_month(month, income=1_000_000, programs=3, transport=transport)
    assert line.total == (28_400 if discounted else 36_800)
    assert line.jht == 20_000  # JHT never discounted
    assert (line.discount is not None) is discounted


@pytest.mark.parametrize("first, count, transport, expected", [
    # December 2026 – November 2027, non-transport: 1 discounted month + 11 full
    (M(2026, 12, 1), 12, False, 28_400 + 11 * 36_800),
    # March 2026 – February 2027, non-transport: March full, April–December discounted, 2 full
    (M(2026, 3, 1), 12, False, 36_800 + 9 * 28_400 + 2 * 36_800),
    # October 2026 – September 2027, transport: October–March discounted (6), 6 full
    (M(2026, 10, 1), 12, True, 6 * 28_400 + 6 * 36_800),
    # December 2025 – November 2026, transport: December full, 11 discounted
    (M(2025, 12, 1), 12, True, 36_800 + 11 * 28_400),
    # 3 and 6 month bills across the March/April 2026 boundary
    (M(2026, 2, 1), 3, False, 2 * 36_800 + 28_400),
    (M(2026, 11, 1), 6, False, 2 * 28_400 + 4 * 36_800),
])
def test_bills_spanning_a_boundary_mix_rates(first, count, transport, expected):
    lines = BOOK.price(first, count, income=1_000_000, programs=3, transport=transport)
    assert [line.month for line in lines] == month_range(first, count)
    assert sum(line.total for line in lines) == expected


def test_two_program_discount_month():
    line = BOOK.price_month(M(2026, 5, 1), income=2_500_000, programs=2, transport=False)
    assert (line.jkk, line.jkm, line.jht) == (12_500, 3_400, 0)


def test_highest_income():
    line = BOOK.price_month(M(2027, 5, 1), income=20_700_000, programs=3, transport=False)
    assert (line.jkk, line.jkm, line.jht) == (207_000, 6_800, 414_000)


def test_sponsored_month_owes_only_jht_without_discount():
    line = BOOK.price_month(M(2026, 11, 1), income=1_000_000, programs=3, transport=False,
                            sponsor_programs=2)
    assert (line.jkk, line.jkm, line.jht, line.sponsored, line.discount) == (0, 0, 20_000, True, None)
    two = BOOK.price_month(M(2026, 11, 1), income=1_000_000, programs=2, transport=True,
                           sponsor_programs=2)
    assert two.total == 0


def test_a_sponsor_that_pays_jht_too_leaves_nothing_to_pay():
    line = BOOK.price_month(M(2026, 11, 1), income=1_000_000, programs=3, transport=False,
                            sponsor_programs=3)
    assert (line.jkk, line.jkm, line.jht, line.sponsored) == (0, 0, 0, True)


@pytest.mark.parametrize("income, problem", [
    (1_000_000, None),
    (1_100_000, None),
    (20_700_000, None),
    (999_999, "paling sedikit Rp1.000.000"),
    (0, "paling sedikit"),
    (20_800_000, "paling banyak Rp20.700.000"),
    (1_050_000, "kelipatan Rp100.000"),
])
def test_income_problem(income, problem):
    found = BOOK.income_problem(income, M(2026, 11, 1))
    assert found == problem if problem is None else problem in str(found)


def test_no_rate_before_the_first_schedule():
    with pytest.raises(DomainError):
        BOOK.rate_for(M(2015, 6, 1))


def test_later_schedule_takes_over_from_its_month():
    newer = Rate(M(2027, 1, 1), 120, 7_000, 200, 1_000_000, 20_700_000, 100_000)
    book = RateBook(BOOK.rates + (newer,), BOOK.discounts)
    assert book.price_month(M(2026, 12, 1), income=1_000_000, programs=2, transport=False).total == 8_400
    assert book.price_month(M(2027, 1, 1), income=1_000_000, programs=2, transport=False).total == 19_000


@pytest.mark.parametrize("amount, bp, expected", [(1_000_000, 100, 10_000), (1_050, 100, 11),
                                                  (1_049, 100, 10), (0, 200, 0)])
def test_percent_of_rounds_half_up_in_whole_rupiah(amount, bp, expected):
    assert percent_of(amount, bp) == expected


def test_after_discount_is_integer():
    assert after_discount(6_800, 50) == 3_400
    assert after_discount(10_001, 50) == 5_001
    assert isinstance(after_discount(10_001, 50), int)


@pytest.mark.parametrize("amount, text", [(36_800, "Rp36.800"), (0, "Rp0"), (1_000_000, "Rp1.000.000"),
                                          (-5_000, "-Rp5.000"), (7_319_800, "Rp7.319.800")])
def test_rupiah_format(amount, text):
    assert rupiah(amount) == text


incomes = st.integers(0, 196).map(lambda step: 1_000_000 + step * 100_000)
months = st.builds(lambda y, m: date(y, m, 1), st.integers(2016, 2035), st.integers(1, 12))


@settings(max_examples=400, deadline=None)
@given(first=months, count=st.sampled_from([1, 3, 6, 12]), income=incomes,
       programs=st.sampled_from([2, 3]), transport=st.booleans(),
       sponsored=st.sets(st.integers(0, 11)))
def test_bill_total_is_sum_of_months_and_never_negative(first, count, income, programs, transport,
                                                        sponsored):
    sponsor_cover = {add_months(first, i): 2 for i in sponsored}
    lines = BOOK.price(first, count, income=income, programs=programs, transport=transport,
                       sponsor_cover=sponsor_cover)
    assert len(lines) == count
    bill = Quote(first, add_months(first, count - 1), lines)
    assert bill.amount == sum(line.total for line in lines) == sum(
        line.jkk + line.jkm + line.jht for line in lines)
    assert bill.amount >= 0
    for line in lines:
        assert all(isinstance(part, int) and part >= 0 for part in (line.jkk, line.jkm, line.jht))
        full = BOOK.price_month(line.month, income=income, programs=programs, transport=False)
        assert line.total <= percent_of(income, 100) + 6_800 + percent_of(income, 200)
        if not line.sponsored and line.discount is None:
            assert line.total == full.total
        if programs == 2:
            assert line.jht == 0
