"""What the admin's pages list: counts, branches, users, the rate schedule."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..models import Branch, RateDiscount, RateSchedule, User


def counts(session: Session) -> dict[str, int]:
    return {
        "branches": session.scalar(select(func.count()).select_from(Branch)),
        "users": session.scalar(select(func.count()).select_from(User)),
        "inactive": session.scalar(select(func.count()).select_from(User).where(User.active.is_(False))),
        "rates": session.scalar(select(func.count()).select_from(RateSchedule)),
    }


def branches(session: Session) -> list[Branch]:
    return list(session.scalars(select(Branch).order_by(Branch.code)).all())


def branch(session: Session, branch_id: int) -> Branch:
    found = session.get(Branch, branch_id)
    if found is None:
        raise DomainError("Kantor cabang tidak ditemukan.", status_code=404)
    return found


def branch_by_code(session: Session, code: str) -> Branch | None:
    return session.scalars(select(Branch).where(Branch.code == code)).first() if code else None


def users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.role, User.username)).all())


def user(session: Session, user_id: int) -> User:
    found = session.get(User, user_id)
    if found is None:
        raise DomainError("Pengguna tidak ditemukan.", status_code=404)
    return found


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalars(select(User).where(User.username == username)).first()


def rate_schedule(session: Session) -> list[RateSchedule]:
    return list(session.scalars(select(RateSchedule).order_by(RateSchedule.effective_from.desc())).all())


def discounts(session: Session) -> list[RateDiscount]:
    return list(session.scalars(select(RateDiscount).order_by(RateDiscount.month_from)).all())
