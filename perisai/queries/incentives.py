"""An agent's incentive for a month: the scheme in force, its tallies and its new members
(the rules are `domain.incentives`)."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date

from sqlalchemy import (BigInteger, Date, DateTime, Integer, bindparam, case, cast, event, func,
                        literal, literal_column, null, select, union_all)
from sqlalchemy.orm import Session

from ..domain.clock import local_day_start_utc
from ..domain.incentives import Incentive, Scheme, compute
from ..domain.months import add_months, month_of
from ..models import IncentiveScheme, IncentiveTally, Membership


def scheme_for(session: Session, month: date) -> Scheme | None:
    return _schemes_for(session, [month_of(month)])[0]


def _schemes_for(session: Session, months: Sequence[date]) -> list[Scheme | None]:
    """The scheme in force in each month."""
    chosen = []
    for month in months:
        in_force = [scheme for effective_from, scheme in _all_schemes(session)
                    if effective_from <= month]
        chosen.append(in_force[-1] if in_force else None)
    return chosen


_KEPT = "perisai.incentive_schemes"


def _all_schemes(session: Session) -> list[tuple[date, Scheme]]:
    """Every scheme (a handful of rows), oldest first, read once in a transaction that writes
    none: one agent's page needs them twice (its bonus bursts, its incentives), and a
    statement costs about a millisecond on PostgreSQL here. A flush, commit or rollback drops
    the copy (`_forget_schemes`), and a scheme added or changed but not flushed yet is read
    as a query would see it (after its autoflush)."""
    kept = session.info.get(_KEPT)
    if kept is None or any(isinstance(row, IncentiveScheme)
                           for row in (*session.new, *session.dirty, *session.deleted)):
        kept = session.info[_KEPT] = [
            (row.effective_from, Scheme.from_row(row)) for row in session.scalars(
                select(IncentiveScheme).order_by(IncentiveScheme.effective_from))]
    return kept


@event.listens_for(Session, "after_flush")
@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_schemes(session: Session, *_) -> None:
    session.info.pop(_KEPT, None)


@functools.cache
def _incentives_query(count: int):
    """The agent's tallies (part 0: month, member's month, amount) and its new members
    (part 1: which of the `count` months, programs, how many) as one UNION ALL, built once
    with its values as parameters: agent_id, months, bound_0.. (each month's first moment),
    end. A statement of its own costs about a millisecond on PostgreSQL here. A new member is
    a NIK never registered before (Perdir 13/PERDIR.02/042022): a registration after a lapse
    re-activates cover but earns no bonus."""
    agent_id = bindparam("agent_id", type_=Integer)
    bounds = [bindparam(f"bound_{index}", type_=DateTime) for index in range(count)]
    # Which of the months a member was registered in, worked out by the database; GROUP BY 3
    # names it by position (PostgreSQL would see the CASE's parameters in GROUP BY as another
    # expression than the one selected).
    bucket = case(*[(Membership.registered_at < bound, index)
                    for index, bound in enumerate(bounds[1:])], else_=count - 1) \
        if count > 1 else literal_column("0")
    tallies = select(literal(0).label("part"), IncentiveTally.month.label("month"),
                     IncentiveTally.member_month.label("a"), IncentiveTally.amount.label("b"),
                     cast(null(), BigInteger).label("n")) \
        .where(IncentiveTally.agent_id == agent_id,
               IncentiveTally.month.in_(bindparam("months", expanding=True, type_=Date)))
    members = select(literal(1), cast(null(), Date), bucket, Membership.programs, func.count()) \
        .where(Membership.agent_id == agent_id, Membership.registered_at >= bounds[0],
               Membership.registered_at < bindparam("end", type_=DateTime),
               Membership.renewal.is_(False)) \
        .group_by(literal_column("3"), Membership.programs)
    return union_all(tallies, members)


def monthly_incentive(session: Session, agent_id: int, month: date, zone: str) -> Incentive | None:
    """The incentive for the agent's work in `month` (in the branch's zone); None without rates."""
    return monthly_incentives(session, agent_id, month_of(month), 1, zone)[0]


def monthly_incentives(session: Session, agent_id: int, first: date, count: int,
                       zone: str) -> list[Incentive | None]:
    """The incentives of `count` consecutive months from `first`, in one statement whatever
    the number of payments (the agent's tallies and its new members), beside the schemes."""
    months = [add_months(month_of(first), i) for i in range(count)]
    schemes = _schemes_for(session, months)
    if not any(schemes):
        return [None] * count
    values = {"agent_id": agent_id, "months": months,
              "end": local_day_start_utc(add_months(months[-1], 1), zone),
              **{f"bound_{index}": local_day_start_utc(month, zone)
                 for index, month in enumerate(months)}}
    covered: dict[date, list[tuple[int, int]]] = {month: [] for month in months}
    new_members: list[list[int]] = [[] for _ in months]
    for part, month, a, b, n in session.execute(_incentives_query(count), values):
        if part == 0:
            covered[month].append((a, b))
        else:
            new_members[a] += [b] * n
    return [compute(month, covered[month], new_members[i], scheme) if scheme else None
            for i, (month, scheme) in enumerate(zip(months, schemes))]
