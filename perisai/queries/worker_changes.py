"""A member's data history and the changes of heir waiting for a supervisor."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..domain import DomainError
from ..domain.statuses import HeirChangeStatus
from ..models import HeirChange, User, Worker, WorkerChange

HISTORY_LINES = 30


def data_history(session: Session, worker_id: int, limit: int = HISTORY_LINES) -> list[WorkerChange]:
    """The newest changes of the member's data first: what, from, to, who, when."""
    return list(session.scalars(
        select(WorkerChange).where(WorkerChange.worker_id == worker_id)
        .options(joinedload(WorkerChange.changed_by), joinedload(WorkerChange.approved_by))
        .order_by(WorkerChange.changed_at.desc(), WorkerChange.id.desc()).limit(limit)).all())


def pending_heir_change(session: Session, worker_id: int) -> HeirChange | None:
    return session.scalars(select(HeirChange).where(
        HeirChange.worker_id == worker_id, HeirChange.status == HeirChangeStatus.PENDING)).first()


def decided_heir_changes(session: Session, worker_id: int, limit: int = 5) -> list[HeirChange]:
    """The newest requests for a change of heir that were decided (or withdrawn), with notes."""
    return list(session.scalars(
        select(HeirChange).where(HeirChange.worker_id == worker_id,
                                 HeirChange.status != HeirChangeStatus.PENDING)
        .options(joinedload(HeirChange.requested_by), joinedload(HeirChange.decided_by))
        .order_by(HeirChange.requested_at.desc(), HeirChange.id.desc()).limit(limit)).all())


def pending_heir_changes(session: Session, branch_id: int, agent_id: int | None = None,
                         limit: int | None = None) -> list[HeirChange]:
    """The branch's heir changes waiting for a supervisor (only those of one agent's members,
    given `agent_id`), the oldest first (only the first `limit`)."""
    only = () if agent_id is None else (
        HeirChange.worker_id.in_(select(Worker.id).where(Worker.agent_id == agent_id)),)
    return list(session.scalars(
        select(HeirChange).where(HeirChange.branch_id == branch_id,
                                 HeirChange.status == HeirChangeStatus.PENDING, *only)
        .options(joinedload(HeirChange.worker), joinedload(HeirChange.requested_by))
        .order_by(HeirChange.requested_at, HeirChange.id).limit(limit)).all())


def visible_heir_change(session: Session, heir_change_id: int, user: User) -> HeirChange:
    change = session.scalars(select(HeirChange).where(HeirChange.id == heir_change_id).options(
        joinedload(HeirChange.worker), joinedload(HeirChange.requested_by),
        joinedload(HeirChange.decided_by))).first()
    if change is None or change.branch_id != user.branch_id:
        raise DomainError("Permintaan perubahan ahli waris tidak ditemukan.", status_code=404)
    return change


def worker_by_member_number(session: Session, member_number: str) -> Worker | None:
    return session.scalars(select(Worker).where(Worker.member_number == member_number)).first()
