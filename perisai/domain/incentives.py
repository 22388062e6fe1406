"""An agent's incentive for a month, under a scheme kept as data (`incentive_schemes`).

Contribution part: a percentage of each covered month of each valid collection made in the
month, chosen by the member's month index (months since the first month of the worker's first
registration, plus one: a registration after a lapse does not restart it): months 1–24 at 15%,
25–60 at 5%, nothing after. Acquisition bonus: per new member (a NIK never registered before,
not a lapsed member registered again), by programs, only when the agent registered at least
the minimum number that month. Reversed
collections do not count. Whole rupiah, rounded down.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from .months import month_of, months_between
from .rates import MonthPrice


@dataclass(frozen=True)
class Scheme:
    early_percent: int
    early_until_month: int
    late_percent: int
    late_until_month: int
    bonus_three_programs: int
    bonus_two_programs: int
    bonus_min_new_members: int

    @classmethod
    def from_row(cls, row) -> Scheme:
        """From anything with the scheme's fields (an `IncentiveScheme` row)."""
        return cls(row.early_percent, row.early_until_month, row.late_percent,
                   row.late_until_month, row.bonus_three_programs, row.bonus_two_programs,
                   row.bonus_min_new_members)


@dataclass(frozen=True)
class Incentive:
    month: date
    early_base: int          # contributions in members' early months
    late_base: int           # ...and in their later months
    contribution_part: int
    new_members: int
    new_three_programs: int
    new_two_programs: int
    bonus_min_new_members: int
    bonus: int
    scheme: Scheme

    @property
    def total(self) -> int:
        return self.contribution_part + self.bonus

    @property
    def bonus_qualifies(self) -> bool:
        return self.new_members >= self.bonus_min_new_members

    @property
    def members_short_of_bonus(self) -> int:
        return max(self.bonus_min_new_members - self.new_members, 0)


def member_month_index(first_month: date, month: date) -> int:
    """1 for the member's first month, 2 for the next, and so on."""
    return months_between(month_of(first_month), month_of(month)) + 1


def percent_for(index: int, scheme: Scheme) -> int:
    if 1 <= index <= scheme.early_until_month:
        return scheme.early_percent
    if scheme.early_until_month < index <= scheme.late_until_month:
        return scheme.late_percent
    return 0


def contribution_part(covered: Iterable[tuple[int, int]], scheme: Scheme) -> int:
    """`covered` is (member month index, amount) per covered month; rounded down once."""
    return sum(amount * percent_for(index, scheme) for index, amount in covered) // 100


def acquisition_bonus(new_member_programs: Sequence[int], scheme: Scheme) -> int:
    if len(new_member_programs) < scheme.bonus_min_new_members:
        return 0
    return sum(scheme.bonus_three_programs if programs == 3 else scheme.bonus_two_programs
               for programs in new_member_programs)


def compute(month: date, covered: Sequence[tuple[int, int]], new_member_programs: Sequence[int],
            scheme: Scheme) -> Incentive:
    early = sum(amount for index, amount in covered
                if percent_for(index, scheme) and index <= scheme.early_until_month)
    late = sum(amount for index, amount in covered
               if percent_for(index, scheme) and index > scheme.early_until_month)
    return Incentive(
        month=month_of(month), early_base=early, late_base=late,
        contribution_part=contribution_part(covered, scheme),
        new_members=len(new_member_programs),
        new_three_programs=sum(1 for p in new_member_programs if p == 3),
        new_two_programs=sum(1 for p in new_member_programs if p != 3),
        bonus_min_new_members=scheme.bonus_min_new_members,
        bonus=acquisition_bonus(new_member_programs, scheme), scheme=scheme)


def tally_lines(member_first: date, lines: Iterable[MonthPrice]) -> dict[int, int]:
    """A paid bill's contributions per member month index (months a sponsor paid are 0)."""
    tallies: dict[int, int] = {}
    for line in lines:
        if line.total:
            index = member_month_index(member_first, line.month)
            tallies[index] = tallies.get(index, 0) + line.total
    return tallies
