"""Reversals (maker-checker): the collecting agent asks, a supervisor of the branch decides.

Approval cancels the bill, moves the member's paid-through month back and takes the amount off
the agent's cash, all in one transaction. Nothing is deleted: the collection stays, and the
reversal and its ledger entry are new rows.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import N_, Conflict, DomainError
from ..domain.clock import utcnow
from ..domain.reversals import check_this_membership, clean_reason, paid_through_after
from ..domain.statuses import BillStatus, ReversalStatus
from ..domain.text import Money, Month
from ..models import Bill, Branch, Collection, Reversal, User, Worker
from ..queries.reversals import latest_valid_collection
from . import Actor, audit, books
from .tx import lock, retry_transient, write_transaction

ALREADY_PENDING = N_("Pembatalan pembayaran ini sudah diminta dan menunggu pengawas.")
ALREADY_DECIDED = {
    ReversalStatus.APPROVED: N_("Permintaan ini sudah diputuskan (disetujui, dibatalkan); tidak "
                                "ada yang berubah."),
    ReversalStatus.REJECTED: N_("Permintaan ini sudah diputuskan (ditolak); tidak ada yang berubah."),
}


def _must_be_latest(session: Session, collection: Collection) -> None:
    latest = latest_valid_collection(session, collection.worker_id)
    if latest is not None and latest.id != collection.id:
        raise Conflict("Hanya pembayaran terakhir pekerja ini yang bisa dibatalkan (kuitansi "
                       "%(receipt)s, %(month)s). Batalkan yang terakhir dulu, atau hubungi pengawas.",
                       receipt=latest.receipt_number, month=Month(latest.first_month))


@retry_transient
def request_reversal(session: Session, receipt_number: str, *, agent: User, reason: str | None,
                     actor: Actor, now: datetime | None = None) -> Reversal:
    agent_id = agent.id
    reason = clean_reason(reason, required=True)
    try:
        with write_transaction(session):
            now = now or utcnow()
            collection = session.scalars(lock(select(Collection).where(
                Collection.receipt_number == receipt_number), session)).first()
            if collection is None or collection.agent_id != agent_id:
                raise DomainError("Kuitansi tidak ditemukan.", status_code=404)
            states = set(session.scalars(select(Reversal.status).where(
                Reversal.collection_id == collection.id)))
            if ReversalStatus.APPROVED in states:
                raise Conflict("Pembayaran ini sudah dibatalkan.")
            if ReversalStatus.PENDING in states:
                raise Conflict(ALREADY_PENDING)
            _must_be_latest(session, collection)
            check_this_membership(collection.first_month,
                                  session.get(Worker, collection.worker_id).first_month)
            if collection.branch_id != agent.branch_id:
                _refuse_other_branch(session, collection)
            reversal = Reversal(collection_id=collection.id, branch_id=collection.branch_id,
                                requested_by_id=agent_id, reason=reason, requested_at=now,
                                status=ReversalStatus.PENDING)
            session.add(reversal)
            session.flush()
            audit.record(session, actor, "reversal.request", "collection",
                         collection.receipt_number,
                         after={"reversal_id": reversal.id, "reason": reason,
                                "amount": collection.amount})
    except IntegrityError as error:
        # Another request for the same receipt got in first (one pending per collection).
        session.rollback()
        raise Conflict(ALREADY_PENDING) from error
    return reversal


def _refuse_other_branch(session: Session, collection: Collection):
    """The receipt's branch decides a reversal and settles its cash: the agent's cash in that
    branch pays it back, never cash collected in another. An agent that moved branch left the
    old branch with empty hands, so a receipt from there is refunded by that branch."""
    branch = session.get(Branch, collection.branch_id)
    raise Conflict("Kuitansi %(receipt)s dicatat di %(branch)s, sebelum agen pindah cabang, dan "
                   "uangnya sudah disetor ke cabang itu. Pembatalan ini tidak bisa lewat "
                   "aplikasi: %(branch)s yang mengembalikan uang ke pekerja.",
                   receipt=collection.receipt_number, branch=branch.name)


def _for_decision(session: Session, reversal_id: int, supervisor: User) -> Reversal:
    reversal = session.scalars(lock(select(Reversal).where(Reversal.id == reversal_id),
                                    session)).first()
    if reversal is None or not supervisor.is_supervisor or reversal.branch_id != supervisor.branch_id:
        raise DomainError("Permintaan pembatalan tidak ditemukan.", status_code=404)
    if reversal.requested_by_id == supervisor.id:
        raise DomainError("Permintaan sendiri tidak boleh disetujui atau ditolak sendiri.",
                          status_code=403)
    if reversal.status != ReversalStatus.PENDING:
        raise Conflict(ALREADY_DECIDED[reversal.status])
    return reversal


@retry_transient
def approve(session: Session, reversal_id: int, *, supervisor: User, actor: Actor,
            note: str | None = None, now: datetime | None = None) -> Reversal:
    note = clean_reason(note, required=False)
    with write_transaction(session):
        now = now or utcnow()
        reversal = _for_decision(session, reversal_id, supervisor)
        collection = session.scalars(lock(select(Collection).where(
            Collection.id == reversal.collection_id), session)).one()
        worker = session.scalars(lock(select(Worker).where(Worker.id == collection.worker_id),
                                      session)).one()
        bill = session.scalars(lock(select(Bill).where(Bill.id == collection.bill_id),
                                    session)).one()
        _must_be_latest(session, collection)
        check_this_membership(collection.first_month, worker.first_month)
        before = {"status": ReversalStatus.PENDING, "bill_status": bill.status,
                  "paid_through": worker.paid_through}
        worker.paid_through = paid_through_after(collection.first_month, worker.first_month)
        bill.status = BillStatus.CANCELLED
        # A code issued after this payment starts at the wrong month now: it can never be paid.
        # (The worker's bills before the agent's account: the lock order of commands.tx.)
        stale = session.scalars(select(Bill.code).where(Bill.worker_id == worker.id,
                                                        Bill.status == BillStatus.OPEN)).all()
        session.execute(update(Bill).where(Bill.worker_id == worker.id,
                                           Bill.status == BillStatus.OPEN)
                        .values(status=BillStatus.CANCELLED, closed_at=now))
        account = books.account_for_update(session, collection.agent_id)
        # Settled in the receipt's branch: only the agent's cash in that branch's books counts.
        held = min(account.cash_on_hand,
                   books.cash_in_branch(session, collection.agent_id, collection.branch_id))
        if held < collection.amount and session.get(User, collection.agent_id).branch_id \
                != collection.branch_id:
            _refuse_other_branch(session, collection)
        if held < collection.amount:
            raise Conflict(
                "Agen tidak lagi memegang %(amount)s (uang di tangan %(cash)s): uangnya sudah "
                "disetor. Pembatalan ini tidak bisa lewat aplikasi; cabang harus mengembalikan "
                "uang ke pekerja.", amount=Money(collection.amount),
                cash=Money(held))
        before["cash_on_hand"] = account.cash_on_hand
        # Approved before the ledger entry: the age of the cash left is worked out without it.
        reversal.status = ReversalStatus.APPROVED
        reversal.decided_by_id = supervisor.id
        reversal.decided_at = now
        reversal.decision_note = note
        session.flush()
        books.on_reversal(session, collection, bill=bill, at=now)
        audit.record(session, actor, "reversal.approve", "collection", collection.receipt_number,
                     before=before,
                     after={"reversal_id": reversal.id, "status": ReversalStatus.APPROVED,
                            "bill_status": BillStatus.CANCELLED,
                            "paid_through": worker.paid_through, "stale_codes_cancelled": stale,
                            "amount": collection.amount, "cash_on_hand": account.cash_on_hand})
    return reversal


@retry_transient
def reject(session: Session, reversal_id: int, *, supervisor: User, actor: Actor,
           reason: str | None = None, now: datetime | None = None) -> Reversal:
    reason = clean_reason(reason, required=False)
    with write_transaction(session):
        now = now or utcnow()
        reversal = _for_decision(session, reversal_id, supervisor)
        reversal.status = ReversalStatus.REJECTED
        reversal.decided_by_id = supervisor.id
        reversal.decided_at = now
        reversal.decision_note = reason
        receipt = session.scalar(select(Collection.receipt_number).where(
            Collection.id == reversal.collection_id))
        audit.record(session, actor, "reversal.reject", "collection", receipt,
                     before={"status": ReversalStatus.PENDING},
                     after={"reversal_id": reversal.id, "status": ReversalStatus.REJECTED,
                            "reason": reason})
    return reversal
