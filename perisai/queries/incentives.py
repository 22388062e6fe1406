"""An agent's incentive for a month: the scheme in force, its tallies and its new members
(the rules are `domain.incentives`)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from ..domain.clock import local_day_start_utc
from ..domain.incentives import Incentive, Scheme, compute
from ..domain.months import add_months, month_of
from ..models import IncentiveScheme, IncentiveTally, Membership


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
    # A new member is a NIK never registered before (Perdir 13/PERDIR.02/042022): a
    # registration after a lapse re-activates cover but earns no bonus.
    for index, programs, members in session.execute(
            select(bucket, Membership.programs, func.count())
            .where(Membership.agent_id == agent_id, Membership.registered_at >= bounds[0],
                   Membership.registered_at < end, Membership.renewal.is_(False))
            .group_by(literal_column("1"), Membership.programs)):
        new_members[index] += [programs] * members
    return [compute(month, covered[month], new_members[i], scheme) if scheme else None
            for i, (month, scheme) in enumerate(zip(months, schemes))]
