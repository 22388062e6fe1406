"""A supervisor's look at a collection that reached the server more than 72 hours after the
cash was taken (`domain.lateness`): recorded, audited, once."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain import N_, DomainError
from ..domain.statuses import LateReview
from ..models import Collection, User
from . import Actor, audit
from .tx import write_transaction

NOT_WAITING = N_("Pembayaran ini tidak menunggu pemeriksaan.")


def mark_late_seen(session: Session, receipt_number: str, *, supervisor: User,
                   actor: Actor) -> Collection:
    branch_id = supervisor.branch_id
    with write_transaction(session):
        collection = session.scalars(select(Collection).where(
            Collection.receipt_number == receipt_number,
            Collection.branch_id == branch_id)).first()
        if collection is None:
            raise DomainError("Tidak ditemukan.", status_code=404)
        marked = session.execute(update(Collection).where(
            Collection.id == collection.id, Collection.late_review == LateReview.PENDING)
            .values(late_review=LateReview.SEEN))
        if marked.rowcount != 1:
            raise DomainError(NOT_WAITING, status_code=409)
        audit.record(session, actor, "collection.late_seen", "collection", receipt_number,
                     before={"late_review": LateReview.PENDING},
                     after={"late_review": LateReview.SEEN, "taken_at": collection.collected_at,
                            "received_at": collection.received_at})
    session.refresh(collection)
    return collection
