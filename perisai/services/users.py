"""User accounts: created, deactivated and reset with an audit event each."""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import Conflict, DomainError
from ..models import AgentAccount, Branch, User
from . import Actor, audit
from .tx import write_transaction

USERNAME = re.compile(r"[a-z0-9_.]{3,40}")
MIN_PASSWORD = 8
# Compared against when the username is unknown, so both paths cost the same.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # scrypt, werkzeug's default KDF


def password_matches(user: User | None, password: str) -> bool:
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(user.password_hash, password)


def create_user(session: Session, *, username: str, full_name: str, role: str,
                branch_code: str | None, password: str, actor: Actor,
                agent_code: str | None = None) -> User:
    username = (username or "").strip().lower()
    if not USERNAME.fullmatch(username):
        raise DomainError("Nama pengguna 3–40 huruf kecil, angka, titik atau garis bawah.")
    if len(password or "") < MIN_PASSWORD:
        raise DomainError(f"Kata sandi paling sedikit {MIN_PASSWORD} karakter.")
    if role not in ("agent", "supervisor", "admin"):
        raise DomainError("Peran tidak dikenal.")
    with write_transaction(session):
        branch = None
        if role != "admin":
            branch = session.scalars(select(Branch).where(Branch.code == (branch_code or ""))).first()
            if branch is None:
                raise DomainError("Agen dan pengawas harus punya kantor cabang yang dikenal.")
        if session.scalar(select(User.id).where(User.username == username)):
            raise Conflict("Nama pengguna sudah dipakai.")
        user = User(username=username, full_name=full_name.strip()[:120] or username, role=role,
                    branch_id=branch.id if branch else None, password_hash=hash_password(password),
                    agent_code=agent_code if role == "agent" else None, active=True,
                    session_version=1)
        session.add(user)
        session.flush()
        if role == "agent":
            if not user.agent_code:
                user.agent_code = f"{branch.code}-{user.id:05d}"
            session.add(AgentAccount(agent_id=user.id, cash_on_hand=0, total_collected=0,
                                     total_reversed=0, total_deposited=0))
        audit.record(session, actor, "user.create", "user", user.username,
                     after={"role": role, "branch": branch.code if branch else None,
                            "agent_code": user.agent_code})
    return user
