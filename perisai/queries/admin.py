"""What the admin's pages list: counts, branches, users, the rate schedule."""
from __future__ import annotations

from sqlalchemy import Row, func, or_, select
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


BRANCHES_PER_PAGE = 50
# A form lists the branches to choose from up to this many; past it (a national install has
# hundreds) it asks for the branch's code instead: two thousand options weigh 80 KB.
BRANCH_CHOICES_MAX = 100


def _paged(session: Session, model, where: list, order: tuple, page: int,
           per_page: int) -> tuple[list, int, int]:
    """One page of `model`'s rows that match `where`, in `order`: (rows, page, pages), the
    page number clamped to the pages there are."""
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    found = session.scalars(select(model).where(*where).order_by(*order)
                            .offset((page - 1) * per_page).limit(per_page)).all()
    return list(found), page, pages


def branches(session: Session, query: str = "", page: int = 1,
             per_page: int = BRANCHES_PER_PAGE) -> tuple[list[Branch], int, int]:
    """A page of the branches by code, those whose code starts with `query` or whose name
    contains it when one is given: (branches, page, pages)."""
    where = [or_(Branch.code.startswith(query.upper(), autoescape=True),
                 func.lower(Branch.name).contains(query.lower(), autoescape=True))] if query else []
    return _paged(session, Branch, where, (Branch.code,), page, per_page)


def branch_choices(session: Session) -> list[Row] | None:
    """The branches a form offers (id, code, name, by code), or None when there are more than
    `BRANCH_CHOICES_MAX`: the form then takes a typed code."""
    rows = session.execute(select(Branch.id, Branch.code, Branch.name).order_by(Branch.code)
                           .limit(BRANCH_CHOICES_MAX + 1)).all()
    return None if len(rows) > BRANCH_CHOICES_MAX else list(rows)


def branch(session: Session, branch_id: int) -> Branch:
    found = session.get(Branch, branch_id)
    if found is None:
        raise DomainError("Kantor cabang tidak ditemukan.", status_code=404)
    return found


def branch_by_code(session: Session, code: str) -> Branch | None:
    return session.scalars(select(Branch).where(Branch.code == code)).first() if code else None


USERS_PER_PAGE = 50


def users(session: Session, query: str = "", page: int = 1,
          per_page: int = USERS_PER_PAGE) -> tuple[list[User], int, int]:
    """A page of the users (by role, then username), those whose username starts with `query`
    when one is given: (users, page, pages). A national install has thousands of agents, so
    the list comes a page at a time."""
    where = [User.username.startswith(query, autoescape=True)] if query else []
    return _paged(session, User, where, (User.role, User.username), page, per_page)


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
