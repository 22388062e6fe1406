"""Recording cash against a bill: once per bill, once per idempotency key, all or nothing."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError
from ..domain.bills import UNKNOWN_CODE, check_amount, check_collector, check_payable, effective_status
from ..domain.clock import utcnow
from ..domain.codes import RECEIPT_NUMBER_LENGTH, random_number
from ..domain.inputs import require_form_key
from ..domain.status import membership_status
from ..domain.statuses import BillStatus
from ..models import Bill, Collection, User, Worker
from . import Actor, audit, books
from .sponsorship import apply_sponsor_cover
from .tx import lock, write_transaction

USED_FORM = "Formulir ini sudah dipakai. Muat ulang halaman, lalu coba lagi."


class AlreadyPaid(Conflict):
    """The bill was paid by another submission; `collection` is the payment on record."""

    def __init__(self, collection: Collection):
        super().__init__("Kode ini sudah dibayar. Tidak boleh menerima uang dua kali.")
        self.collection = collection


def _receipt_number(session: Session) -> str:
    while True:
        number = random_number(RECEIPT_NUMBER_LENGTH)
        if session.scalar(select(Collection.id).where(Collection.receipt_number == number)) is None:
            return number


def _collection_by_key(session: Session, key: str) -> Collection | None:
    return session.scalars(select(Collection).where(Collection.idempotency_key == key)).first()


def collect(session: Session, *, code: str, amount: int, idempotency_key: str,
            agent: User, actor: Actor, today: date,
            now: datetime | None = None) -> tuple[Collection, bool]:
    """Record the cash. Returns (collection, created). A retry with the same key returns the
    first collection with created=False; another payment of a paid bill raises AlreadyPaid."""
    require_form_key(idempotency_key)
    agent_id, branch_id = agent.id, agent.branch_id
    earlier = _collection_by_key(session, idempotency_key)
    if earlier is not None:
        return _replay(earlier, agent_id, code)
    try:
        with write_transaction(session):
            now = now or utcnow()
            bill = session.scalars(lock(select(Bill).where(Bill.code == code), session)).first()
            if bill is None:
                raise DomainError(UNKNOWN_CODE, status_code=404)
            check_collector(bill_branch_id=bill.branch_id, bill_agent_id=bill.agent_id,
                            agent_id=agent_id, branch_id=branch_id)
            state = effective_status(bill.status, bill.expires_at, now)
            if state == BillStatus.PAID:
                paid = session.scalars(select(Collection).where(Collection.bill_id == bill.id)).one()
                if paid.idempotency_key == idempotency_key:
                    return _replay(paid, agent_id, code)
                raise AlreadyPaid(paid)
            check_payable(state)
            check_amount(amount, bill.amount)
            worker = session.scalars(lock(select(Worker).where(Worker.id == bill.worker_id),
                                          session)).one()
            status = membership_status(worker.first_month, worker.paid_through, today)
            if not status.can_bill:
                raise Conflict(status.explanation)
            if status.first_unpaid != bill.first_month:
                raise Conflict("Kode ini tidak cocok lagi dengan bulan yang belum dibayar. "
                               "Buat kode baru di halaman pekerja.")
            closed = session.execute(update(Bill).where(Bill.id == bill.id,
                                                        Bill.status == BillStatus.OPEN)
                                     .values(status=BillStatus.PAID, closed_at=now))
            if closed.rowcount != 1:
                raise Conflict("Kode ini baru saja dibayar atau diganti. Muat ulang halaman.")
            collection = Collection(
                receipt_number=_receipt_number(session), bill_id=bill.id,
                idempotency_key=idempotency_key, agent_id=agent_id, branch_id=branch_id,
                worker_id=worker.id, amount=bill.amount, months=bill.months,
                first_month=bill.first_month, last_month=bill.last_month, collected_at=now)
            session.add(collection)
            session.flush()
            before = {"paid_through": worker.paid_through}
            worker.paid_through = bill.last_month
            # A sponsor period right after the paid months is paid too. No event of its own:
            # the collection's event below records paid_through, and takes the audit lock last.
            apply_sponsor_cover(session, worker, actor, record_event=False)
            books.on_collection(session, collection, bill=bill, member_first=worker.first_month)
            audit.record(session, actor, "collection.record", "collection",
                         collection.receipt_number, before=before,
                         after={"bill": bill.code, "amount": collection.amount,
                                "worker_id": worker.id, "paid_through": worker.paid_through})
    except IntegrityError:
        # A simultaneous submission won the race (PostgreSQL): answer as it was answered.
        session.rollback()
        earlier = _collection_by_key(session, idempotency_key)
        if earlier is not None:
            return _replay(earlier, agent_id, code)
        paid = session.scalars(select(Collection).join(Bill).where(Bill.code == code)).first()
        if paid is not None:
            raise AlreadyPaid(paid)
        raise
    return collection, True


def _replay(collection: Collection, agent_id: int, code: str) -> tuple[Collection, bool]:
    """The first answer again, but only for the same agent and the same code: a key that was
    used for another bill must never pass off that bill's receipt as this one's."""
    if collection.agent_id != agent_id or collection.bill.code != code:
        raise DomainError(USED_FORM, status_code=409)
    return collection, False
