"""Payment codes ("kode iuran"): priced month by month from the first unpaid month."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError, N_
from ..domain.clock import utcnow
from ..domain.codes import BILL_CODE_LENGTH, random_number
from ..domain.months import add_months
from ..domain.occupations import is_transport
from ..domain.rates import MonthPrice, rupiah
from ..domain.status import membership_status
from ..models import Bill, User, Worker
from . import Actor, audit
from .rates import load_rate_book
from .sponsorship import apply_sponsor_cover, sponsor_cover
from .tx import lock, write_transaction

ALLOWED_MONTHS = (1, 3, 6, 12)
BILL_VALIDITY = timedelta(days=7)
AGENT_BILL_LIMIT = 7_000_000  # agents may only handle bills under this amount


@dataclass(frozen=True)
class Quote:
    first_month: date
    last_month: date
    lines: list[MonthPrice]

    @property
    def amount(self) -> int:
        return sum(line.total for line in self.lines)


def quote(session: Session, worker: Worker, months: int, today: date) -> Quote:
    """Price `months` months from the worker's first unpaid month, or say why not."""
    if months not in ALLOWED_MONTHS:
        raise DomainError("Pilih 1, 3, 6 atau 12 bulan.")
    status = membership_status(worker.first_month, worker.paid_through, today)
    if not status.can_bill:
        raise Conflict(status.explanation)
    first = status.first_unpaid
    last = add_months(first, months - 1)
    book = load_rate_book(session)
    lines = book.price(first, months, income=worker.declared_income, programs=worker.programs,
                       transport=is_transport(worker.occupation) or is_transport(worker.occupation2),
                       sponsor_cover=sponsor_cover(session, worker.nik, first, last))
    result = Quote(first, last, lines)
    if result.amount <= 0:
        raise Conflict("Bulan-bulan ini sudah dibayar oleh pemberi bantuan iuran; tidak ada yang perlu dibayar.")
    if result.amount >= AGENT_BILL_LIMIT:
        raise DomainError(f"Tagihan {rupiah(result.amount)} terlalu besar: agen hanya boleh menerima "
                          f"tagihan di bawah {rupiah(AGENT_BILL_LIMIT)}. Pilih lebih sedikit bulan "
                          "atau minta pekerja membayar di kantor cabang.")
    return result


def _new_code(session: Session) -> str:
    while True:
        code = random_number(BILL_CODE_LENGTH)
        if session.scalar(select(Bill.id).where(Bill.code == code)) is None:
            return code


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
            Bill.worker_id == worker.id, Bill.status == "open")).all()
        session.execute(update(Bill).where(Bill.worker_id == worker.id, Bill.status == "open")
                        .values(status="replaced", closed_at=now))
        bill = Bill(code=_new_code(session), worker_id=worker.id, agent_id=agent_id,
                    branch_id=branch_id, months=months, first_month=priced.first_month,
                    last_month=priced.last_month, amount=priced.amount,
                    breakdown=json.dumps([line.as_dict() for line in priced.lines]),
                    status="open", created_at=now, expires_at=now + BILL_VALIDITY)
        session.add(bill)
        session.flush()
        audit.record(session, actor, "bill.issue", "bill", bill.code,
                     before={"replaced": replaced} if replaced else None,
                     after={"worker_id": worker.id, "months": months, "amount": bill.amount,
                            "first_month": bill.first_month, "last_month": bill.last_month})
    return bill


def lines_of(bill: Bill) -> list[MonthPrice]:
    return [MonthPrice.from_dict(item) for item in json.loads(bill.breakdown)]


def effective_status(bill: Bill, now: datetime | None = None) -> str:
    """open | expired | paid | replaced | cancelled (expiry is a matter of the clock)."""
    if bill.status == "open" and bill.expires_at <= (now or utcnow()):
        return "expired"
    return bill.status


STATUS_LABELS = {"open": N_("Belum dibayar"), "expired": N_("Kedaluwarsa"), "paid": N_("Lunas"),
                 "replaced": N_("Diganti kode baru"), "cancelled": N_("Dibatalkan")}
