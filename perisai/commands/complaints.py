"""Complaints: a worker files one from a public page; a supervisor of the agent's branch
resolves it with a note the worker reads on the ticket page."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError
from ..domain.clock import utcnow
from ..domain.complaints import clean_message, clean_phone, clean_resolution, new_ticket
from ..domain.statuses import ComplaintStatus
from ..models import Collection, Complaint, User, Worker
from . import Actor, audit
from .tx import lock, write_transaction


def file_complaint(session: Session, *, worker: Worker, collection: Collection | None,
                   message: str | None, phone: str | None, actor: Actor,
                   now: datetime | None = None) -> Complaint:
    """The agent concerned is the one who took the payment named, else the member's agent; the
    complaint goes to that agent's branch (where its supervisor can act on it)."""
    message = clean_message(message)
    phone = clean_phone(phone)
    agent_id = collection.agent_id if collection is not None else worker.agent_id
    for _ in range(3):  # a ticket collision is astronomically rare; try again rather than fail
        try:
            with write_transaction(session):
                agent = session.get(User, agent_id)
                complaint = Complaint(ticket=new_ticket(), worker_id=worker.id, agent_id=agent.id,
                                      branch_id=agent.branch_id,
                                      collection_id=collection.id if collection else None,
                                      message=message, phone=phone,
                                      status=ComplaintStatus.OPEN, created_at=now or utcnow())
                session.add(complaint)
                session.flush()
                audit.record(session, actor, "complaint.file", "complaint", complaint.id,
                             after={"ticket": complaint.ticket, "agent_id": agent.id,
                                    "worker_id": worker.id,
                                    "receipt": collection.receipt_number if collection else None})
            return complaint
        except IntegrityError:
            continue
    raise Conflict("Laporan belum tersimpan. Coba kirim lagi.")


def resolve(session: Session, complaint_id: int, *, supervisor: User, note: str | None,
            actor: Actor, now: datetime | None = None) -> Complaint:
    note = clean_resolution(note)
    with write_transaction(session):
        complaint = session.scalars(lock(select(Complaint).where(Complaint.id == complaint_id),
                                         session)).first()
        if complaint is None or complaint.branch_id != supervisor.branch_id:
            raise DomainError("Laporan tidak ditemukan.", status_code=404)
        if complaint.status != ComplaintStatus.OPEN:
            raise Conflict("Laporan ini sudah diselesaikan; tidak ada yang berubah.")
        complaint.status = ComplaintStatus.RESOLVED
        complaint.resolved_by_id = supervisor.id
        complaint.resolved_at = now or utcnow()
        complaint.resolution_note = note
        audit.record(session, actor, "complaint.resolve", "complaint", complaint.id,
                     before={"status": ComplaintStatus.OPEN},
                     after={"status": ComplaintStatus.RESOLVED, "note": note})
    return complaint
