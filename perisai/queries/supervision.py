"""What a supervisor reads: every agent's cash, ageing and flags, the branch's totals, and one
agent's ledger as a statement. A fixed number of queries however many agents a branch has."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (Date, DateTime, Integer, String, and_, bindparam, case, func, literal,
                        literal_column, or_, select, true, union_all)
from sqlalchemy.orm import Session

from ..domain import DomainError, N_
from ..domain.clock import local_day_start_utc, utcnow
from ..domain.flags import HELD_TOO_LONG, INTEGRITY_FLAGS, agent_flags, inactive_threshold
from ..domain.months import month_of
from ..domain.lateness import is_late
from ..domain.statuses import DepositStatus, HeirChangeStatus, LateReview, ReversalStatus, Role
from ..models import (AgentAccount, AgentDay, AgentMonth, Branch, Collection, Deposit, HeirChange,
                      LedgerEntry, Reversal, User, Worker)
from .integrity import integrity_findings, light_findings

SORTS = {"worst": N_("Paling perlu perhatian"), "cash": N_("Uang di tangan"), "age": N_("Lama ditahan"),
         "collected": N_("Terkumpul bulan ini"), "registrations": N_("Pendaftaran bulan ini"),
         "name": N_("Nama")}


class AgentRef(NamedTuple):
    """What the agents' table shows of an agent: plain values, no ORM object (a branch has
    hundreds of agents, and loading each as an object was most of the supervisor's home)."""
    id: int
    username: str
    full_name: str
    active: bool
    created_at: datetime


@dataclass
class AgentRow:
    agent: AgentRef
    cash_on_hand: int
    total_collected: int
    oldest_undeposited_at: datetime | None
    last_activity_at: datetime | None
    registrations_month: int = 0
    collections_month: int = 0
    collected_month: int = 0
    pending_deposits: int = 0
    flags: tuple[str, ...] = field(default_factory=tuple)
    # integrity flag -> the workers behind it (ids), for the agent's page
    integrity: dict[str, list[int]] = field(default_factory=dict)

    def held_hours(self, now: datetime) -> float | None:
        if not self.cash_on_hand or self.oldest_undeposited_at is None:
            return None
        return (now - self.oldest_undeposited_at).total_seconds() / 3600


@dataclass(frozen=True)
class BranchTotals:
    cash_on_hand: int
    collected_today_count: int
    collected_today: int
    collected_month_count: int
    collected_month: int
    flagged_agents: int
    agents: int
    pending_deposits: int
    pending_deposit_amount: int
    pending_reversals: int
    pending_heir_changes: int


# What the agents' table shows, as plain values (no ORM objects): users, their accounts and
# this month's `agent_months` row. The month's registrations and payments are kept as they
# happen, so an agent is one row however many payments the branch took.
AGENT_COLUMNS = (User.id, User.username, User.full_name, User.active, User.created_at,
                 AgentAccount.cash_on_hand, AgentAccount.total_collected,
                 AgentAccount.total_reversed, AgentAccount.oldest_undeposited_at,
                 AgentAccount.last_activity_at, AgentMonth.registrations, AgentMonth.collections,
                 AgentMonth.collected)


def _agents_join(branch_id, month, *columns):
    """`columns` over the users joined to their accounts and their `month` in the branch
    (`branch_id` and `month`: values or parameters)."""
    return (select(*columns).select_from(User)
            .outerjoin(AgentAccount, AgentAccount.agent_id == User.id)
            .outerjoin(AgentMonth, (AgentMonth.agent_id == User.id)
                       & (AgentMonth.branch_id == branch_id) & (AgentMonth.month == month)))


def _with_pending_deposits(query, branch: Branch):
    """`query` with each agent's deposits waiting for the supervisor as its last column, from
    one grouped read of the branch's waiting deposits (a few dozen, by the branch's index) joined
    in: a count per agent asked agent by agent walked each agent's every deposit (6 ms for a
    branch of 400 agents at 1,000,000 members), and a statement of its own costs about a
    millisecond on PostgreSQL here."""
    # Grouped on `+agent_id`: SQLite otherwise walks every deposit of the branch's agents in
    # the (agent) index to group them; the unary plus keeps it on the (branch, status) index.
    agent = literal_column("+deposits.agent_id", Integer)
    waiting = (select(agent.label("agent_id"), func.count(Deposit.id).label("pending"))
               .where(Deposit.branch_id == branch.id, Deposit.status == DepositStatus.PENDING)
               .group_by(agent).subquery("waiting"))
    return (query.add_columns(waiting.c.pending)
            .outerjoin(waiting, waiting.c.agent_id == User.id))


def _rows(found, findings, *, cash_limit: int, now: datetime,
          inactive_before: datetime) -> list[AgentRow]:
    rows = []
    for (agent_id, username, full_name, active, created_at, cash, collected, reversed_,
         oldest, last, registrations, count, total, pending, *_) in found:
        cash = cash or 0
        integrity = findings.get(agent_id, {})
        rows.append(AgentRow(
            agent=AgentRef(agent_id, username, full_name, active, created_at),
            cash_on_hand=cash, total_collected=(collected or 0) - (reversed_ or 0),
            oldest_undeposited_at=oldest, last_activity_at=last,
            registrations_month=registrations or 0, collections_month=count or 0,
            collected_month=total or 0, pending_deposits=pending or 0,
            integrity=dict(integrity),
            flags=agent_flags(cash_on_hand=cash, oldest_undeposited_at=oldest,
                              last_activity_at=last, created_at=created_at,
                              cash_limit=cash_limit, now=now,
                              inactive_before=inactive_before, active=active,
                              integrity=tuple(integrity))))
    return rows


def agent_row(session: Session, branch: Branch, today: date, agent: User,
              now: datetime | None = None) -> AgentRow:
    """One agent's row (cash, ageing, flags, this month), with every integrity flag."""
    return agent_row_and_queue(session, branch, today, agent, now)[0]


def agent_row_and_queue(session: Session, branch: Branch, today: date, agent: User,
                        now: datetime | None = None) -> tuple[AgentRow, dict[str, int]]:
    """`agent_row` and, read in the same statement, `queue_counts` of the agent."""
    found = _agent_found(session, branch, today, {"agent_id": agent.id}, now)
    return found.row, found.queue


class AgentFound(NamedTuple):
    agent: User
    row: AgentRow
    queue: dict[str, int]  # `queue_counts` of the agent
    any_late: bool  # whether `late_collections` can find anything
    oldest_pending: datetime | None  # when its oldest deposit waiting in the branch was declared


def branch_agent_row(session: Session, branch: Branch, today: date, username: str,
                     now: datetime | None = None) -> AgentFound:
    """An agent of this branch by username, with its row, its queue's counts, whether it has
    collections recorded late and when its oldest waiting deposit was declared, in one
    statement (one agent's page; a statement of its own costs about a millisecond on
    PostgreSQL here); 404, the same for an agent of another branch, when there is none."""
    return _agent_found(session, branch, today, {"username": (username or "")[:40]}, now)


def _agent_found(session: Session, branch: Branch, today: date, which: dict,
                 now: datetime | None) -> AgentFound:
    now = now or utcnow()
    found = session.execute(_agent_query(*which), {
        "branch_id": branch.id, "month": month_of(today), "late_since": now - LATE_WINDOW,
        **which}).first()
    if found is None:
        raise DomainError("Agen tidak ditemukan.", status_code=404)
    agent, any_late, oldest_pending, *values = found
    findings = integrity_findings(session, branch, today, agent_id=agent.id, now=now)
    row = _rows([values], findings, cash_limit=branch.cash_limit, now=now,
                inactive_before=inactive_threshold(today, branch.timezone))[0]
    return AgentFound(agent, row, dict(zip(QUEUE_KEYS, map(int, values[-len(QUEUE_KEYS):]))),
                      bool(any_late), oldest_pending)


@functools.cache
def _agent_query(by: str):
    """One agent (found `by` "agent_id" or by "username" among the branch's agents) with
    whether it has collections `late_collections` would look at, when its oldest deposit
    waiting in the branch was declared, its row's columns and its queue's counts, built once
    with its values as parameters: branch_id, month, late_since, and `by`. The counts follow
    the agent found (correlated on users.id); its waiting deposits are the row's pending
    deposits too."""
    branch_id = bindparam("branch_id", type_=Integer)
    queue = _queue_count_columns(branch_id, User.id)
    oldest_pending = select(func.min(Deposit.declared_at)).where(
        Deposit.branch_id == branch_id, Deposit.status == DepositStatus.PENDING,
        Deposit.agent_id == User.id).scalar_subquery()
    # Each from its partial index: most agents have none, and then the page asks no more.
    any_late = or_(
        select(Collection.id).where(Collection.agent_id == User.id,
                                    Collection.late_review == LateReview.PENDING).exists(),
        select(Collection.id).where(
            Collection.agent_id == User.id,
            Collection.collected_at >= bindparam("late_since", type_=DateTime),
            Collection.received_at.is_not(None)).exists())
    query = _agents_join(branch_id, bindparam("month", type_=Date), User, any_late,
                         oldest_pending, *AGENT_COLUMNS, queue[0], *queue)
    if by == "agent_id":
        return query.where(User.id == bindparam("agent_id", type_=Integer))
    return query.where(User.username == bindparam("username", type_=String),
                       User.role == Role.AGENT, User.branch_id == branch_id)


class BranchAgents:
    """A branch's agents as the supervisor's pages read them: the totals and a sorted page of
    rows, in a fixed number of statements whatever the number of agents.

    A branch has hundreds of agents at every scale. Ranking them worst first used to build a
    row (and its flags) for each of them on every view; now the database counts each agent's
    flags (`flag_count`, the SQL form of `domain.flags.agent_flags`, which a test holds equal
    to it agent by agent), sorts, adds up and cuts the page, and Python builds the rows shown."""

    def __init__(self, session: Session, branch: Branch, today: date, now: datetime | None = None):
        self.session, self.branch, self.today = session, branch, today
        self.now = now or utcnow()
        self.inactive_before = inactive_threshold(today, branch.timezone)
        # The cheap integrity flags (the branch's pages); one agent's page shows every one.
        self.findings = light_findings(session, branch, today, now=self.now)
        cash = func.coalesce(AgentAccount.cash_on_hand, 0)
        counts = [
            case((and_(cash > 0, AgentAccount.oldest_undeposited_at < self.now - HELD_TOO_LONG),
                  1), else_=0),
            case((cash > branch.cash_limit, 1), else_=0),
            case((and_(User.active.is_(True),
                       func.coalesce(AgentAccount.last_activity_at, User.created_at)
                       < self.inactive_before), 1), else_=0)]
        integrity = {agent_id: sum(1 for flag in INTEGRITY_FLAGS if flag in flags)
                     for agent_id, flags in self.findings.items()}
        integrity = {agent_id: n for agent_id, n in integrity.items() if n}
        if integrity:
            counts.append(case(integrity, value=User.id, else_=0))
        self.flag_count = sum(counts[1:], counts[0])
        self.cash = cash
        self.month = month_of(today)
        # A deactivated agent stays on the list while it still holds cash.
        self.scope = (User.branch_id == branch.id, User.role == Role.AGENT,
                      or_(User.active.is_(True), AgentAccount.cash_on_hand > 0))

    def _from(self, *columns):
        return _agents_join(self.branch.id, self.month, *columns).where(*self.scope)

    def _today(self) -> list:
        # The day's payments are kept per agent as they happen (`agent_days`): one row per
        # agent who took a payment today, however many payments the branch took.
        def today_sum(column):
            return (select(func.coalesce(func.sum(column), 0))
                    .where(AgentDay.branch_id == self.branch.id, AgentDay.day == self.today)
                    .scalar_subquery())
        return [today_sum(AgentDay.collections), today_sum(AgentDay.collected)]

    def _figures(self, window: bool = False) -> list:
        """The branch's figures over every agent listed: agents, cash, this month's payments and
        amount, agents with a flag (as window functions over the listed rows, with `window`)."""
        def total(aggregate):
            return func.coalesce(aggregate.over() if window else aggregate, 0)
        return [total(func.count(User.id)), total(func.sum(self.cash)),
                total(func.sum(AgentMonth.collections)), total(func.sum(AgentMonth.collected)),
                total(func.sum(case((self.flag_count > 0, 1), else_=0)))]

    def totals(self, queue: dict[str, int]) -> BranchTotals:
        """The branch's figures; `queue` is `queue_counts` of the branch."""
        found = self.session.execute(self._from(*self._figures(), *self._today())).one()
        return self._totals(found, queue)

    def overview(self, limit: int) -> tuple[BranchTotals, list[AgentRow], dict[str, int]]:
        """The home in one statement: the branch's figures (the same sums as window functions
        over every agent), today's payments and the queue's counts (subqueries), and the first
        `limit` agents worst first, of which those with a flag are kept."""
        found = self._found("worst", 0, limit, extra=[
            *self._figures(window=True), *self._today(), *_queue_count_columns(self.branch.id)])
        if not found:  # no agent listed: today's payments and the queue still count
            queue = queue_counts(self.session, self.branch.id)
            return self.totals(queue), [], queue
        tail = found[0][-11:]
        queue = dict(zip(QUEUE_KEYS, map(int, tail[7:])))
        return (self._totals(tail[:7], queue), [row for row in self._rows(found) if row.flags],
                queue)

    @staticmethod
    def _totals(found, queue: dict[str, int]) -> BranchTotals:
        agents, cash, month_count, month_sum, flagged, day_count, day_sum = map(int, found)
        return BranchTotals(
            cash_on_hand=cash, collected_today_count=day_count, collected_today=day_sum,
            collected_month_count=month_count, collected_month=month_sum,
            flagged_agents=flagged, agents=agents,
            pending_deposits=queue["deposits_count"],
            pending_deposit_amount=queue["deposits_amount"],
            pending_reversals=queue["reversals_count"],
            pending_heir_changes=queue["heir_changes_count"])

    def count(self) -> int:
        return self.session.execute(self._from(func.count(User.id))).scalar_one()

    def rows(self, sort: str = "worst", *, offset: int = 0, limit: int = 50,
             flagged_only: bool = False) -> list[AgentRow]:
        """A page of rows in the order of `sort` (`SORTS`; worst first by default)."""
        return self._rows(self._found(sort, offset, limit, flagged_only=flagged_only))

    def page(self, sort: str, page: int, per_page: int) -> tuple[list[AgentRow], int, int]:
        """(rows, page, pages): the `page`-th page of the table (the last one when past it), the
        number of agents counted in the same statement (a window count)."""
        found = self._found(sort, (page - 1) * per_page, per_page, total=True)
        if not found and page > 1:
            page = max(1, -(-self.count() // per_page))
            found = self._found(sort, (page - 1) * per_page, per_page, total=True)
        total = found[0][-1] if found else 0
        return self._rows(found), page, max(1, -(-total // per_page))

    def _found(self, sort: str, offset: int, limit: int, *, flagged_only: bool = False,
               total: bool = False, extra=()):
        oldest = AgentAccount.oldest_undeposited_at.asc().nulls_last()
        # Most flags first, then most cash, then the oldest cash.
        worst = (self.flag_count.desc(), self.cash.desc(), oldest)
        order = {
            "cash": (self.cash.desc(),),
            "age": (oldest,),
            "collected": (func.coalesce(AgentMonth.collected, 0).desc(),),
            "registrations": (func.coalesce(AgentMonth.registrations, 0).desc(),),
            "name": (func.lower(User.full_name),),
        }.get(sort, worst)
        query = _with_pending_deposits(self._from(*AGENT_COLUMNS), self.branch)
        if total:
            query = query.add_columns(func.count().over())
        if extra:
            query = query.add_columns(*extra)
        if flagged_only:
            query = query.where(self.flag_count > 0)
        return self.session.execute(
            query.order_by(*order, User.username).offset(offset).limit(limit)).all()

    def _rows(self, found) -> list[AgentRow]:
        return _rows(found, self.findings, cash_limit=self.branch.cash_limit, now=self.now,
                     inactive_before=self.inactive_before)


QUEUE_KEYS = ("deposits_count", "deposits_amount", "reversals_count", "heir_changes_count")


def queue_counts(session: Session, branch_id: int, agent_id: int | None = None) -> dict[str, int]:
    """How many deposits (and how much money), reversals and heir changes wait for a supervisor
    in the branch (only one agent's, given `agent_id`), in one statement: the queue itself may
    show only the oldest of them."""
    found = session.execute(select(*_queue_count_columns(branch_id, agent_id))).one()
    return dict(zip(QUEUE_KEYS, map(int, found)))


def _queue_count_columns(branch_id, agent_id=None) -> list:
    """`QUEUE_KEYS` as scalar subqueries, to be selected alone or beside other columns
    (`branch_id` a value or a parameter; `agent_id` a value, or a column such as `User.id` to
    correlate with)."""
    deposits = [Deposit.branch_id == branch_id, Deposit.status == DepositStatus.PENDING]
    reversals = [Reversal.branch_id == branch_id, Reversal.status == ReversalStatus.PENDING]
    heir_changes = [HeirChange.branch_id == branch_id,
                    HeirChange.status == HeirChangeStatus.PENDING]
    if agent_id is not None:
        deposits.append(Deposit.agent_id == agent_id)
        reversals.append(Reversal.collection_id.in_(
            select(Collection.id).where(Collection.agent_id == agent_id)))
        heir_changes.append(HeirChange.worker_id.in_(
            select(Worker.id).where(Worker.agent_id == agent_id)))

    def one(column, where):
        return select(column).where(*where).scalar_subquery()
    return [one(func.count(Deposit.id), deposits),
            one(func.coalesce(func.sum(Deposit.amount), 0), deposits),
            one(func.count(Reversal.id), reversals),
            one(func.count(HeirChange.id), heir_changes)]


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str
    amount: int
    balance: int
    receipt_number: str | None
    deposit_reference: str | None
    worker_name: str | None = None  # whose payment (a collection or its reversal)


STATEMENT_LINES = 100  # entries per page of a statement


@dataclass(frozen=True)
class Statement:
    date_from: date
    date_to: date
    opening: int             # at the start of the period
    lines: list[StatementLine]  # this page's entries, with running balances
    closing: int             # at the end of the period
    money_in: int            # over the whole period
    money_out: int
    entries: int             # in the whole period
    page: int = 1
    pages: int = 1
    page_opening: int = 0    # the balance before this page's first entry

    @property
    def page_closing(self) -> int:
        return self.lines[-1].balance if self.lines else self.page_opening


def statement(session: Session, agent_id: int, date_from: date, date_to: date,
              zone: str, page: int = 1, per_page: int = STATEMENT_LINES) -> Statement:
    """Opening balance, a page of entries with their running balance, closing balance.

    The opening balance is the agent's cash on hand less every entry since the period
    began, so the cost follows the period, not the agent's whole history."""
    start = local_day_start_utc(date_from, zone)
    end = local_day_start_utc(date_to + timedelta(days=1), zone)
    def read(page: int) -> list:
        offset = (max(page, 1) - 1) * per_page
        return session.execute(_statement_query(offset > 0), {
            "agent_id": agent_id, "start": start, "end": end, "offset": offset,
            "per_page": per_page}).all()
    found = read(page)
    since_start, money_in, money_out, entries, cash_now, earlier = found[0][:6]
    pages = max(1, -(-entries // per_page))
    if not 1 <= page <= pages:  # past the last page (or before the first): show the nearest
        page = min(max(page, 1), pages)
        found = read(page)
        earlier = found[0][5]
    opening = int(cash_now or 0) - int(since_start)
    page_opening = opening + int(earlier or 0)
    balance = page_opening
    lines = []
    for *_, at, kind, amount, receipt, reference, worker_name in found:
        if at is None:  # the period has no entry (or none on this page)
            continue
        balance += amount
        lines.append(StatementLine(at, kind, amount, balance, receipt, reference, worker_name))
    return Statement(date_from, date_to, opening, lines, opening + int(money_in) - int(money_out),
                     int(money_in), int(money_out), entries, page, pages, page_opening)


@functools.cache
def _statement_query(paged: bool):
    """A statement's figures and one page of its entries as one statement (one of its own
    costs about a millisecond on PostgreSQL here), built once (with `paged`: for a page after
    the first) with its values as parameters: agent_id, start, end, offset, per_page.

    The figures' row (every entry since the period began, what came in and went out in the
    period, how many entries, the cash on hand now, the entries before this page) is joined
    to the page's entries, one row each, or to NULLs when the page has none."""
    agent_id = bindparam("agent_id", type_=Integer)
    start, end = bindparam("start", type_=DateTime), bindparam("end", type_=DateTime)
    in_period = LedgerEntry.created_at < end
    period = (LedgerEntry.agent_id == agent_id, LedgerEntry.created_at >= start,
              LedgerEntry.created_at < end)
    order = (LedgerEntry.created_at, LedgerEntry.id)
    offset = bindparam("offset", type_=Integer)
    if paged:
        earlier = (select(LedgerEntry.amount).where(*period).order_by(*order)
                   .limit(offset).subquery())
        before_page = select(func.coalesce(func.sum(earlier.c.amount), 0)).scalar_subquery()
    else:
        before_page = literal(0)
    figures = select(
        func.coalesce(func.sum(LedgerEntry.amount), 0).label("since_start"),
        func.coalesce(func.sum(case((in_period & (LedgerEntry.amount > 0), LedgerEntry.amount),
                                    else_=0)), 0).label("money_in"),
        func.coalesce(func.sum(case((in_period & (LedgerEntry.amount < 0), -LedgerEntry.amount),
                                    else_=0)), 0).label("money_out"),
        func.count(case((in_period, 1))).label("entries"),
        select(AgentAccount.cash_on_hand).where(AgentAccount.agent_id == agent_id)
        .scalar_subquery().label("cash_now"),
        before_page.label("before_page")) \
        .where(LedgerEntry.agent_id == agent_id, LedgerEntry.created_at >= start).subquery()
    lines = (select(LedgerEntry.id, LedgerEntry.created_at, LedgerEntry.kind, LedgerEntry.amount,
                    Collection.receipt_number, Deposit.reference, Worker.full_name)
             .outerjoin(Collection, Collection.id == LedgerEntry.collection_id)
             .outerjoin(Worker, Worker.id == Collection.worker_id)
             .outerjoin(Deposit, Deposit.id == LedgerEntry.deposit_id)
             .where(*period).order_by(*order)
             .offset(offset).limit(bindparam("per_page", type_=Integer)).subquery())
    return (select(*figures.c, *[column for column in lines.c if column.name != "id"])
            .select_from(figures.outerjoin(lines, true()))
            .order_by(lines.c.created_at, lines.c.id))


@dataclass(frozen=True)
class LateCollection:
    receipt_number: str
    taken_at: datetime
    received_at: datetime
    amount: int
    review: str | None


LATE_LIST = 50
LATE_WINDOW = timedelta(days=60)  # how far back the agent's page looks for offline collections


def late_collections(session: Session, agent_id: int, since: datetime) -> list[LateCollection]:
    """The agent's collections recorded more than 10 minutes after the cash was taken, newest
    first: those taken since `since` (from the agent's time index), and every one still
    waiting for the supervisor's look, however old."""
    columns = (Collection.receipt_number, Collection.collected_at, Collection.received_at,
               Collection.amount, Collection.late_review)
    # One statement: the waiting ones first (0), then the recent offline ones (1), each read
    # from its partial index.
    pending = (select(literal(0).label("part"), *columns)
               .where(Collection.agent_id == agent_id,
                      Collection.late_review == LateReview.PENDING)
               .order_by(Collection.collected_at.desc()).limit(LATE_LIST).subquery())
    recent = (select(literal(1).label("part"), *columns)
              .where(Collection.agent_id == agent_id, Collection.collected_at >= since,
                     Collection.received_at.is_not(None))
              .order_by(Collection.collected_at.desc()).limit(1000).subquery())
    found = session.execute(union_all(select(pending), select(recent))).all()
    found.sort(key=lambda row: (row[0], -row[2].timestamp()))
    seen, rows = set(), []
    for row in (row[1:] for row in found):
        if row[0] in seen or not (row[4] or is_late(row[1], row[2])):
            continue
        seen.add(row[0])
        rows.append(LateCollection(*row))
    return rows[:LATE_LIST]
