"""Payment codes as agents and supervisors look them up, and the price of the next one."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError
from ..domain.bills import UNKNOWN_CODE, Quote, check_collector, check_months, check_quote
from ..domain.months import add_months
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
