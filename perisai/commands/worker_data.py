"""Updating a member's data ("Pengkinian Data") and deciding a change of heir.

The owner agent updates phone, address, occupation, income and programs at once; each changed
field becomes a row of `worker_changes` (never edited) and an audit event. Codes issued from
then on are priced from the new data (`queries.bills.quote` reads the worker row); an open code
keeps the amount it was issued with.

A change of heir is the one the death benefit invites fraud on, so it waits for a second person
(maker-checker, as reversals): a supervisor of the worker's branch, never the agent who asked.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError
from ..domain.checklist import DataUpdate
from ..domain.clock import utcnow
from ..domain.reversals import clean_reason
from ..domain.statuses import HeirChangeStatus
from ..models import Heir, HeirChange, User, Worker, WorkerChange
from . import Actor, audit
from .tx import lock, write_transaction

# The worker row's columns an update may change, in the order the history lists them.
DATA_FIELDS = ("phone", "address", "occupation", "occupation2", "declared_income", "programs")
HEIR_PENDING = "Perubahan ahli waris untuk pekerja ini sudah menunggu pengawas."
NOT_FOUND = "Permintaan perubahan ahli waris tidak ditemukan."
ALREADY_DECIDED = "Permintaan ini sudah diputuskan; tidak ada yang berubah."


def _stored(value) -> str | None:
    return None if value is None else str(value)


def heir_text(name: str, relation: str) -> str:
    return f"{name} ({relation})"


def _current_heir(session: Session, worker_id: int) -> tuple[str, str]:
    heir = session.scalars(select(Heir).where(Heir.worker_id == worker_id)
                           .order_by(Heir.id).limit(1)).first()
    return (heir.name, heir.relation) if heir is not None else ("", "")


def _pending(session: Session, worker_id: int) -> HeirChange | None:
    return session.scalars(lock(select(HeirChange).where(
        HeirChange.worker_id == worker_id, HeirChange.status == HeirChangeStatus.PENDING),
        session)).first()


def update_worker_data(session: Session, worker_id: int, update: DataUpdate, *, agent: User,
                       actor: Actor, now: datetime | None = None) -> tuple[list[WorkerChange],
                                                                            HeirChange | None]:
    """Apply the agent's update: the changed fields at once, a changed heir as a request.

    Returns the changes recorded and the heir request made (None when the heir is unchanged).
    Sending the same data again changes nothing and records nothing."""
    agent_id = agent.id
    try:
        with write_transaction(session):
            now = now or utcnow()
            worker = session.scalars(lock(select(Worker).where(Worker.id == worker_id),
                                          session)).first()
            if worker is None or worker.agent_id != agent_id:
                raise DomainError("Pekerja tidak ditemukan.", status_code=404)
            changes = []
            for name in DATA_FIELDS:
                old, new = getattr(worker, name), getattr(update, name)
                if old != new:
                    changes.append(WorkerChange(worker_id=worker.id, field=name,
                                                old_value=_stored(old), new_value=_stored(new),
                                                changed_by_id=agent_id, changed_at=now))
                    setattr(worker, name, new)
            request = _heir_request(session, worker, update, agent_id=agent_id, now=now)
            if not changes and request is None:
                return [], None
            session.add_all(changes)
            session.flush()
            after = {change.field: change.new_value for change in changes}
            if request is False:
                after["heir_change_withdrawn"] = True
            elif request is not None:
                after["heir_change_id"] = request.id
            audit.record(session, actor, "worker.update", "worker", worker.id,
                         before={change.field: change.old_value for change in changes},
                         after=after)
    except IntegrityError as error:
        # Another request for a change of heir of this worker got in first (one pending each).
        session.rollback()
        raise Conflict(HEIR_PENDING) from error
    return changes, request or None


def _heir_request(session: Session, worker: Worker, update: DataUpdate, *, agent_id: int,
                  now: datetime):
    """A new pending change of heir, False when only a pending one was withdrawn, None when
    the heir asked for is the one in force or already waiting."""
    wanted = (update.heir_name, update.heir_relation)
    current = _current_heir(session, worker.id)
    pending = _pending(session, worker.id)
    if pending is not None and (pending.new_name, pending.new_relation) == wanted:
        return None
    if pending is not None:
        # The agent asks for another heir (or the one in force again) before a decision: the
        # older request is withdrawn, kept, and no longer decidable.
        pending.status = HeirChangeStatus.WITHDRAWN
        pending.decided_at = now
        session.flush()
    if wanted == current:
        return False if pending is not None else None
    request = HeirChange(worker_id=worker.id, branch_id=worker.branch_id, old_name=current[0],
                         old_relation=current[1], new_name=wanted[0], new_relation=wanted[1],
                         requested_by_id=agent_id, requested_at=now,
                         status=HeirChangeStatus.PENDING)
    session.add(request)
    session.flush()
    return request


def _for_decision(session: Session, heir_change_id: int, supervisor: User) -> HeirChange:
    change = session.scalars(lock(select(HeirChange).where(HeirChange.id == heir_change_id),
                                  session)).first()
    if change is None or not supervisor.is_supervisor or change.branch_id != supervisor.branch_id:
        raise DomainError(NOT_FOUND, status_code=404)
    if change.requested_by_id == supervisor.id:
        raise DomainError("Permintaan sendiri tidak boleh disetujui atau ditolak sendiri.",
                          status_code=403)
    if change.status != HeirChangeStatus.PENDING:
        raise Conflict(ALREADY_DECIDED)
    return change


def _decided(change: HeirChange, status: HeirChangeStatus, supervisor_id: int, note: str | None,
             now: datetime) -> None:
    change.status = status
    change.decided_by_id = supervisor_id
    change.decided_at = now
    change.decision_note = note


def approve_heir_change(session: Session, heir_change_id: int, *, supervisor: User, actor: Actor,
                        note: str | None = None, now: datetime | None = None) -> HeirChange:
    """The heir asked for becomes the heir in force, and the change enters the history."""
    note = clean_reason(note, required=False)
    supervisor_id = supervisor.id
    with write_transaction(session):
        now = now or utcnow()
        change = _for_decision(session, heir_change_id, supervisor)
        session.scalars(lock(select(Worker).where(Worker.id == change.worker_id), session)).one()
        old = _current_heir(session, change.worker_id)
        # The heir rows hold the heir in force (one, as registration names one); the history is
        # in heir_changes and worker_changes.
        session.execute(delete(Heir).where(Heir.worker_id == change.worker_id))
        session.add(Heir(worker_id=change.worker_id, name=change.new_name,
                         relation=change.new_relation))
        _decided(change, HeirChangeStatus.APPROVED, supervisor_id, note, now)
        session.add(WorkerChange(worker_id=change.worker_id, field="heir",
                                 old_value=heir_text(*old) if old[0] else None,
                                 new_value=heir_text(change.new_name, change.new_relation),
                                 changed_by_id=change.requested_by_id,
                                 approved_by_id=supervisor_id, changed_at=now))
        session.flush()
        audit.record(session, actor, "heir.approve", "worker", change.worker_id,
                     before={"heir": heir_text(*old) if old[0] else None,
                             "status": HeirChangeStatus.PENDING},
                     after={"heir": heir_text(change.new_name, change.new_relation),
                            "heir_change_id": change.id, "status": HeirChangeStatus.APPROVED,
                            "note": note})
    return change


def reject_heir_change(session: Session, heir_change_id: int, *, supervisor: User, actor: Actor,
                       note: str | None = None, now: datetime | None = None) -> HeirChange:
    note = clean_reason(note, required=False)
    supervisor_id = supervisor.id
    with write_transaction(session):
        now = now or utcnow()
        change = _for_decision(session, heir_change_id, supervisor)
        _decided(change, HeirChangeStatus.REJECTED, supervisor_id, note, now)
        audit.record(session, actor, "heir.reject", "worker", change.worker_id,
                     before={"status": HeirChangeStatus.PENDING},
                     after={"heir_change_id": change.id, "status": HeirChangeStatus.REJECTED,
                            "note": note})
    return change
