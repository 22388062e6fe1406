"""Receipts (collections) as the slip, the worker page and the public checks show them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import N_, DomainError
from ..domain.clock import local_day_start_utc
from ..domain.statuses import ReversalStatus
from ..models import Collection, Reversal, User, Worker
from . import reversed_collection_ids

NOT_FOUND = N_("Kuitansi tidak ditemukan.")


def by_number(session: Session, number: str) -> Collection | None:
    return session.scalars(select(Collection).where(
        Collection.receipt_number == number[:20])).first()


def visible_receipt(session: Session, number: str, user: User) -> Collection:
    """The slip for the agent who collected it or a supervisor of its branch; 404 otherwise."""
    collection = by_number(session, number)
    allowed = collection is not None and (
        (user.is_agent and collection.agent_id == user.id)
        or (user.is_supervisor and collection.branch_id == user.branch_id))
    if not allowed:
        raise DomainError(NOT_FOUND, status_code=404)
    return collection


def own_receipt(session: Session, number: str, agent: User) -> Collection:
    """A receipt the agent itself collected; 404 otherwise."""
    collection = by_number(session, number)
    if collection is None or collection.agent_id != agent.id:
        raise DomainError(NOT_FOUND, status_code=404)
    return collection


def is_reversed(session: Session, collection: Collection) -> bool:
    return session.scalar(select(Reversal.id).where(
        Reversal.collection_id == collection.id,
        Reversal.status == ReversalStatus.APPROVED)) is not None


def recent_collections(session: Session, worker_id: int, limit: int = 12) -> list[Collection]:
    return list(session.scalars(select(Collection).where(Collection.worker_id == worker_id)
                                .order_by(Collection.collected_at.desc()).limit(limit)).all())


def receipt_for_worker(session: Session, number: str, birth_date: date) -> Collection | None:
    """The public check: a receipt whose worker was born on `birth_date`, or None. One query
    with both conditions: an unknown receipt and a wrong birth date get the same answer after
    the same work (a second query for the worker would tell them apart by time)."""
    return session.scalars(select(Collection).join(Worker, Worker.id == Collection.worker_id)
                           .where(Collection.receipt_number == number[:20],
                                  Worker.birth_date == birth_date)).first()


def member_for_check(session: Session, member_number: str, birth_date: date) -> Worker | None:
    """The public status check: the member with this number born on `birth_date`, or None."""
    worker = session.scalars(select(Worker).where(Worker.member_number == member_number)).first()
    if worker is not None and worker.birth_date != birth_date:
        return None
    return worker


def worker_by_nik(session: Session, nik: str) -> Worker | None:
    return session.scalars(select(Worker).where(Worker.nik == nik)).first()


DAY_PAGE = 50


@dataclass(frozen=True)
class DayReceipt:
    receipt_number: str
    collected_at: datetime
    amount: int
    months: int
    first_month: date
    last_month: date
    worker_name: str
    member_number: str
    reversed: bool


def receipts_of_day(session: Session, agent_id: int, day: date, zone: str, *, page: int = 1,
                    per_page: int = DAY_PAGE) -> tuple[list[DayReceipt], bool, int, int]:
    """The agent's receipts of one day (branch time), newest first, a page at a time; with the
    day's count and total of the payments not reversed."""
    start = local_day_start_utc(day, zone)
    end = local_day_start_utc(day + timedelta(days=1), zone)
    in_day = (Collection.agent_id == agent_id, Collection.collected_at >= start,
              Collection.collected_at < end)
    reversed_ids = reversed_collection_ids()
    rows = session.execute(
        select(Collection.receipt_number, Collection.collected_at, Collection.amount,
               Collection.months, Collection.first_month, Collection.last_month,
               Worker.full_name, Worker.member_number, Collection.id.in_(reversed_ids))
        .join(Worker, Worker.id == Collection.worker_id).where(*in_day)
        .order_by(Collection.collected_at.desc(), Collection.id.desc())
        .offset((page - 1) * per_page).limit(per_page + 1)).all()
    count, total = session.execute(
        select(func.count(Collection.id), func.coalesce(func.sum(Collection.amount), 0))
        .where(*in_day, Collection.id.not_in(reversed_ids))).one()
    receipts = [DayReceipt(*row[:8], reversed=bool(row[8])) for row in rows[:per_page]]
    return receipts, len(rows) > per_page, count, int(total)
