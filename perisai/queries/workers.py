"""Reading workers with the caller's scope applied: agents see their own, supervisors their branch."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.checklist import ExistingMember
from ..domain.status import LAPSED, lapsed_on, membership_status
from ..models import RegistrationKey, User, Worker


def scoped(user: User):
    query = select(Worker)
    if user.is_agent:
        # The agent's own members are always in its branch: registration takes the agent's
        # branch and moving an agent moves its members (commands/accounts.py). Filtering on
        # the branch as well would cost a table read per row (the indexes lead with the agent).
        return query.where(Worker.agent_id == user.id)
    if user.is_supervisor:
        return query.where(Worker.branch_id == user.branch_id)
    return query.where(False)


def visible_worker(session: Session, user: User, worker_id: int) -> Worker:
    """The worker, or a 404 for anyone outside its scope (never a hint that it exists)."""
    worker = session.scalars(scoped(user).where(Worker.id == worker_id)).first()
    if worker is None:
        raise DomainError("Pekerja tidak ditemukan.", status_code=404)
    return worker


def search(session: Session, user: User, q: str, page: int, per_page: int) -> tuple[list[Worker], bool]:
    """Digits find a NIK or member number exactly; text finds names that start with it."""
    query = scoped(user)
    q = " ".join((q or "").split())[:60]
    digits = q.replace(" ", "")
    if digits.isdigit() and len(digits) == 16:
        query = query.where(Worker.nik == digits)
    elif digits.isdigit() and len(digits) == 11:
        query = query.where(Worker.member_number == digits)
    elif q:
        key = q.lower()
        query = query.where(Worker.name_key >= key, Worker.name_key < key + "\uffff")
    rows = session.scalars(query.order_by(Worker.name_key, Worker.id)
                           .offset((page - 1) * per_page).limit(per_page + 1)).all()
    return rows[:per_page], len(rows) > per_page


def existing_member(session: Session, nik: str, today: date,
                    branch_id: int | None) -> ExistingMember | None:
    """Who holds this NIK already, and whether that membership has lapsed (on `today`, the
    registering branch's local date). Outside the asking agent's branch (`branch_id`) only that
    it exists and whether it lapsed: no branch, agent, member number or date leaves here."""
    worker = session.scalars(select(Worker).where(Worker.nik == nik)).first()
    if worker is None:
        return None
    status = membership_status(worker.first_month, worker.paid_through, today)
    lapsed_since = lapsed_on(status.first_unpaid) if status.code == LAPSED else None
    if worker.branch_id != branch_id:
        return ExistingMember.in_another_branch(lapsed_since)
    return ExistingMember(branch_name=worker.branch.name, agent_name=worker.agent.full_name,
                          member_number=worker.member_number, lapsed_since=lapsed_since)


def registered_by(session: Session, nik: str, agent_id: int) -> Worker | None:
    """The worker with this NIK if this agent registered it."""
    return session.scalars(select(Worker).where(Worker.nik == nik,
                                                Worker.agent_id == agent_id)).first()


def registration_key(session: Session, key: str) -> RegistrationKey | None:
    """The registration recorded with this form key, if any."""
    return session.get(RegistrationKey, key)
