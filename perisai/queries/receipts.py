"""Receipts (collections) as the slip, the worker page and the public checks show them."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import N_, DomainError
from ..domain.statuses import ReversalStatus
from ..models import Collection, Reversal, User, Worker

NOT_FOUND = N_("Kuitansi tidak ditemukan.")


def by_number(session: Session, number: str) -> Collection | None:
    return session.scalars(select(Collection).where(
        Collection.receipt_number == number[:20])).first()


def visible_receipt(session: Session, number: str, user: User) -> Collection:
    """The slip for the agent who collected it or a supervisor of its branch; 404 otherwise."""
    collection = by_number(session, number)
    allowed = collection is not None and (
        (user.is_agent and collection.agent_id == user.id)
        or (user.is_supervisor and collection.branch_id == user.branch_id))
    if not allowed:
        raise DomainError(NOT_FOUND, status_code=404)
    return collection


def own_receipt(session: Session, number: str, agent: User) -> Collection:
    """A receipt the agent itself collected; 404 otherwise."""
    collection = by_number(session, number)
    if collection is None or collection.agent_id != agent.id:
        raise DomainError(NOT_FOUND, status_code=404)
    return collection


def is_reversed(session: Session, collection: Collection) -> bool:
    return session.scalar(select(Reversal.id).where(
        Reversal.collection_id == collection.id,
        Reversal.status == ReversalStatus.APPROVED)) is not None


def recent_collections(session: Session, worker_id: int, limit: int = 12) -> list[Collection]:
    return list(session.scalars(select(Collection).where(Collection.worker_id == worker_id)
                                .order_by(Collection.collected_at.desc()).limit(limit)).all())


def receipt_for_worker(session: Session, number: str, birth_date: date) -> Collection | None:
    """The public check: a receipt whose worker was born on `birth_date`, or None. One query
    with both conditions: an unknown receipt and a wrong birth date get the same answer after
    the same work (a second query for the worker would tell them apart by time)."""
    return session.scalars(select(Collection).join(Worker, Worker.id == Collection.worker_id)
                           .where(Collection.receipt_number == number[:20],
                                  Worker.birth_date == birth_date)).first()


def member_for_check(session: Session, member_number: str, birth_date: date) -> Worker | None:
    """The public status check: the member with this number born on `birth_date`, or None."""
    worker = session.scalars(select(Worker).where(Worker.member_number == member_number)).first()
    if worker is not None and worker.birth_date != birth_date:
        return None
    return worker


def worker_by_nik(session: Session, nik: str) -> Worker | None:
    return session.scalars(select(Worker).where(Worker.nik == nik)).first()
