"""An agent's incentive for a month, under the rates stored in `incentive_schemes`.

Contribution part: a percentage of each covered month of each valid collection made in the
month, chosen by the member's month index (months since the worker's first month, plus one):
months 1–24 at 15%, 25–60 at 5%, nothing after. Acquisition bonus: per new member, by
programs, only when the agent registered at least the minimum number that month. Reversed
collections do not count. Whole rupiah, rounded down.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

from sqlalchemy import case, delete, func, insert, literal_column, select
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.clock import local_day_start_utc, local_today
from ..domain.months import add_months, month_of, months_between
from ..domain.rates import MonthPrice
from ..models import (Bill, Branch, Collection, IncentiveScheme, IncentiveTally, Membership, User,
                      Worker)
from .ledger import reversed_collection_ids


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
    def from_row(cls, row: IncentiveScheme) -> Scheme:
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


def scheme_for(session: Session, month: date) -> Scheme | None:
    row = session.scalars(select(IncentiveScheme)
                          .where(IncentiveScheme.effective_from <= month_of(month))
                          .order_by(IncentiveScheme.effective_from.desc()).limit(1)).first()
    return Scheme.from_row(row) if row else None


def _schemes_for(session: Session, months: Sequence[date]) -> list[Scheme | None]:
    """The scheme in force in each month, in one query."""
    rows = session.scalars(select(IncentiveScheme)
                           .where(IncentiveScheme.effective_from <= months[-1])
                           .order_by(IncentiveScheme.effective_from)).all()
    chosen = []
    for month in months:
        in_force = [row for row in rows if row.effective_from <= month]
        chosen.append(Scheme.from_row(in_force[-1]) if in_force else None)
    return chosen


def monthly_incentive(session: Session, agent_id: int, month: date, zone: str) -> Incentive | None:
    """The incentive for the agent's work in `month` (in the branch's zone); None without rates."""
    return monthly_incentives(session, agent_id, month_of(month), 1, zone)[0]


def monthly_incentives(session: Session, agent_id: int, first: date, count: int,
                       zone: str) -> list[Incentive | None]:
    """The incentives of `count` consecutive months from `first`, in three queries whatever
    the number of payments: the schemes, the agent's tallies, its new members."""
    months = [add_months(month_of(first), i) for i in range(count)]
    schemes = _schemes_for(session, months)
    if not any(schemes):
        return [None] * count
    covered: dict[date, list[tuple[int, int]]] = {month: [] for month in months}
    for month, member_month, amount in session.execute(
            select(IncentiveTally.month, IncentiveTally.member_month, IncentiveTally.amount)
            .where(IncentiveTally.agent_id == agent_id, IncentiveTally.month.in_(months))):
        covered[month].append((member_month, amount))
    bounds = [local_day_start_utc(month, zone) for month in months]
    end = local_day_start_utc(add_months(months[-1], 1), zone)
    # Which of the months a member was registered in, worked out by the database; GROUP BY 1
    # names it by position (PostgreSQL would see the CASE's parameters in GROUP BY as another
    # expression than the one selected).
    bucket = case(*[(Membership.registered_at < bound, index)
                    for index, bound in enumerate(bounds[1:])], else_=count - 1) \
        if count > 1 else literal_column("0")
    new_members: list[list[int]] = [[] for _ in months]
    # Every registration counts, a re-registration after a lapse too: the agent signed the
    # worker up again (with the programs chosen then).
    for index, programs, members in session.execute(
            select(bucket, Membership.programs, func.count())
            .where(Membership.agent_id == agent_id, Membership.registered_at >= bounds[0],
                   Membership.registered_at < end)
            .group_by(literal_column("1"), Membership.programs)):
        new_members[index] += [programs] * members
    return [compute(month, covered[month], new_members[i], scheme) if scheme else None
            for i, (month, scheme) in enumerate(zip(months, schemes))]


# --- the tallies ---------------------------------------------------------------------------

def _tally_lines(member_first: date, breakdown: str) -> dict[int, int]:
    """A paid bill's contributions per member month index (months a sponsor paid are 0)."""
    lines: dict[int, int] = {}
    for line in map(MonthPrice.from_dict, json.loads(breakdown)):
        if line.total:
            index = member_month_index(member_first, line.month)
            lines[index] = lines.get(index, 0) + line.total
    return lines


def tally(session: Session, *, agent_id: int, collected_at, zone: str, member_first: date,
          breakdown: str, sign: int = 1) -> None:
    """Add a collection to its agent's tallies (sign=-1 takes an approved reversal off), in the
    caller's transaction. The agent's account row is already locked by then, so two payments
    of one agent never race here."""
    month = month_of(local_today(zone, collected_at))
    lines = _tally_lines(member_first, breakdown)
    if not lines:
        return
    existing = {row.member_month: row for row in session.scalars(select(IncentiveTally).where(
        IncentiveTally.agent_id == agent_id, IncentiveTally.month == month,
        IncentiveTally.member_month.in_(list(lines))))}
    for index, amount in lines.items():
        row = existing.get(index)
        if row is None:
            if sign < 0:
                raise DomainError("Rekap insentif tidak cocok dengan pembayaran ini.", status_code=500)
            session.add(IncentiveTally(agent_id=agent_id, month=month, member_month=index,
                                       amount=amount))
        else:
            row.amount += sign * amount


def membership_first_month():
    """SQL: the first month of the membership a collection was paid under. A payment for
    months of the worker's current membership counts from its first month, as `tally` did; an
    older one (the member lapsed and registered again since) from that of the registration in
    force when it was made."""
    earlier = (select(Membership.first_month)
               .where(Membership.worker_id == Collection.worker_id,
                      Membership.registered_at <= Collection.collected_at)
               .order_by(Membership.registered_at.desc()).limit(1).scalar_subquery())
    return case((Collection.first_month >= Worker.first_month, Worker.first_month),
                else_=func.coalesce(earlier, Worker.first_month))


def _tallies_from_collections(session: Session, agent_id: int,
                              member_first=None) -> dict[tuple[date, int], int]:
    """The agent's tallies worked out again from every valid collection it recorded (each in
    the month of its branch's time). `member_first` replaces `membership_first_month()` for
    a migration that runs before the memberships table exists."""
    sums: dict[tuple[date, int], int] = {}
    member_first = member_first if member_first is not None else membership_first_month()
    rows = session.execute(
        select(Collection.collected_at, Branch.timezone, member_first, Bill.breakdown)
        .join(Worker, Worker.id == Collection.worker_id).join(Bill, Bill.id == Collection.bill_id)
        .join(Branch, Branch.id == Collection.branch_id)
        .where(Collection.agent_id == agent_id,
               Collection.id.not_in(reversed_collection_ids()))
        .execution_options(yield_per=2000))
    for collected_at, zone, member_first, breakdown in rows:
        month = month_of(local_today(zone, collected_at))
        for index, amount in _tally_lines(member_first, breakdown).items():
            sums[(month, index)] = sums.get((month, index), 0) + amount
    return sums


def _agents(session: Session) -> list[int]:
    return sorted(set(session.scalars(select(User.id).where(User.role == "agent")))
                  | set(session.scalars(select(IncentiveTally.agent_id).distinct())))


def rebuild_tallies(session: Session, member_first=None) -> int:
    """Fill the tallies from the collections (a migration, a bulk seed). Returns the rows."""
    session.execute(delete(IncentiveTally))
    written = 0
    for agent_id in _agents(session):
        sums = _tallies_from_collections(session, agent_id, member_first)
        if sums:
            session.execute(insert(IncentiveTally), [
                {"agent_id": agent_id, "month": month, "member_month": index, "amount": amount}
                for (month, index), amount in sums.items()])
            written += len(sums)
    return written


@dataclass(frozen=True)
class TallyMismatch:
    agent_id: int
    month: date
    member_month: int
    tally: int
    collections: int


def verify_tallies(session: Session) -> list[TallyMismatch]:
    """Tallies that differ from a recount of the collections (should be none)."""
    mismatches = []
    for agent_id in _agents(session):
        expected = _tallies_from_collections(session, agent_id)
        stored = {(month, index): amount for month, index, amount in session.execute(
            select(IncentiveTally.month, IncentiveTally.member_month, IncentiveTally.amount)
            .where(IncentiveTally.agent_id == agent_id))}
        for key in sorted(set(expected) | set(stored)):
            if expected.get(key, 0) != stored.get(key, 0):
                mismatches.append(TallyMismatch(agent_id, *key, stored.get(key, 0),
                                                expected.get(key, 0)))
    return mismatches
