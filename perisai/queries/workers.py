"""Reading workers with the caller's scope applied: agents see their own, supervisors their branch."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, or_, select, text as sql
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.checklist import ExistingMember
from ..domain.search import SearchQuery, fts_phrase, like_escape, parse_search
from ..domain.status import LAPSED, lapsed_on, membership_status
from ..models import Collection, RegistrationKey, User, Worker


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


CANDIDATE_CAP = 2000  # above this many index hits, walking the scope's names in order is cheaper


def search(session: Session, user: User, q: str, page: int, per_page: int) -> tuple[list[Worker], bool]:
    """Workers in the caller's scope matching any part of a name, a part of a phone number, the
    last 4+ digits of a NIK, a member number or a receipt number; a page at a time.

    Names that start with what was typed come first, then the other names that hold it, each
    in name order: "siti" lists the Sitis before "Nur Siti Rahayu", as a person looking for
    someone expects, and the first ones come from the scope's name index in order whatever
    the size of the branch (`_names_found`). Numbers list their workers in name order.

    A whole NIK is looked up in its unique index. PostgreSQL answers the parts from trigram
    indexes (pg_trgm); a supervisor's name part as `_branch_name_search` says. SQLite: an
    agent's search reads its own members from its name index; a supervisor's first asks the FTS5
    trigram table for the matching workers of every branch; when a part is so common that the
    table returns more than CANDIDATE_CAP of them, it walks the branch's name index instead,
    which finds a page of such common matches after a few rows."""
    wanted = parse_search(q)
    if wanted.too_few_digits:
        return [], False
    offset, wanted_rows = (page - 1) * per_page, per_page + 1
    if wanted.text and not wanted.name_prefix_only:
        rows = _names_found(session, user, wanted, offset, wanted_rows)
    else:
        rows = _found(session, user, wanted, offset, wanted_rows)
    return rows[:per_page], len(rows) > per_page


def _starts_with(text: str, column=Worker.name_key) -> tuple:
    return (column >= text, column < text + "\uffff")


def _does_not_start_with(text: str, column=Worker.name_key):
    return or_(column < text, column >= text + "\uffff")


def _names_found(session: Session, user: User, wanted: SearchQuery, offset: int,
                 limit: int) -> list[Worker]:
    """Rows `offset` to `offset + limit` of the names that start with the text (from the name
    index, in order), then of the other names holding it."""
    in_order = (Worker.name_key, Worker.id)
    first = session.scalars(scoped(user).where(*_starts_with(wanted.text)).order_by(*in_order)
                            .offset(offset).limit(limit)).all()
    if len(first) == limit:
        return first
    if first:  # the names starting with it end on this page
        starting = offset + len(first)
    elif offset:
        starting = session.scalar(select(func.count()).select_from(
            scoped(user).where(*_starts_with(wanted.text)).subquery()))
    else:
        starting = 0
    return first + _found(session, user, wanted, max(0, offset - starting), limit - len(first),
                          elsewhere=True)


def _found(session: Session, user: User, wanted: SearchQuery, offset: int, limit: int, *,
           elsewhere: bool = False) -> list[Worker]:
    """The matches in name order, `offset` to `offset + limit`; with `elsewhere`, only the
    names that hold the text but do not start with it."""
    query = scoped(user)
    if elsewhere:
        query = query.where(_does_not_start_with(wanted.text))
    if wanted.name_prefix_only:
        query = query.where(*_starts_with(wanted.text))
    elif wanted.nik:
        # A whole NIK (16 digits) names one worker, and no phone number (13 digits at most)
        # holds it: the unique index answers, not a scan of every phone and NIK tail (42 ms
        # on PostgreSQL at 1,000,000 members).
        query = query.where(Worker.id.in_(_exact_matches(session, wanted)))
    elif wanted.text and user.is_supervisor and session.get_bind().dialect.name == "postgresql":
        return _branch_name_search(session, user.branch_id, _name_pattern(wanted), offset, limit,
                                   elsewhere=wanted.text if elsewhere else None)
    elif not wanted.is_empty:
        exact = _exact_matches(session, wanted)
        parts = _part_condition(wanted)
        # An agent's own members (a few thousand at most) are read faster from its name index
        # than the whole country's trigram table is asked (22 ms at 1 M for a rare two-word
        # name); a supervisor's branch (hundreds of thousands) needs the trigram table.
        candidates = None if user.is_agent else _trigram_candidates(session, wanted)
        if candidates is not None:
            query = query.where(Worker.id.in_(candidates | exact), parts | Worker.id.in_(exact))
        else:
            query = query.where(or_(parts, Worker.id.in_(exact)) if exact else parts)
    return session.scalars(query.order_by(Worker.name_key, Worker.id)
                           .offset(offset).limit(limit)).all()


NAME_WINDOW = 3_000  # names of a branch read in order before the trigram index is asked


def _branch_name_search(session: Session, branch_id: int, pattern: str, offset: int, limit: int,
                        elsewhere: str | None = None) -> list[Worker]:
    """PostgreSQL, a part of a name in a branch of up to hundreds of thousands of members
    (with `elsewhere`, only the names that do not start with that text).

    Walking the branch's names in order finds a common part fast when its names sort early
    ("agus": 3 ms at 1,000,000 members) but reads the whole alphabet first when they sort late
    ("siti": 146,000 names, 308 ms); the trigram index finds every match and sorts them (42 ms
    for "siti", but 43 ms for "agus"). So the first NAME_WINDOW names are read from the index
    first: if the page is among them it is exactly the page the whole walk would give, and only
    otherwise is the trigram index asked. (The names that start with the part come first and
    are read from the name index by `search`; this looks for the others.)"""
    wanted_rows = offset + limit
    def other(column) -> tuple:
        return () if elsewhere is None else (_does_not_start_with(elsewhere, column),)
    window = (select(Worker.id, Worker.name_key).where(Worker.branch_id == branch_id)
              .order_by(Worker.name_key, Worker.id).limit(NAME_WINDOW).subquery())
    hits = session.execute(select(window.c.id)
                           .where(window.c.name_key.like(pattern, escape="\\"),
                                  *other(window.c.name_key))
                           .order_by(window.c.name_key, window.c.id).limit(wanted_rows)).scalars().all()
    if len(hits) == wanted_rows:
        ids = hits[offset:]
        found = {w.id: w for w in session.scalars(select(Worker).where(Worker.id.in_(ids)))}
        return [found[i] for i in ids]
    # The same order, written so that no index provides it: the matches come from the
    # trigram index and are then sorted, instead of the whole branch being walked.
    return session.scalars(
        select(Worker).where(Worker.branch_id == branch_id,
                             Worker.name_key.like(pattern, escape="\\"), *other(Worker.name_key))
        .order_by(Worker.name_key.concat(""), Worker.id)
        .offset(offset).limit(limit)).all()


def _name_pattern(wanted: SearchQuery) -> str:
    return f"%{like_escape(wanted.text)}%"


def _part_condition(wanted: SearchQuery):
    if wanted.text:
        return Worker.name_key.like(_name_pattern(wanted), escape="\\")
    return or_(Worker.phone.like(f"%{like_escape(wanted.phone_digits)}%", escape="\\"),
               Worker.nik.like(f"%{like_escape(wanted.digits)}", escape="\\"))


def _exact_matches(session: Session, wanted: SearchQuery) -> set[int]:
    """Workers a whole number names: a member number, a receipt, a NIK (unique indexes)."""
    found: set[int] = set()
    if wanted.member_number:
        found.update(session.scalars(select(Worker.id).where(
            Worker.member_number == wanted.member_number)))
    if wanted.receipt_number:
        found.update(session.scalars(select(Collection.worker_id).where(
            Collection.receipt_number == wanted.receipt_number)))
    if wanted.nik:
        found.update(session.scalars(select(Worker.id).where(Worker.nik == wanted.nik)))
    return found


def _trigram_candidates(session: Session, wanted: SearchQuery) -> set[int] | None:
    """SQLite: the workers whose name (or phone, NIK) contains the part, from the FTS5 trigram
    table; None on PostgreSQL (its trigram indexes serve the query itself) or when there are
    too many to be worth it."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    if wanted.text:
        match = f"name_key : {fts_phrase(wanted.text)}"
    else:
        match = f"{{phone nik}} : {fts_phrase(wanted.digits)}"
        if wanted.phone_digits != wanted.digits:
            match = f"({match}) OR (phone : {fts_phrase(wanted.phone_digits)})"
    ids = session.execute(sql("SELECT rowid FROM worker_search WHERE worker_search MATCH :m"
                               " LIMIT :cap"), {"m": match, "cap": CANDIDATE_CAP + 1}).scalars().all()
    if len(ids) > CANDIDATE_CAP:
        return None
    return set(ids)


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
