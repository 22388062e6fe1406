"""What an agent sees first: today's cash, this month's members, who is behind."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ..domain.clock import local_day_start_utc
from ..domain.months import add_months, month_of
from ..domain.occupations import is_transport
from ..domain.status import DUE_DAY, MAX_ARREARS, MembershipStatus, membership_status
from ..domain.incentives import Incentive
from ..domain.sponsorship import cover_from_entries
from ..models import AgentAccount, Collection, Membership, SponsoredEntry, Worker
from . import reversed_collection_ids
from .incentives import monthly_incentive
from .rates import load_rate_book

BEHIND_LIMIT = 20


@dataclass(frozen=True)
class Behind:
    worker: Worker
    status: MembershipStatus
    due: int


@dataclass(frozen=True)
class AgentDashboard:
    collected_today_count: int
    collected_today_sum: int
    cash_on_hand: int
    oldest_undeposited_at: object
    registered_this_month: int
    behind: list[Behind]           # the most overdue first, BEHIND_LIMIT of them
    more_behind: bool              # more are due: the whole list is /workers?due=1
    incentive: Incentive | None = None


def agent_dashboard(session: Session, agent_id: int, zone: str, today: date) -> AgentDashboard:
    """Everything on the agent's first page in a fixed number of queries (none per row)."""
    day_start = local_day_start_utc(today, zone)
    this_month = month_of(today)
    account = select(AgentAccount).where(AgentAccount.agent_id == agent_id)
    count, total, cash, oldest = session.execute(select(
        func.count(Collection.id), func.coalesce(func.sum(Collection.amount), 0),
        account.with_only_columns(AgentAccount.cash_on_hand).scalar_subquery(),
        account.with_only_columns(AgentAccount.oldest_undeposited_at).scalar_subquery())
        .where(Collection.agent_id == agent_id, Collection.collected_at >= day_start,
               Collection.id.not_in(reversed_collection_ids()))).one()
    incentive = monthly_incentive(session, agent_id, this_month, zone)
    if incentive is not None:
        registered = incentive.new_members
    else:
        registered = session.scalar(select(func.count(Membership.id)).where(
            Membership.agent_id == agent_id,
            Membership.registered_at >= local_day_start_utc(this_month, zone)))
    behind, more_behind = members_behind(session, agent_id, today)
    return AgentDashboard(count, int(total), cash or 0, oldest, registered, behind,
                          more_behind, incentive)


def _first_unpaid_for(overdue: int, today: date) -> date:
    """The first unpaid month of a member with `overdue` overdue months (`domain.status`)."""
    return add_months(month_of(today), -overdue + (1 if today.day > DUE_DAY else 0))


def overdue_months(today: date):
    """SQL for a member's overdue months, 1 to MAX_ARREARS (0 otherwise): the status rules
    of `domain.status` for members awaiting a first payment or in arrears."""
    whens = []
    for overdue in range(1, MAX_ARREARS + 1):
        first_unpaid = _first_unpaid_for(overdue, today)
        whens += [(and_(Worker.paid_through.is_(None), Worker.first_month == first_unpaid),
                   overdue),
                  (Worker.paid_through == add_months(first_unpaid, -1), overdue)]
    return case(*whens, else_=0)


def due_filter(today: date):
    """SQL for "is due": between 1 and MAX_ARREARS overdue months (not lapsed)."""
    first, last = _first_unpaid_for(MAX_ARREARS, today), _first_unpaid_for(1, today)
    return or_(and_(Worker.paid_through.is_(None), Worker.first_month.between(first, last)),
               Worker.paid_through.between(add_months(first, -1), add_months(last, -1)))


def members_behind(session: Session, agent_id: int, today: date, *, page: int = 1,
                   per_page: int = BEHIND_LIMIT) -> tuple[list[Behind], bool]:
    """A page of the agent's members who are due, most overdue first, with what they owe;
    and whether more follow."""
    this_month = month_of(today)
    most_overdue_first = (overdue_months(today).desc(), Worker.id)
    page_ids = (select(Worker.id).where(Worker.agent_id == agent_id, due_filter(today))
                .order_by(*most_overdue_first)
                .offset((page - 1) * per_page).limit(per_page + 1))
    # The sponsored-list entries of those members come in the same query.
    window = (add_months(this_month, -12), this_month)
    rows = session.execute(
        select(Worker, SponsoredEntry)
        .outerjoin(SponsoredEntry, and_(SponsoredEntry.nik == Worker.nik,
                                        SponsoredEntry.valid_from <= window[1],
                                        SponsoredEntry.valid_to >= window[0]))
        .where(Worker.id.in_(page_ids.scalar_subquery()))
        .order_by(*most_overdue_first)).all()
    if not rows:
        return [], False
    entries: dict[int, list[SponsoredEntry]] = {}
    workers = []
    for worker, entry in rows:
        if worker.id not in entries:
            entries[worker.id] = []
            workers.append(worker)
        if entry is not None:
            entries[worker.id].append(entry)
    book = load_rate_book(session)
    behind = []
    for worker in workers[:per_page]:
        status = membership_status(worker.first_month, worker.paid_through, today)
        lines = book.price(status.first_unpaid, status.overdue_months,
                           income=worker.declared_income, programs=worker.programs,
                           transport=is_transport(worker.occupation) or is_transport(worker.occupation2),
                           sponsor_cover=cover_from_entries(entries[worker.id], *window))
        behind.append(Behind(worker, status, sum(line.total for line in lines)))
    return behind, len(workers) > per_page
