"""What an admin changes: user accounts (created, deactivated, reset, moved) and branches. Each
change runs in one write transaction with its audit event.

Deactivation and password reset bump `session_version`, which is part of the login cookie's user
id, so every session of that user ends at its next request.
"""
from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload

from ..domain import Conflict, DomainError
from ..domain.accounts import (BranchInput, check_password, check_role, clean_branch_code,
                               clean_username)
from ..domain.statuses import BillStatus, ReversalStatus, Role
from ..domain.text import Money
from ..models import AgentAccount, Bill, Branch, Collection, Reversal, User, Worker
from ..passwords import hash_password
from . import Actor, audit
from .tx import lock, write_transaction


def create_user(session: Session, *, username: str, full_name: str, role: str,
                branch_code: str | None, password: str, actor: Actor,
                agent_code: str | None = None) -> User:
    username = clean_username(username)
    check_password(password)
    role = check_role(role)
    with write_transaction(session):
        branch = None
        if role != Role.ADMIN:
            branch = session.scalars(select(Branch).where(Branch.code == (branch_code or ""))).first()
            if branch is None:
                raise DomainError("Agen dan pengawas harus punya kantor cabang yang dikenal.")
        if session.scalar(select(User.id).where(User.username == username)):
            raise Conflict("Nama pengguna sudah dipakai.")
        user = User(username=username, full_name=full_name.strip()[:120] or username, role=role,
                    branch_id=branch.id if branch else None, password_hash=hash_password(password),
                    agent_code=agent_code if role == Role.AGENT else None, active=True,
                    session_version=1)
        session.add(user)
        session.flush()
        if role == Role.AGENT:
            if not user.agent_code:
                user.agent_code = f"{branch.code}-{user.id:05d}"
            session.add(AgentAccount(agent_id=user.id, cash_on_hand=0, total_collected=0,
                                     total_reversed=0, total_deposited=0))
        audit.record(session, actor, "user.create", "user", user.username,
                     after={"role": role, "branch": branch.code if branch else None,
                            "agent_code": user.agent_code})
    return user


def _user_for_update(session: Session, user_id: int) -> User:
    # Without the joined branch: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    user = session.scalars(lock(select(User).options(lazyload(User.branch))
                                .where(User.id == user_id), session)).first()
    if user is None:
        raise DomainError("Pengguna tidak ditemukan.", status_code=404)
    return user


def deactivate_user(session: Session, user_id: int, *, actor: Actor) -> User:
    if user_id == actor.id:
        raise DomainError("Anda tidak bisa menonaktifkan akun Anda sendiri.")
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        if not user.active:
            raise Conflict("Akun %(username)s sudah nonaktif.", username=user.username)
        user.active = False
        user.session_version += 1
        audit.record(session, actor, "user.deactivate", "user", user.username,
                     before={"active": True}, after={"active": False,
                                                     "session_version": user.session_version})
    return user


def reactivate_user(session: Session, user_id: int, *, actor: Actor) -> User:
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        if user.active:
            raise Conflict("Akun %(username)s sudah aktif.", username=user.username)
        user.active = True
        audit.record(session, actor, "user.reactivate", "user", user.username,
                     before={"active": False}, after={"active": True})
    return user


def reset_password(session: Session, user_id: int, new_password: str, *, actor: Actor) -> User:
    check_password(new_password, new=True)
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        user.password_hash = hash_password(new_password)
        user.session_version += 1
        # The hash is never written to the audit trail, only that it changed.
        audit.record(session, actor, "user.reset_password", "user", user.username,
                     after={"session_version": user.session_version})
    return user


def move_agent(session: Session, user_id: int, branch_code: str, *, actor: Actor) -> User:
    """An agent changes branch only with empty hands: the old branch's supervisor must first
    verify the deposit of every rupiah it collected and decide its reversal requests.

    The agent's members and their open codes move with it, so the members stay visible to the
    supervisor who oversees their agent and nothing of one branch is handled in another. Past
    payments keep their branch: they are the old branch's books."""
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        if user.role != Role.AGENT:
            raise DomainError("Hanya agen yang bisa dipindah cabang.")
        branch = session.scalars(select(Branch).where(Branch.code == (branch_code or ""))).first()
        if branch is None:
            raise DomainError("Pilih kantor cabang tujuan.")
        if branch.id == user.branch_id:
            raise DomainError("%(username)s sudah di %(branch)s.", username=user.username,
                              branch=branch.name)
        cash = session.scalar(select(AgentAccount.cash_on_hand).where(
            AgentAccount.agent_id == user.id)) or 0
        if cash > 0:
            raise Conflict("%(username)s masih memegang %(cash)s. Setorkan dan minta pengawas "
                           "cabang lama memverifikasi dulu, baru pindahkan.",
                           username=user.username, cash=Money(cash))
        pending = session.scalar(select(func.count(Reversal.id)).join(Collection).where(
            Collection.agent_id == user.id, Reversal.status == ReversalStatus.PENDING))
        if pending:
            raise Conflict("%(username)s masih punya %(count)d permintaan pembatalan yang belum "
                           "diputuskan pengawas cabang lama. Selesaikan dulu, baru pindahkan.",
                           username=user.username, count=pending)
        old = user.branch.code if user.branch else None
        user.branch_id = branch.id
        members = session.execute(update(Worker).where(Worker.agent_id == user.id)
                                  .values(branch_id=branch.id)).rowcount
        open_codes = session.execute(update(Bill).where(Bill.agent_id == user.id,
                                                        Bill.status == BillStatus.OPEN)
                                     .values(branch_id=branch.id)).rowcount
        audit.record(session, actor, "user.move", "user", user.username,
                     before={"branch": old},
                     after={"branch": branch.code, "members": members, "open_codes": open_codes})
    session.refresh(user)
    return user


def create_branch(session: Session, code: str, data: BranchInput, *, actor: Actor) -> Branch:
    code = clean_branch_code(code)
    with write_transaction(session):
        if session.scalar(select(Branch.id).where(Branch.code == code)) is not None:
            raise Conflict("Kode cabang %(code)s sudah dipakai.", code=code)
        branch = Branch(code=code, name=data.name, timezone=data.timezone, cash_limit=data.cash_limit)
        session.add(branch)
        session.flush()
        audit.record(session, actor, "branch.create", "branch", code,
                     after={"name": data.name, "timezone": data.timezone, "cash_limit": data.cash_limit})
    return branch


def update_branch(session: Session, branch_id: int, data: BranchInput, *, actor: Actor) -> Branch:
    with write_transaction(session):
        branch = session.scalars(lock(select(Branch).where(Branch.id == branch_id), session)).first()
        if branch is None:
            raise DomainError("Kantor cabang tidak ditemukan.", status_code=404)
        before = {"name": branch.name, "timezone": branch.timezone, "cash_limit": branch.cash_limit}
        after = {"name": data.name, "timezone": data.timezone, "cash_limit": data.cash_limit}
        if before == after:
            return branch
        branch.name, branch.timezone, branch.cash_limit = data.name, data.timezone, data.cash_limit
        audit.record(session, actor, "branch.update", "branch", branch.code, before=before, after=after)
    return branch
