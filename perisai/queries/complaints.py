"""Complaints as the worker's ticket page and the supervisor's list show them."""
from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from ..domain import DomainError
from ..domain.complaints import is_ticket
from ..domain.statuses import ComplaintStatus
from ..models import Complaint, User

PER_PAGE = 30


def by_ticket(session: Session, ticket: str) -> Complaint | None:
    ticket = (ticket or "").strip().upper()[:16]
    if not is_ticket(ticket):
        return None
    return session.scalars(select(Complaint).where(Complaint.ticket == ticket)).first()


def branch_complaints(session: Session, branch_id: int, *, show: str = "open",
                      page: int = 1) -> tuple[list[Complaint], bool]:
    """Open ones oldest first (the longest waiting on top), or resolved ones newest first."""
    query = select(Complaint).where(Complaint.branch_id == branch_id).options(
        joinedload(Complaint.worker), joinedload(Complaint.agent),
        joinedload(Complaint.collection), joinedload(Complaint.resolved_by))
    if show == "resolved":
        query = query.where(Complaint.status == ComplaintStatus.RESOLVED).order_by(
            Complaint.created_at.desc(), Complaint.id.desc())
    else:
        query = query.where(Complaint.status == ComplaintStatus.OPEN).order_by(
            Complaint.created_at, Complaint.id)
    rows = session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE + 1)).all()
    return list(rows[:PER_PAGE]), len(rows) > PER_PAGE


def open_count(session: Session, branch_id: int) -> int:
    return session.scalar(select(func.count(Complaint.id)).where(
        Complaint.branch_id == branch_id, Complaint.status == ComplaintStatus.OPEN)) or 0


def open_by_agent(session: Session, branch_id: int, agent_id: int | None = None) -> dict[int, int]:
    """Open complaints per agent of the branch (one of the agent's flags)."""
    only = [Complaint.agent_id == agent_id] if agent_id is not None else []
    return dict(session.execute(
        select(Complaint.agent_id, func.count(Complaint.id))
        .where(Complaint.branch_id == branch_id, Complaint.status == ComplaintStatus.OPEN, *only)
        .group_by(Complaint.agent_id)).all())


def for_agent(session: Session, branch_id: int, agent_id: int, limit: int = 20) -> list[Complaint]:
    """An agent's complaints, open first, for its page."""
    return list(session.scalars(
        select(Complaint).where(Complaint.branch_id == branch_id, Complaint.agent_id == agent_id)
        .options(joinedload(Complaint.worker), joinedload(Complaint.collection))
        .order_by(case((Complaint.status == ComplaintStatus.OPEN, 0), else_=1),
                  Complaint.created_at.desc()).limit(limit)).all())


def visible_complaint(session: Session, complaint_id: int, user: User) -> Complaint:
    """A complaint of the supervisor's branch; 404 (the same for another branch's) otherwise."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None or complaint.branch_id != user.branch_id:
        raise DomainError("Laporan tidak ditemukan.", status_code=404)
    return complaint
