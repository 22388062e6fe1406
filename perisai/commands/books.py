"""An agent's books, moved in one place: the cash ledger and its running account, the
incentive tallies and the agent's months.

Every change of an agent's money or activity goes through one of four functions, inside the
caller's write transaction and in the same order (so locks are always taken the same way):
`on_registration`, `on_collection`, `on_reversal`, `on_deposit_verified`. `verify_books` (behind
`flask ledger-verify`) recounts all three from the records they summarise.

- The ledger is append-only: + collection, − approved reversal, − verified deposit.
  `AgentAccount` holds its running totals; deposits take the oldest cash first, so the
  undeposited cash is always the newest valid collections, and its age is found by walking back
  from the newest one.
- Incentive tallies: per agent, month (branch time) and member-month index, the contributions
  collected and not reversed, so a month's incentive reads a few dozen rows.
- Agent months: per agent, branch and month, the registrations and the payments kept and their
  amount, so the supervisor's pages read one row per agent; agent days likewise per day for the
  payments (the supervisor's "today").
"""
from __future__ import annotations

import functools

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.bills import lines_from_json
from ..domain.clock import local_today, utcnow
from ..domain.incentives import tally_lines
from ..domain.months import month_of
from ..domain.statuses import LedgerKind, Role
from ..models import (AgentAccount, AgentDay, AgentMonth, Bill, Branch, Collection, Deposit, IncentiveTally,
                      LedgerEntry, Membership, User, Worker)
from ..queries import reversed_collection_ids
from .tx import lock

# The dialects' INSERT, which can add to the row already there (`_add`).
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


# --- the four events ------------------------------------------------------------------------

def on_registration(session: Session, worker: Worker, *, renewal: bool) -> None:
    """A registration (the first, or one after a lapse): its history row, the agent's activity
    and its month's registrations."""
    session.add(Membership(worker_id=worker.id, agent_id=worker.agent_id,
                           branch_id=worker.branch_id, registered_at=worker.registered_at,
                           first_month=worker.first_month, programs=worker.programs,
                           renewal=renewal))
    account = account_for_update(session, worker.agent_id)
    account.last_activity_at = worker.registered_at
    _count_month(session, agent_id=worker.agent_id, branch_id=worker.branch_id,
                 at=worker.registered_at, zone=_zone(session, worker.branch_id), registrations=1)


def on_collection(session: Session, collection: Collection, *, bill: Bill,
                  zone_and_member_since: tuple[str, date] | None = None) -> None:
    """Cash received: into the agent's ledger, its incentive tallies and its month.
    `zone_and_member_since`: the branch's time zone and the worker's `member_since`, when the
    caller read them already (`zone_and_member_since_sql`)."""
    _post(session, agent_id=collection.agent_id, branch_id=collection.branch_id,
          kind=LedgerKind.COLLECTION, amount=collection.amount, collection_id=collection.id,
          at=collection.collected_at)
    zone, member_first = zone_and_member_since or _zone_and_member_since(session, collection)
    _tally(session, agent_id=collection.agent_id, collected_at=collection.collected_at, zone=zone,
           member_first=member_first, breakdown=bill.breakdown)
    _count_month(session, agent_id=collection.agent_id, branch_id=collection.branch_id,
                 at=collection.collected_at, zone=zone, collections=1, collected=collection.amount)


def on_reversal(session: Session, collection: Collection, *, bill: Bill, at: datetime) -> None:
    """An approved reversal: the cash leaves the agent's ledger, and the payment leaves the
    tallies and the month it was counted in."""
    _post(session, agent_id=collection.agent_id, branch_id=collection.branch_id,
          kind=LedgerKind.REVERSAL, amount=-collection.amount, collection_id=collection.id, at=at)
    zone, member_first = _zone_and_member_since(session, collection)
    _tally(session, agent_id=collection.agent_id, collected_at=collection.collected_at, zone=zone,
           member_first=member_first, breakdown=bill.breakdown, sign=-1)
    _count_month(session, agent_id=collection.agent_id, branch_id=collection.branch_id,
                 at=collection.collected_at, zone=zone, collections=-1, collected=-collection.amount)


def on_deposit_verified(session: Session, deposit: Deposit, *, at: datetime) -> None:
    """The cash reached the branch: it leaves the agent's hands, oldest first."""
    _post(session, agent_id=deposit.agent_id, branch_id=deposit.branch_id,
          kind=LedgerKind.DEPOSIT, amount=-deposit.amount, deposit_id=deposit.id, at=at)


# --- the ledger -----------------------------------------------------------------------------

def account_for_update(session: Session, agent_id: int) -> AgentAccount:
    """The agent's account row, locked: it serialises every change of one agent's books."""
    account = session.scalars(lock(select(AgentAccount).where(AgentAccount.agent_id == agent_id),
                                   session)).first()
    if account is None:
        account = AgentAccount(agent_id=agent_id, cash_on_hand=0, total_collected=0,
                               total_reversed=0, total_deposited=0)
        session.add(account)
        session.flush()
    return account


def _post(session: Session, *, agent_id: int, branch_id: int, kind: LedgerKind, amount: int,
          collection_id: int | None = None, deposit_id: int | None = None,
          at: datetime | None = None) -> LedgerEntry:
    """Append one entry and move the account; the caller's transaction makes both atomic."""
    at = at or utcnow()
    if kind == LedgerKind.COLLECTION and _collected(session, agent_id, amount, at):
        entry = LedgerEntry(agent_id=agent_id, branch_id=branch_id, kind=kind, amount=amount,
                            collection_id=collection_id, deposit_id=deposit_id, created_at=at)
        session.add(entry)
        return entry
    account = account_for_update(session, agent_id)
    if account.cash_on_hand + amount < 0 or (
            amount < 0 and cash_in_branch(session, agent_id, branch_id) + amount < 0):
        raise DomainError("Uang tunai agen tidak cukup untuk ini.", status_code=409)
    entry = LedgerEntry(agent_id=agent_id, branch_id=branch_id, kind=kind, amount=amount,
                        collection_id=collection_id, deposit_id=deposit_id, created_at=at)
    session.add(entry)
    if kind == LedgerKind.COLLECTION:
        account.total_collected += amount
        account.last_activity_at = at
    elif kind == LedgerKind.REVERSAL:
        account.total_reversed += -amount
    else:
        account.total_deposited += -amount
    account.cash_on_hand += amount
    account.updated_at = at
    session.flush()
    if kind == LedgerKind.COLLECTION:
        # New cash is the newest in hand: the oldest undeposited rupiah stays where it was
        # (walking back over every collection still in hand would cost more as cash piles up).
        if account.oldest_undeposited_at is None:
            account.oldest_undeposited_at = at
    else:
        account.oldest_undeposited_at = _oldest_undeposited(session, agent_id, account.cash_on_hand)
    return entry


def _collected(session: Session, agent_id: int, amount: int, at: datetime) -> bool:
    """Cash collected, into the agent's account row by one UPDATE, which locks it as
    `account_for_update` would (a read, then a write, were two statements of every payment).
    New cash is the newest in hand: the oldest undeposited rupiah stays where it was, unless
    there was none (walking back over every collection still in hand would cost more as cash
    piles up). False when the agent has no account row yet: `_post` makes it."""
    table = AgentAccount.__table__
    moved = session.execute(
        update(table).where(table.c.agent_id == agent_id)
        .values(cash_on_hand=table.c.cash_on_hand + amount,
                total_collected=table.c.total_collected + amount,
                last_activity_at=at, updated_at=at,
                oldest_undeposited_at=func.coalesce(table.c.oldest_undeposited_at, at)))
    if moved.rowcount != 1:
        return False
    loaded = session.identity_map.get(session.identity_key(AgentAccount, agent_id))
    if loaded is not None:  # a copy read earlier in the transaction is out of date now
        session.expire(loaded)
    return True


def cash_in_branch(session: Session, agent_id: int, branch_id: int) -> int:
    """The agent's cash on hand in one branch's books: what it collected there, less what was
    reversed or deposited there. A reversal or a deposit is settled in the branch of its
    receipt or its declaration, so cash collected in one branch never pays out another's; the
    sum over the agent's branches is its cash on hand."""
    return int(session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
        LedgerEntry.agent_id == agent_id, LedgerEntry.branch_id == branch_id)) or 0)


def _oldest_undeposited(session: Session, agent_id: int, cash_on_hand: int) -> datetime | None:
    if cash_on_hand <= 0:
        return None
    newest_first = session.execute(
        select(Collection.collected_at, Collection.amount)
        .where(Collection.agent_id == agent_id, Collection.id.not_in(reversed_collection_ids()))
        .order_by(Collection.collected_at.desc(), Collection.id.desc())
        .execution_options(yield_per=200))
    remaining = cash_on_hand
    oldest = None
    for collected_at, amount in newest_first:
        oldest = collected_at
        remaining -= amount
        if remaining <= 0:
            break
    return oldest


# --- incentive tallies ----------------------------------------------------------------------

def _tally(session: Session, *, agent_id: int, collected_at: datetime, zone: str,
           member_first: date, breakdown: str, sign: int = 1) -> None:
    """Add a collection to its agent's tallies (sign=-1 takes an approved reversal off). The
    agent's account row is locked by then, so two payments of one agent never race here."""
    month = month_of(local_today(zone, collected_at))
    lines = tally_lines(member_first, lines_from_json(breakdown))
    if not lines:
        return
    _add(session, IncentiveTally, ("agent_id", "month", "member_month"), [
        {"agent_id": agent_id, "month": month, "member_month": index, "amount": sign * amount}
        for index, amount in lines.items()])


def member_since(session: Session, worker_id: int) -> date:
    """The month the worker first became a member: its member months count from there.

    Per Perdir 13/PERDIR.02/042022 a new member is a NIK never registered before, so a
    registration after a lapse neither earns a bonus nor restarts the early-months window: the
    first month of the first registration counts (the earliest known for the NIK)."""
    return session.scalar(select(member_since_sql()).where(Worker.id == worker_id))


def _zone_and_member_since(session: Session, collection: Collection) -> tuple[str, date]:
    """The branch's time zone and `member_since` of the collection's worker, in one read."""
    return session.execute(select(*zone_and_member_since_sql(collection.branch_id))
                           .where(Worker.id == collection.worker_id)).one()


def zone_and_member_since_sql(branch_id: int) -> tuple:
    """Two columns over `Worker`: the time zone of the branch `branch_id` and the worker's
    `member_since` (what a payment's books need, read beside the worker)."""
    return (select(Branch.timezone).where(Branch.id == branch_id).scalar_subquery(),
            member_since_sql())


def member_since_sql():
    """SQL over `Worker`: the first month of the worker's first registration (the earliest of
    its registrations' first months and its current one)."""
    earliest = (select(func.min(Membership.first_month))
                .where(Membership.worker_id == Worker.id).scalar_subquery())
    return case((earliest < Worker.first_month, earliest), else_=Worker.first_month)


def _tallies_from_collections(session: Session, agent_id: int) -> dict[tuple[date, int], int]:
    """The agent's tallies worked out again from every valid collection it recorded (each in
    the month of its branch's time)."""
    sums: dict[tuple[date, int], int] = {}
    rows = session.execute(
        select(Collection.collected_at, Branch.timezone, member_since_sql(), Bill.breakdown)
        .join(Worker, Worker.id == Collection.worker_id).join(Bill, Bill.id == Collection.bill_id)
        .join(Branch, Branch.id == Collection.branch_id)
        .where(Collection.agent_id == agent_id,
               Collection.id.not_in(reversed_collection_ids()))
        .execution_options(yield_per=2000))
    for collected_at, zone, member_first, breakdown in rows:
        month = month_of(local_today(zone, collected_at))
        for index, amount in tally_lines(member_first, lines_from_json(breakdown)).items():
            sums[(month, index)] = sums.get((month, index), 0) + amount
    return sums


def _agents(session: Session) -> list[int]:
    return sorted(set(session.scalars(select(User.id).where(User.role == Role.AGENT)))
                  | set(session.scalars(select(IncentiveTally.agent_id).distinct())))


def rebuild_tallies(session: Session) -> int:
    """Fill the tallies from the collections (a bulk load). Returns the rows written."""
    session.execute(delete(IncentiveTally))
    written = 0
    for agent_id in _agents(session):
        sums = _tallies_from_collections(session, agent_id)
        if sums:
            session.execute(insert(IncentiveTally), [
                {"agent_id": agent_id, "month": month, "member_month": index, "amount": amount}
                for (month, index), amount in sums.items()])
            written += len(sums)
    return written


# --- agent months ---------------------------------------------------------------------------

MonthKey = tuple[int, int, date]  # agent, branch, month
MonthCounts = tuple[int, int, int]  # registrations, collections, collected


def month_at(moment: datetime, zone: str) -> date:
    """The branch-time month an instant (naive UTC) falls in."""
    return month_of(local_today(zone, moment))


def _count_month(session: Session, *, agent_id: int, branch_id: int, at: datetime, zone: str,
                 registrations: int = 0, collections: int = 0, collected: int = 0) -> None:
    day = local_today(zone, at)
    _add(session, AgentMonth, ("agent_id", "branch_id", "month"), [
        {"agent_id": agent_id, "branch_id": branch_id, "month": month_of(day),
         "registrations": registrations, "collections": collections, "collected": collected}])
    if collections or collected:
        _add(session, AgentDay, ("agent_id", "branch_id", "day"), [
            {"agent_id": agent_id, "branch_id": branch_id, "day": day,
             "collections": collections, "collected": collected}])


def _add(session: Session, model, key: tuple[str, ...], rows: list[dict]) -> None:
    """Add each row's figures to the row of its key.

    Figures that only grow (a registration, a payment) go in by one statement that makes the
    row when it is missing (INSERT … ON CONFLICT DO UPDATE), where reading the row and writing
    it back took two statements and a flush. Figures taken off (an approved reversal) must
    find their row: an UPDATE, and no row is an error (the check constraints refuse a negative
    row before any conflict is looked at, so the upsert cannot take them). The agent's account
    row is locked before (`account_for_update`), which keeps two changes of one agent's books
    apart."""
    table = model.__table__
    figures = tuple(name for name in rows[0] if name not in key)
    if all(row[name] >= 0 for row in rows for name in figures):
        session.execute(_upsert(session.get_bind().dialect.name, table, key, figures),
                        rows if len(rows) > 1 else rows[0])
        return
    for row in rows:
        changed = session.execute(
            update(table).where(*(table.c[name] == row[name] for name in key))
            .values({name: table.c[name] + row[name] for name in figures}))
        if changed.rowcount != 1:
            raise DomainError("Rekap agen tidak cocok dengan pembayaran ini.", status_code=500)


@functools.cache
def _upsert(dialect: str, table, key: tuple[str, ...], figures: tuple[str, ...]):
    """`_add`'s INSERT … ON CONFLICT DO UPDATE, built once (building it each time was a
    millisecond of a payment's Python): its rows come as parameters."""
    upsert = _INSERTS[dialect](table)
    return upsert.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + upsert.excluded[name] for name in figures})


def _recount_months(session: Session, days: dict | None = None) -> dict[MonthKey, MonthCounts]:
    """Every agent-month worked out again from the registrations and the valid collections
    (and, into `days`, every agent-day's payments: (agent, branch, day) -> [count, amount])."""
    zones = dict(session.execute(select(Branch.id, Branch.timezone)).all())
    counts: dict[MonthKey, list[int]] = {}
    days = {} if days is None else days
    for agent_id, branch_id, at in session.execute(
            select(Membership.agent_id, Membership.branch_id, Membership.registered_at)
            .execution_options(yield_per=5000)):
        counts.setdefault((agent_id, branch_id, month_at(at, zones[branch_id])), [0, 0, 0])[0] += 1
    for agent_id, branch_id, at, amount in session.execute(
            select(Collection.agent_id, Collection.branch_id, Collection.collected_at,
                   Collection.amount)
            .where(Collection.id.not_in(reversed_collection_ids()))
            .execution_options(yield_per=5000)):
        day = local_today(zones[branch_id], at)
        row = counts.setdefault((agent_id, branch_id, month_of(day)), [0, 0, 0])
        row[1] += 1
        row[2] += amount
        day_row = days.setdefault((agent_id, branch_id, day), [0, 0])
        day_row[0] += 1
        day_row[1] += amount
    return {key: tuple(value) for key, value in counts.items()}


def rebuild_agent_months(session: Session) -> int:
    """Fill the agents' months and days from the registrations and collections (a bulk load).
    Returns the month rows written."""
    session.execute(delete(AgentMonth))
    session.execute(delete(AgentDay))
    days: dict = {}
    rows = [{"agent_id": a, "branch_id": b, "month": m, "registrations": r, "collections": c,
             "collected": s} for (a, b, m), (r, c, s) in _recount_months(session, days).items()]
    for start in range(0, len(rows), 5000):
        session.execute(insert(AgentMonth), rows[start:start + 5000])
    day_rows = [{"agent_id": a, "branch_id": b, "day": d, "collections": c, "collected": s}
                for (a, b, d), (c, s) in days.items()]
    for start in range(0, len(day_rows), 5000):
        session.execute(insert(AgentDay), day_rows[start:start + 5000])
    return len(rows)


def _zone(session: Session, branch_id: int) -> str:
    return session.get(Branch, branch_id).timezone


# --- verification ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerMismatch:
    agent_id: int
    account_balance: int
    ledger_sum: int


@dataclass(frozen=True)
class TallyMismatch:
    agent_id: int
    month: date
    member_month: int
    tally: int
    collections: int


@dataclass(frozen=True)
class MonthMismatch:
    agent_id: int
    branch_id: int
    month: date
    kept: MonthCounts
    recounted: MonthCounts


@dataclass(frozen=True)
class BranchMismatch:
    """An agent's books in one branch that do not add up: entries settled in another branch
    than their receipt's or declaration's, or less than no cash left in the branch."""
    agent_id: int
    branch_id: int
    balance: int
    misplaced: int  # entries posted to this branch that belong to another


@dataclass(frozen=True)
class DayMismatch:
    agent_id: int
    branch_id: int
    day: date
    kept: tuple[int, int]       # payments, amount
    recounted: tuple[int, int]


@dataclass(frozen=True)
class BooksReport:
    ledger: list[LedgerMismatch]
    tallies: list[TallyMismatch]
    months: list[MonthMismatch]
    branches: list[BranchMismatch] = field(default_factory=list)
    days: list[DayMismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.ledger or self.tallies or self.months or self.branches or self.days)


def verify_books(session: Session) -> BooksReport:
    """Every agent's cash on hand against the sum of its ledger entries, its incentive tallies
    against a recount of the collections, its months against a recount of the registrations
    and collections, and its books per branch; its days against a recount of the collections.
    Empty lists when the books agree."""
    days: dict = {}
    months = _verify_months(session, days)
    return BooksReport(_verify_ledger(session), _verify_tallies(session), months,
                       _verify_branches(session), _verify_days(session, days))


def _verify_branches(session: Session) -> list[BranchMismatch]:
    """Per agent and branch: the cash left in that branch's books is not negative, and each
    entry is in the branch of the collection or deposit it moves (a reversal is settled where
    its receipt was taken, a deposit where it was declared)."""
    balances = {(agent, branch): int(total) for agent, branch, total in session.execute(
        select(LedgerEntry.agent_id, LedgerEntry.branch_id, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.agent_id, LedgerEntry.branch_id))}
    home = case((LedgerEntry.collection_id.is_not(None), Collection.branch_id),
                else_=Deposit.branch_id)
    misplaced = {(agent, branch): count for agent, branch, count in session.execute(
        select(LedgerEntry.agent_id, LedgerEntry.branch_id, func.count())
        .select_from(LedgerEntry)
        .outerjoin(Collection, Collection.id == LedgerEntry.collection_id)
        .outerjoin(Deposit, Deposit.id == LedgerEntry.deposit_id)
        .where(LedgerEntry.branch_id != home)
        .group_by(LedgerEntry.agent_id, LedgerEntry.branch_id))}
    return [BranchMismatch(agent, branch, balances.get((agent, branch), 0),
                           misplaced.get((agent, branch), 0))
            for agent, branch in sorted(set(balances) | set(misplaced))
            if balances.get((agent, branch), 0) < 0 or misplaced.get((agent, branch), 0)]


def _verify_ledger(session: Session) -> list[LedgerMismatch]:
    sums = dict(session.execute(select(LedgerEntry.agent_id, func.sum(LedgerEntry.amount))
                                .group_by(LedgerEntry.agent_id)).all())
    mismatches = []
    for account in session.scalars(select(AgentAccount)):
        ledger_sum = int(sums.pop(account.agent_id, 0) or 0)
        if ledger_sum != account.cash_on_hand:
            mismatches.append(LedgerMismatch(account.agent_id, account.cash_on_hand, ledger_sum))
    for agent_id, ledger_sum in sums.items():
        mismatches.append(LedgerMismatch(agent_id, 0, int(ledger_sum)))
    return mismatches


def _verify_tallies(session: Session) -> list[TallyMismatch]:
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


def _verify_months(session: Session, days: dict) -> list[MonthMismatch]:
    expected = _recount_months(session, days)
    kept = {(r.agent_id, r.branch_id, r.month): (r.registrations, r.collections, r.collected)
            for r in session.scalars(select(AgentMonth))}
    return [MonthMismatch(*key, kept.get(key, (0, 0, 0)), expected.get(key, (0, 0, 0)))
            for key in sorted(set(expected) | set(kept))
            if kept.get(key, (0, 0, 0)) != expected.get(key, (0, 0, 0))]


def _verify_days(session: Session, recounted: dict) -> list[DayMismatch]:
    expected = {key: tuple(value) for key, value in recounted.items()}
    kept = {(r.agent_id, r.branch_id, r.day): (r.collections, r.collected)
            for r in session.execute(select(AgentDay.agent_id, AgentDay.branch_id, AgentDay.day,
                                            AgentDay.collections, AgentDay.collected))}
    return [DayMismatch(*key, kept.get(key, (0, 0)), expected.get(key, (0, 0)))
            for key in sorted(set(expected) | set(kept))
            if kept.get(key, (0, 0)) != expected.get(key, (0, 0))]
