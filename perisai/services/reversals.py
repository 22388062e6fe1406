"""Reversals (maker-checker): the collecting agent asks, a supervisor of the branch decides.

Approval cancels the bill, moves the member's paid-through month back and takes the amount off
the agent's cash, all in one transaction. Nothing is deleted: the collection stays, and the
reversal and its ledger entry are new rows.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from ..domain import Conflict, DomainError, N_
from ..domain.clock import utcnow
from ..domain.months import add_months, month_label
from ..domain.rates import rupiah
from ..models import Bill, Branch, Collection, Reversal, User, Worker
from . import Actor, agent_months, audit, incentives, ledger
from .tx import lock, write_transaction

MAX_REASON = 500
STATUS_LABELS = {"pending": N_("Menunggu persetujuan pengawas"), "approved": N_("Disetujui, dibatalkan"),
                 "rejected": N_("Ditolak")}


def _clean_reason(reason: str | None, *, required: bool) -> str | None:
    reason = " ".join((reason or "").split())
    if not reason:
        if required:
            raise DomainError("Tulis alasan pembatalan (mis. kode salah, uang belum diterima).")
        return None
    if len(reason) > MAX_REASON:
        raise DomainError(f"Alasan paling panjang {MAX_REASON} karakter.")
    return reason


def latest_valid_collection(session: Session, worker_id: int) -> Collection | None:
    """The worker's collection covering the latest months that has not been reversed."""
    return session.scalars(
        select(Collection).where(Collection.worker_id == worker_id,
                                 Collection.id.not_in(ledger.reversed_collection_ids()))
        .order_by(Collection.last_month.desc(), Collection.collected_at.desc(),
                  Collection.id.desc()).limit(1)).first()


def _must_be_latest(session: Session, collection: Collection) -> None:
    latest = latest_valid_collection(session, collection.worker_id)
    if latest is not None and latest.id != collection.id:
        raise Conflict(f"Hanya pembayaran terakhir pekerja ini yang bisa dibatalkan (kuitansi "
                       f"{latest.receipt_number}, {month_label(latest.first_month)}). Batalkan "
                       "yang terakhir dulu, atau hubungi pengawas.")


def _must_be_this_membership(collection: Collection, worker: Worker) -> None:
    """A payment made before the member lapsed and registered again belongs to the old
    membership: undoing it cannot move the new one's months back."""
    if collection.first_month < worker.first_month:
        raise Conflict("Pembayaran ini dari kepesertaan lama, sebelum pekerja didaftarkan ulang; "
                       "tidak bisa dibatalkan lagi. Hubungi pengawas cabang.")


def paid_through_after(collection: Collection, worker_first_month: date) -> date | None:
    """The member's paid-through month once this (latest) collection no longer counts."""
    previous = add_months(collection.first_month, -1)
    return None if previous < worker_first_month else previous


def latest_for_collection(session: Session, collection_id: int) -> Reversal | None:
    return session.scalars(select(Reversal).where(Reversal.collection_id == collection_id)
                           .order_by(Reversal.requested_at.desc(), Reversal.id.desc())
                           .limit(1)).first()


def request_reversal(session: Session, receipt_number: str, *, agent: User, reason: str | None,
                     actor: Actor, now: datetime | None = None) -> Reversal:
    agent_id = agent.id
    reason = _clean_reason(reason, required=True)
    try:
        with write_transaction(session):
            now = now or utcnow()
            collection = session.scalars(lock(select(Collection).where(
                Collection.receipt_number == receipt_number), session)).first()
            if collection is None or collection.agent_id != agent_id:
                raise DomainError("Kuitansi tidak ditemukan.", status_code=404)
            states = set(session.scalars(select(Reversal.status).where(
                Reversal.collection_id == collection.id)))
            if "approved" in states:
                raise Conflict("Pembayaran ini sudah dibatalkan.")
            if "pending" in states:
                raise Conflict("Pembatalan pembayaran ini sudah diminta dan menunggu pengawas.")
            _must_be_latest(session, collection)
            _must_be_this_membership(collection, session.get(Worker, collection.worker_id))
            reversal = Reversal(collection_id=collection.id, branch_id=collection.branch_id,
                                requested_by_id=agent_id, reason=reason, requested_at=now,
                                status="pending")
            session.add(reversal)
            session.flush()
            audit.record(session, actor, "reversal.request", "collection",
                         collection.receipt_number,
                         after={"reversal_id": reversal.id, "reason": reason,
                                "amount": collection.amount})
    except IntegrityError as error:
        # Another request for the same receipt got in first (one pending per collection).
        session.rollback()
        raise Conflict("Pembatalan pembayaran ini sudah diminta dan menunggu pengawas.") from error
    return reversal


def _for_decision(session: Session, reversal_id: int, supervisor: User) -> Reversal:
    reversal = session.scalars(lock(select(Reversal).where(Reversal.id == reversal_id),
                                    session)).first()
    if reversal is None or not supervisor.is_supervisor or reversal.branch_id != supervisor.branch_id:
        raise DomainError("Permintaan pembatalan tidak ditemukan.", status_code=404)
    if reversal.requested_by_id == supervisor.id:
        raise DomainError("Permintaan sendiri tidak boleh disetujui atau ditolak sendiri.",
                          status_code=403)
    if reversal.status != "pending":
        raise Conflict(f"Permintaan ini sudah diputuskan ({STATUS_LABELS[reversal.status].lower()}); "
                       "tidak ada yang berubah.")
    return reversal


def approve(session: Session, reversal_id: int, *, supervisor: User, actor: Actor,
            note: str | None = None, now: datetime | None = None) -> Reversal:
    note = _clean_reason(note, required=False)
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
        _must_be_this_membership(collection, worker)
        account = ledger.account_for_update(session, collection.agent_id)
        if account.cash_on_hand < collection.amount:
            raise Conflict(
                f"Agen tidak lagi memegang {rupiah(collection.amount)} (uang di tangan "
                f"{rupiah(account.cash_on_hand)}): uangnya sudah disetor. Pembatalan ini tidak "
                "bisa lewat aplikasi; cabang harus mengembalikan uang ke pekerja.")
        before = {"status": "pending", "bill_status": bill.status,
                  "paid_through": worker.paid_through, "cash_on_hand": account.cash_on_hand}
        worker.paid_through = paid_through_after(collection, worker.first_month)
        bill.status = "cancelled"
        # A code issued after this payment starts at the wrong month now: it can never be paid.
        stale = session.scalars(select(Bill.code).where(Bill.worker_id == worker.id,
                                                        Bill.status == "open")).all()
        session.execute(update(Bill).where(Bill.worker_id == worker.id, Bill.status == "open")
                        .values(status="cancelled", closed_at=now))
        # Approved before the ledger entry: the age of the cash left is worked out without it.
        reversal.status = "approved"
        reversal.decided_by_id = supervisor.id
        reversal.decided_at = now
        reversal.decision_note = note
        session.flush()
        ledger.post(session, agent_id=collection.agent_id, branch_id=collection.branch_id,
                    kind="reversal", amount=-collection.amount, collection_id=collection.id,
                    at=now)
        zone = session.get(Branch, collection.branch_id).timezone
        incentives.tally(session, agent_id=collection.agent_id,
                         collected_at=collection.collected_at, zone=zone,
                         member_first=worker.first_month, breakdown=bill.breakdown, sign=-1)
        agent_months.record(session, agent_id=collection.agent_id,
                            branch_id=collection.branch_id, at=collection.collected_at,
                            zone=zone, collections=-1, collected=-collection.amount)
        audit.record(session, actor, "reversal.approve", "collection", collection.receipt_number,
                     before=before,
                     after={"reversal_id": reversal.id, "status": "approved",
                            "bill_status": "cancelled", "paid_through": worker.paid_through,
                            "stale_codes_cancelled": stale,
                            "amount": collection.amount, "cash_on_hand": account.cash_on_hand})
    return reversal


def reject(session: Session, reversal_id: int, *, supervisor: User, actor: Actor,
           reason: str | None = None, now: datetime | None = None) -> Reversal:
    reason = _clean_reason(reason, required=False)
    with write_transaction(session):
        now = now or utcnow()
        reversal = _for_decision(session, reversal_id, supervisor)
        reversal.status = "rejected"
        reversal.decided_by_id = supervisor.id
        reversal.decided_at = now
        reversal.decision_note = reason
        receipt = session.scalar(select(Collection.receipt_number).where(
            Collection.id == reversal.collection_id))
        audit.record(session, actor, "reversal.reject", "collection", receipt,
                     before={"status": "pending"},
                     after={"reversal_id": reversal.id, "status": "rejected", "reason": reason})
    return reversal


def visible_reversal(session: Session, reversal_id: int, user: User) -> Reversal:
    reversal = session.scalars(select(Reversal).where(Reversal.id == reversal_id).options(
        joinedload(Reversal.collection).joinedload(Collection.worker),
        joinedload(Reversal.requested_by))).first()
    if reversal is None or reversal.branch_id != user.branch_id:
        raise DomainError("Permintaan pembatalan tidak ditemukan.", status_code=404)
    return reversal
