"""Recording cash against a bill: once per bill, once per idempotency key, all or nothing."""
from __future__ import annotations

import re
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError
from ..domain.clock import utcnow
from ..domain.codes import BILL_CODE_LENGTH, RECEIPT_NUMBER_LENGTH, is_well_formed, normalise, random_number
from ..domain.rates import rupiah
from ..domain.status import membership_status
from ..models import Bill, Branch, Collection, User, Worker
from . import Actor, agent_months, audit, incentives, ledger
from .billing import effective_status
from .tx import lock, write_transaction

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_\-]{16,64}")


class AlreadyPaid(Conflict):
    """The bill was paid by another submission; `collection` is the payment on record."""

    def __init__(self, collection: Collection):
        super().__init__("Kode ini sudah dibayar. Tidak boleh menerima uang dua kali.")
        self.collection = collection


def parse_code(typed: str) -> str:
    """The code as digits, or DomainError when it cannot be a code (before any lookup)."""
    code = normalise(typed)
    if not code:
        raise DomainError("Isi kode bayar.")
    if not (code.isascii() and code.isdigit()):
        raise DomainError("Kode bayar hanya berisi angka.")
    if len(code) != BILL_CODE_LENGTH:
        raise DomainError(f"Kode bayar harus {BILL_CODE_LENGTH} angka (yang diisi {len(code)}).")
    if not is_well_formed(code, BILL_CODE_LENGTH):
        raise DomainError("Kode bayar salah ketik: angka pemeriksa tidak cocok. "
                          "Periksa lagi angka di kertas tagihan.")
    return code


UNKNOWN_CODE = "Kode bayar tidak dikenal. Periksa lagi angka di kertas tagihan."


def check_collector(bill: Bill, agent_id: int, branch_id: int | None) -> None:
    """Only the agent who looks after the worker takes the cash: the worker's record, the
    incentive and the agent's cash on hand stay in one pair of hands. The answer names no
    worker (409: the code is real but not this agent's to collect)."""
    if bill.branch_id != branch_id:
        raise Conflict("Kode ini milik pekerja cabang lain dan tidak bisa dibayar di sini.")
    if bill.agent_id != agent_id:
        raise Conflict("Kode ini milik pekerja agen lain. Hanya agen yang mendaftarkan pekerja "
                       "ini yang bisa menerima iurannya.")


def find_bill_for_agent(session: Session, code: str, agent: User) -> Bill:
    bill = session.scalars(select(Bill).where(Bill.code == code)).first()
    if bill is None:
        raise DomainError(UNKNOWN_CODE, status_code=404)
    check_collector(bill, agent.id, agent.branch_id)
    return bill


def _receipt_number(session: Session) -> str:
    while True:
        number = random_number(RECEIPT_NUMBER_LENGTH)
        if session.scalar(select(Collection.id).where(Collection.receipt_number == number)) is None:
            return number


def _collection_by_key(session: Session, key: str) -> Collection | None:
    return session.scalars(select(Collection).where(Collection.idempotency_key == key)).first()


def collect(session: Session, *, code: str, amount: int, idempotency_key: str, agent: User,
            actor: Actor, today: date, now: datetime | None = None) -> tuple[Collection, bool]:
    """Record the cash. Returns (collection, created). A retry with the same key returns the
    first collection with created=False; another payment of a paid bill raises AlreadyPaid."""
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key or ""):
        raise DomainError("Formulir ini sudah usang. Muat ulang halaman, lalu coba lagi.")
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
            check_collector(bill, agent_id, branch_id)
            state = effective_status(bill, now)
            if state == "paid":
                paid = session.scalars(select(Collection).where(Collection.bill_id == bill.id)).one()
                if paid.idempotency_key == idempotency_key:
                    return _replay(paid, agent_id, code)
                raise AlreadyPaid(paid)
            if state == "expired":
                raise Conflict("Kode ini sudah kedaluwarsa (berlaku 7 hari). Buat kode baru di "
                               "halaman pekerja.")
            if state != "open":
                raise Conflict("Kode ini sudah tidak berlaku (diganti kode baru atau dibatalkan). "
                               "Pakai kode terbaru dari halaman pekerja.")
            if amount != bill.amount:
                raise DomainError(f"Jumlah uang harus sama dengan tagihan: {rupiah(bill.amount)} "
                                  f"(yang diisi {rupiah(amount)}).")
            worker = session.scalars(lock(select(Worker).where(Worker.id == bill.worker_id),
                                          session)).one()
            status = membership_status(worker.first_month, worker.paid_through, today)
            if not status.can_bill:
                raise Conflict(status.explanation)
            if status.first_unpaid != bill.first_month:
                raise Conflict("Kode ini tidak cocok lagi dengan bulan yang belum dibayar. "
                               "Buat kode baru di halaman pekerja.")
            closed = session.execute(update(Bill).where(Bill.id == bill.id, Bill.status == "open")
                                     .values(status="paid", closed_at=now))
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
            from .sponsorship import apply_sponsor_cover
            apply_sponsor_cover(session, worker, actor, record_event=False)
            ledger.post(session, agent_id=agent_id, branch_id=branch_id, kind="collection",
                        amount=collection.amount, collection_id=collection.id, at=now)
            zone = session.get(Branch, branch_id).timezone
            incentives.tally(session, agent_id=agent_id, collected_at=now, zone=zone,
                             member_first=worker.first_month, breakdown=bill.breakdown)
            agent_months.record(session, agent_id=agent_id, branch_id=branch_id, at=now,
                                zone=zone, collections=1, collected=collection.amount)
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
        raise DomainError("Formulir ini sudah dipakai. Muat ulang halaman, lalu coba lagi.",
                          status_code=409)
    return collection, False
