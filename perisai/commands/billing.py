"""Issuing a payment code ("kode iuran"), priced month by month from the first unpaid month."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.bills import BILL_VALIDITY, lines_to_json
from ..domain.clock import utcnow
from ..domain.codes import BILL_CODE_LENGTH, random_number
from ..domain.statuses import BillStatus
from ..models import Bill, User, Worker
from ..queries.bills import quote
from . import Actor, audit
from .sponsorship import apply_sponsor_cover
from .tx import lock, retry_transient, write_transaction


def _new_code(session: Session) -> str:
    while True:
        code = random_number(BILL_CODE_LENGTH)
        if session.scalar(select(Bill.id).where(Bill.code == code)) is None:
            return code


@retry_transient
def issue_bill(session: Session, worker_id: int, months: int, *, agent: User, actor: Actor,
               today: date, now: datetime | None = None) -> Bill:
    """Issue a code for `months` months; it replaces the worker's previous open code."""
    agent_id, branch_id = agent.id, agent.branch_id
    with write_transaction(session):
        now = now or utcnow()
        worker = session.scalars(lock(select(Worker).where(Worker.id == worker_id), session)).first()
        if worker is None or worker.agent_id != agent_id:
            raise DomainError("Pekerja tidak ditemukan.", status_code=404)
        # Months a sponsor took on since the last payment (a list imported later, a renewed
        # period) are paid: the code starts after them instead of pricing them at Rp0.
        apply_sponsor_cover(session, worker, actor)
        priced = quote(session, worker, months, today)
        replaced = session.scalars(select(Bill.code).where(
            Bill.worker_id == worker.id, Bill.status == BillStatus.OPEN)).all()
        session.execute(update(Bill).where(Bill.worker_id == worker.id,
                                           Bill.status == BillStatus.OPEN)
                        .values(status=BillStatus.REPLACED, closed_at=now))
        bill = Bill(code=_new_code(session), worker_id=worker.id, agent_id=agent_id,
                    branch_id=branch_id, months=months, first_month=priced.first_month,
                    last_month=priced.last_month, amount=priced.amount,
                    breakdown=lines_to_json(priced.lines),
                    status=BillStatus.OPEN, created_at=now, expires_at=now + BILL_VALIDITY)
        session.add(bill)
        session.flush()
        audit.record(session, actor, "bill.issue", "bill", bill.code,
                     before={"replaced": replaced} if replaced else None,
                     after={"worker_id": worker.id, "months": months, "amount": bill.amount,
                            "first_month": bill.first_month, "last_month": bill.last_month})
    return bill
