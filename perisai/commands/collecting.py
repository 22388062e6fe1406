"""Recording cash against a bill: once per bill, once per idempotency key, all or nothing."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..domain import N_, Conflict, DomainError
from ..domain.bills import UNKNOWN_CODE, check_amount, check_collector, check_payable, effective_status
from ..domain.clock import utcnow
from ..domain.codes import RECEIPT_NUMBER_LENGTH, random_number
from ..domain.inputs import require_form_key
from ..domain.lateness import check_taken_at, review_for
from ..domain.status import membership_status
from ..domain.statuses import BillStatus
from ..models import Bill, Collection, SponsoredEntry, User, Worker
from . import Actor, audit, books
from .sponsorship import apply_sponsor_cover
from .tx import lock, retry_transient, write_transaction

USED_FORM = N_("Formulir ini sudah dipakai. Muat ulang halaman, lalu coba lagi.")


class AlreadyPaid(Conflict):
    """The bill was paid by another submission; `collection` is the payment on record."""

    def __init__(self, collection: Collection):
        super().__init__("Kode ini sudah dibayar. Tidak boleh menerima uang dua kali.")
        self.collection = collection


class KeyUsed(Conflict):
    """The form's key was used already for another payment (another code or amount).
    `collection` is that first payment when the same agent made it, else None."""

    def __init__(self, collection: Collection | None):
        super().__init__(USED_FORM)
        self.collection = collection


class _ReceiptTaken(Exception):
    """The random receipt number drawn was another payment's: the payment is made again."""


# Tries of a receipt number. 11 random digits: with 50,000,000 payments on record, one draw in
# 1,800 is taken, and three in a row one in 6 billion.
RECEIPT_TRIES = 3


def _receipt_taken(error: IntegrityError) -> bool:
    """The unique receipt number refused the row (PostgreSQL names the constraint, SQLite the
    column)."""
    return "receipt_number" in str(error.orig)


def _collection_by_key(session: Session, key: str) -> Collection | None:
    return session.scalars(select(Collection).where(Collection.idempotency_key == key)).first()


@retry_transient
def collect(session: Session, *, code: str, amount: int, idempotency_key: str,
            agent: User, actor: Actor, today: date,
            now: datetime | None = None,
            taken_at: datetime | None = None) -> tuple[Collection, bool]:
    """Record the cash. Returns (collection, created). A retry with the same key and content
    returns the first collection with created=False (same key, other content: KeyUsed);
    another payment of a paid bill raises AlreadyPaid.

    `taken_at` (naive UTC) is when the agent took the cash while offline; the cash counts from
    then, and the arrival time is kept beside it (`domain.lateness`).

    The receipt number is drawn at random and not looked up first: the unique constraint
    refuses one already taken, and then the whole payment (rolled back) is made again with
    another, which saves every payment a statement."""
    for attempt in range(1, RECEIPT_TRIES + 1):
        try:
            return _collect(session, code=code, amount=amount, idempotency_key=idempotency_key,
                            agent=agent, actor=actor, today=today, now=now, taken_at=taken_at)
        except _ReceiptTaken as taken:
            if attempt == RECEIPT_TRIES:
                raise taken.__cause__ from None
    raise AssertionError("unreachable")


def _collect(session: Session, *, code: str, amount: int, idempotency_key: str,
             agent: User, actor: Actor, today: date, now: datetime | None,
             taken_at: datetime | None) -> tuple[Collection, bool]:
    require_form_key(idempotency_key)
    agent_id, branch_id = agent.id, agent.branch_id
    earlier = _collection_by_key(session, idempotency_key)
    if earlier is not None:
        return _replay(earlier, agent_id, code, amount)
    try:
        with write_transaction(session):
            now = now or utcnow()
            # The worker before its bill, as everywhere (commands.tx, lock order): the bill is
            # found without a lock, inside the statement that locks its worker.
            # Beside it, whether a sponsor list ever named the worker (most never are, and then
            # the list is not read after the payment), and the branch's time zone and the
            # worker's first month as a member, which its books need.
            found = session.execute(lock(select(
                Worker, select(SponsoredEntry.id).where(SponsoredEntry.nik == Worker.nik).exists(),
                *books.zone_and_member_since_sql(branch_id)).where(Worker.id == select(
                    Bill.worker_id).where(Bill.code == code).scalar_subquery()), session)).first()
            if found is None:
                raise DomainError(UNKNOWN_CODE, status_code=404)
            worker, listed, zone, member_first = found
            bill = session.scalars(lock(select(Bill).where(Bill.code == code), session)).one()
            check_collector(bill_branch_id=bill.branch_id, bill_agent_id=bill.agent_id,
                            agent_id=agent_id, branch_id=branch_id)
            taken = check_taken_at(taken_at, bill_created=bill.created_at, now=now)
            # A code still open when the cash was taken offline is honoured after it expired.
            state = effective_status(bill.status, bill.expires_at, taken)
            if state == BillStatus.PAID:
                paid = session.scalars(select(Collection).where(Collection.bill_id == bill.id)).one()
                if paid.idempotency_key == idempotency_key:
                    return _replay(paid, agent_id, code, amount)
                raise AlreadyPaid(paid)
            check_payable(state)
            check_amount(amount, bill.amount)
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
            receipt = random_number(RECEIPT_NUMBER_LENGTH)
            collection = Collection(
                receipt_number=receipt, bill_id=bill.id,
                idempotency_key=idempotency_key, agent_id=agent_id, branch_id=branch_id,
                worker_id=worker.id, amount=bill.amount, months=bill.months,
                first_month=bill.first_month, last_month=bill.last_month, collected_at=taken,
                received_at=now, late_review=review_for(taken, now))
            session.add(collection)
            session.flush()
            before = {"paid_through": worker.paid_through}
            worker.paid_through = bill.last_month
            # A sponsor period right after the paid months is paid too. No event of its own:
            # the collection's event below records paid_through, and takes the audit lock last.
            apply_sponsor_cover(session, worker, actor, record_event=False,
                                entries=None if listed else ())
            books.on_collection(session, collection, bill=bill,
                                zone_and_member_since=(zone, member_first))
            audit.record(session, actor, "collection.record", "collection",
                         collection.receipt_number, before=before,
                         after={"bill": bill.code, "amount": collection.amount,
                                "worker_id": worker.id, "paid_through": worker.paid_through,
                                **({"taken_at": taken} if taken != now else {})})
    except IntegrityError as error:
        # A simultaneous submission won the race (PostgreSQL): answer as it was answered.
        session.rollback()
        earlier = _collection_by_key(session, idempotency_key)
        if earlier is not None:
            return _replay(earlier, agent_id, code, amount)
        paid = session.scalars(select(Collection).join(Bill).where(Bill.code == code)).first()
        if paid is not None:
            raise AlreadyPaid(paid)
        if _receipt_taken(error):
            raise _ReceiptTaken from error
        raise
    # The commit expired the collection. Its receipt number, all a redirect to the slip needs,
    # is known: it is put back as loaded rather than read again (the rest loads when asked).
    set_committed_value(collection, "receipt_number", receipt)
    return collection, True


def _replay(collection: Collection, agent_id: int, code: str,
            amount: int) -> tuple[Collection, bool]:
    """The first answer again, but only for the same agent, code and amount: a key that was
    used for another payment must never pass off that payment's receipt as this one's. The
    agent who made the first payment is told its receipt number; another agent nothing."""
    if collection.agent_id != agent_id:
        raise KeyUsed(None)
    if collection.bill.code != code or collection.amount != amount:
        raise KeyUsed(collection)
    return collection, False
