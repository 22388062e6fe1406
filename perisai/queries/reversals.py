"""Reversal requests as the receipt page and the supervisor's queue show them."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..domain import DomainError
from ..domain.statuses import ReversalStatus
from ..models import Collection, Reversal, User
from . import reversed_collection_ids


def latest_valid_collection(session: Session, worker_id: int) -> Collection | None:
    """The worker's collection covering the latest months that has not been reversed."""
    return session.scalars(
        select(Collection).where(Collection.worker_id == worker_id,
                                 Collection.id.not_in(reversed_collection_ids()))
        .order_by(Collection.last_month.desc(), Collection.collected_at.desc(),
                  Collection.id.desc()).limit(1)).first()


def latest_for_collection(session: Session, collection_id: int) -> Reversal | None:
    return session.scalars(select(Reversal).where(Reversal.collection_id == collection_id)
                           .order_by(Reversal.requested_at.desc(), Reversal.id.desc())
                           .limit(1)).first()


def visible_reversal(session: Session, reversal_id: int, user: User) -> Reversal:
    reversal = session.scalars(select(Reversal).where(Reversal.id == reversal_id).options(
        joinedload(Reversal.collection).joinedload(Collection.worker),
        joinedload(Reversal.requested_by))).first()
    if reversal is None or reversal.branch_id != user.branch_id:
        raise DomainError("Permintaan pembatalan tidak ditemukan.", status_code=404)
    return reversal


def pending_reversals(session: Session, branch_id: int, agent_id: int | None = None,
                      limit: int | None = None) -> list[Reversal]:
    """The branch's reversals waiting for a supervisor (only those of payments one agent
    took, given `agent_id`), the oldest first (only the first `limit`)."""
    only = () if agent_id is None else (
        Reversal.collection_id.in_(select(Collection.id).where(Collection.agent_id == agent_id)),)
    return list(session.scalars(
        select(Reversal).where(Reversal.branch_id == branch_id,
                               Reversal.status == ReversalStatus.PENDING, *only)
        .options(joinedload(Reversal.collection).joinedload(Collection.worker),
                 joinedload(Reversal.requested_by))
        .order_by(Reversal.requested_at, Reversal.id).limit(limit)).all())
