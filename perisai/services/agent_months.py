"""Each agent's month in numbers (registrations, payments, amount), kept as it happens.

The supervisor's pages show them for every agent of a branch; adding up a big branch's month
of payments on every view cost ~100 ms at 1,000,000 workers. `record` runs inside the
registration's, the collection's and the reversal's transaction, after the agent's account
row is locked (so one agent's changes never race here); `verify` recounts from the
registrations (memberships) and collections, `rebuild` fills the table from them (a migration, a bulk seed).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from ..domain.clock import local_today
from ..domain.months import month_of
from ..models import AgentMonth, Branch, Collection, Membership
from .ledger import reversed_collection_ids

Key = tuple[int, int, date]  # agent, branch, month
Counts = tuple[int, int, int]  # registrations, collections, collected


def month_at(moment: datetime, zone: str) -> date:
    """The branch-time month an instant (naive UTC) falls in."""
    return month_of(local_today(zone, moment))


def record(session: Session, *, agent_id: int, branch_id: int, at: datetime, zone: str,
           registrations: int = 0, collections: int = 0, collected: int = 0) -> None:
    month = month_at(at, zone)
    row = session.get(AgentMonth, (agent_id, branch_id, month))
    if row is None:
        session.add(AgentMonth(agent_id=agent_id, branch_id=branch_id, month=month,
                               registrations=registrations, collections=collections,
                               collected=collected))
    else:
        row.registrations += registrations
        row.collections += collections
        row.collected += collected


def registrations_source():
    """(agent, branch, time) of every registration."""
    return select(Membership.agent_id, Membership.branch_id, Membership.registered_at)


def recount(session: Session, registrations=None) -> dict[Key, Counts]:
    """Every agent-month worked out again from the registrations and the valid collections.

    `registrations` replaces `registrations_source()` for a migration that runs before the
    memberships table exists (it reads the workers)."""
    zones = dict(session.execute(select(Branch.id, Branch.timezone)).all())
    counts: dict[Key, list[int]] = {}
    for agent_id, branch_id, at in session.execute(
            (registrations if registrations is not None else registrations_source())
            .execution_options(yield_per=5000)):
        counts.setdefault((agent_id, branch_id, month_at(at, zones[branch_id])), [0, 0, 0])[0] += 1
    for agent_id, branch_id, at, amount in session.execute(
            select(Collection.agent_id, Collection.branch_id, Collection.collected_at,
                   Collection.amount)
            .where(Collection.id.not_in(reversed_collection_ids()))
            .execution_options(yield_per=5000)):
        row = counts.setdefault((agent_id, branch_id, month_at(at, zones[branch_id])), [0, 0, 0])
        row[1] += 1
        row[2] += amount
    return {key: tuple(value) for key, value in counts.items()}


def rebuild(session: Session, registrations=None) -> int:
    session.execute(delete(AgentMonth))
    rows = [{"agent_id": a, "branch_id": b, "month": m, "registrations": r, "collections": c,
             "collected": s} for (a, b, m), (r, c, s) in recount(session, registrations).items()]
    for start in range(0, len(rows), 5000):
        session.execute(insert(AgentMonth), rows[start:start + 5000])
    return len(rows)


@dataclass(frozen=True)
class MonthMismatch:
    agent_id: int
    branch_id: int
    month: date
    kept: Counts
    recounted: Counts


def verify(session: Session) -> list[MonthMismatch]:
    expected = recount(session)
    kept = {(r.agent_id, r.branch_id, r.month): (r.registrations, r.collections, r.collected)
            for r in session.scalars(select(AgentMonth))}
    return [MonthMismatch(*key, kept.get(key, (0, 0, 0)), expected.get(key, (0, 0, 0)))
            for key in sorted(set(expected) | set(kept))
            if kept.get(key, (0, 0, 0)) != expected.get(key, (0, 0, 0))]
