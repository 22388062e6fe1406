"""Payment codes as agents and supervisors look them up, and the price of the next one."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError
from ..domain.bills import ALLOWED_MONTHS, UNKNOWN_CODE, Quote, check_collector, check_months, check_quote
from ..domain.months import add_months, month_of, months_between
from ..domain.occupations import is_transport
from ..domain.status import membership_status
from ..models import Bill, Collection, User, Worker
from .rates import load_rate_book
from .sponsorship import sponsor_cover


def quote(session: Session, worker: Worker, months: int, today: date) -> Quote:
    """Price `months` months from the worker's first unpaid month, or say why not."""
    check_months(months)
    status = membership_status(worker.first_month, worker.paid_through, today)
    if not status.can_bill:
        raise Conflict(status.explanation)
    first = status.first_unpaid
    last = add_months(first, months - 1)
    book = load_rate_book(session)
    lines = book.price(first, months, income=worker.declared_income, programs=worker.programs,
                       transport=is_transport(worker.occupation) or is_transport(worker.occupation2),
                       sponsor_cover=sponsor_cover(session, worker.nik, first, last))
    return check_quote(Quote(first, last, lines))


def bill_for_agent(session: Session, code: str, agent: User) -> Bill:
    """The code, when this agent may take its cash (404 for an unknown code, 409 for another
    agent's or branch's)."""
    bill = session.scalars(select(Bill).where(Bill.code == code)).first()
    if bill is None:
        raise DomainError(UNKNOWN_CODE, status_code=404)
    check_collector(bill_branch_id=bill.branch_id, bill_agent_id=bill.agent_id,
                    agent_id=agent.id, branch_id=agent.branch_id)
    return bill


def visible_bill(session: Session, code: str, user: User) -> Bill:
    """A code for its agent or a supervisor of its branch; 404 for anyone else."""
    bill = session.scalars(select(Bill).where(Bill.code == code[:20])).first()
    visible = bill is not None and bill.branch_id == user.branch_id and (
        user.is_supervisor or bill.agent_id == user.id)
    if not visible:
        raise DomainError("Kode bayar tidak ditemukan.", status_code=404)
    return bill


def collection_of(session: Session, bill: Bill) -> Collection | None:
    return session.scalars(select(Collection).where(Collection.bill_id == bill.id)).first()


def recent_bills(session: Session, worker_id: int, limit: int = 10) -> list[Bill]:
    return list(session.scalars(select(Bill).where(Bill.worker_id == worker_id)
                                .order_by(Bill.created_at.desc()).limit(limit)).all())


@dataclass(frozen=True)
class MonthChoice:
    """One button of "how many months?": its price, or why it cannot be chosen."""
    months: int
    first_month: date
    last_month: date
    amount: int
    problem: object = None  # a domain text when this choice cannot be billed

    @property
    def allowed(self) -> bool:
        return self.problem is None


def month_choices(session: Session, worker: Worker, today: date) -> list[MonthChoice]:
    """Every allowed number of months priced at once, so the agent sees each price before
    choosing (the longest run is priced once; a shorter one is its first months)."""
    status = membership_status(worker.first_month, worker.paid_through, today)
    if not status.can_bill:
        return []
    first, longest = status.first_unpaid, max(ALLOWED_MONTHS)
    book = load_rate_book(session)
    lines = book.price(first, longest, income=worker.declared_income, programs=worker.programs,
                       transport=is_transport(worker.occupation) or is_transport(worker.occupation2),
                       sponsor_cover=sponsor_cover(session, worker.nik, first,
                                                   add_months(first, longest - 1)))
    choices = []
    for months in ALLOWED_MONTHS:
        priced = Quote(first, add_months(first, months - 1), lines[:months])
        try:
            check_quote(priced)
        except DomainError as error:
            choices.append(MonthChoice(months, priced.first_month, priced.last_month,
                                       priced.amount, error.text))
        else:
            choices.append(MonthChoice(months, priced.first_month, priced.last_month,
                                       priced.amount))
    return choices


def suggested_months(choices: list[MonthChoice], first_unpaid: date, today: date) -> int | None:
    """The choice ticked when the page opens: the fewest months that pay up to this month,
    among those that can be billed."""
    allowed = [choice.months for choice in choices if choice.allowed]
    if not allowed:
        return None
    current = month_of(today)
    needed = months_between(first_unpaid, current) + 1 if first_unpaid <= current else 1
    return next((months for months in allowed if months >= needed), allowed[-1])


OPEN_CODES_ON_PHONE = 300


def open_codes(session: Session, agent_id: int, now) -> list[tuple[Bill, str]]:
    """The agent's open codes not yet expired, with the worker's name: what the phone keeps to
    check a code and show its amount without a signal. Newest first, at most 300."""
    return list(session.execute(
        select(Bill, Worker.full_name).join(Worker, Worker.id == Bill.worker_id)
        .where(Bill.agent_id == agent_id, Bill.status == "open", Bill.expires_at > now)
        .order_by(Bill.created_at.desc()).limit(OPEN_CODES_ON_PHONE)).all())
