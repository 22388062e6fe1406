"""Deposits as the agent's deposit box and the supervisor's queue show them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Row, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ..domain import DomainError
from ..domain.deposits import is_near_duplicate, reference_key
from ..domain.statuses import DepositStatus
from ..models import AgentAccount, Deposit, User


def cash_on_hand(session: Session, agent_id: int) -> int:
    return session.scalar(select(AgentAccount.cash_on_hand).where(
        AgentAccount.agent_id == agent_id)) or 0


def pending_total(session: Session, agent_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Deposit.amount), 0)).where(
        Deposit.agent_id == agent_id, Deposit.status == DepositStatus.PENDING)) or 0)


@dataclass(frozen=True)
class DepositPanel:
    items: list[Deposit]     # the pending deposits, then the latest decided ones
    pending_total: int
    available: int           # cash on hand less what already waits for verification


def panel_for_agent(session: Session, agent_id: int, cash_on_hand: int | None = None,
                    limit: int = 5) -> DepositPanel:
    """What the agent's deposit box shows, in one query (two without `cash_on_hand`): every
    pending deposit, then the latest decided ones (so a rejection is seen)."""
    if cash_on_hand is None:
        cash_on_hand = globals()["cash_on_hand"](session, agent_id)
    latest_decided = (select(Deposit.id).where(Deposit.agent_id == agent_id,
                                               Deposit.status != DepositStatus.PENDING)
                      .order_by(Deposit.decided_at.desc(), Deposit.id.desc()).limit(limit))
    rows = session.scalars(select(Deposit).where(
        Deposit.agent_id == agent_id,
        or_(Deposit.status == DepositStatus.PENDING, Deposit.id.in_(latest_decided)))).all()
    pending = sorted((d for d in rows if d.status == DepositStatus.PENDING),
                     key=lambda d: (d.declared_at, d.id), reverse=True)
    decided = sorted((d for d in rows if d.status != DepositStatus.PENDING),
                     key=lambda d: (d.decided_at or d.declared_at, d.id), reverse=True)
    waiting = sum(d.amount for d in pending)
    return DepositPanel(pending + decided, waiting, max(cash_on_hand - waiting, 0))


def visible_deposit(session: Session, deposit_id: int, user: User) -> Deposit:
    deposit = session.get(Deposit, deposit_id)
    if deposit is None or deposit.branch_id != user.branch_id:
        raise DomainError("Setoran tidak ditemukan.", status_code=404)
    return deposit


def pending_deposits(session: Session, branch_id: int, agent_id: int | None = None,
                     limit: int | None = None) -> list[Deposit]:
    """The branch's deposits waiting for a supervisor (only one agent's, given `agent_id`), the
    oldest first (only the first `limit`)."""
    only = () if agent_id is None else (Deposit.agent_id == agent_id,)
    return list(session.scalars(
        select(Deposit).where(Deposit.branch_id == branch_id,
                              Deposit.status == DepositStatus.PENDING, *only)
        .options(joinedload(Deposit.agent))
        .order_by(Deposit.declared_at, Deposit.id).limit(limit)).all())


# How far back a pending deposit is compared with the agent's other deposits.
NEAR_DUPLICATE_LOOKBACK = timedelta(days=31)


def near_duplicates(session: Session, deposits: list[Deposit]) -> dict[int, list[Row]]:
    """For each pending deposit, the same agent's other pending or verified deposits that may be
    the same transfer (`domain.deposits.is_near_duplicate`): the supervisor is warned before
    verifying. One query for the whole queue."""
    if not deposits:
        return {}
    since = min(d.declared_at for d in deposits) - NEAR_DUPLICATE_LOOKBACK
    # Plain rows (what the warning shows), not ORM objects: a month of a big branch's
    # deposits is hundreds.
    others = session.execute(
        select(Deposit.id, Deposit.agent_id, Deposit.amount, Deposit.reference,
               Deposit.reference_key, Deposit.declared_at, Deposit.status)
        .where(Deposit.agent_id.in_({d.agent_id for d in deposits}),
               Deposit.declared_at >= since,
               Deposit.status.in_((DepositStatus.PENDING, DepositStatus.VERIFIED)))
        .order_by(Deposit.declared_at, Deposit.id)).all()
    return _near_duplicates_among(deposits, others)


def agent_pending_deposits(session: Session, branch_id: int, agent_id: int,
                           oldest_pending: datetime) -> tuple[list[Deposit], dict[int, list]]:
    """One agent's deposits waiting for the supervisor of the branch, oldest first, and their
    `near_duplicates`, from one statement (one agent's page): the agent's pending and verified
    deposits from `NEAR_DUPLICATE_LOOKBACK` before its oldest waiting one (`oldest_pending`,
    which its page has read already) are the waiting ones and the ones to compare them with."""
    found = list(session.scalars(
        select(Deposit).where(Deposit.agent_id == agent_id,
                              Deposit.declared_at >= oldest_pending - NEAR_DUPLICATE_LOOKBACK,
                              Deposit.status.in_((DepositStatus.PENDING, DepositStatus.VERIFIED)))
        .order_by(Deposit.declared_at, Deposit.id)).all())
    pending = [deposit for deposit in found
               if deposit.status == DepositStatus.PENDING and deposit.branch_id == branch_id]
    return pending, _near_duplicates_among(pending, found)


def _near_duplicates_among(deposits: list[Deposit], others: list) -> dict[int, list]:
    """`near_duplicates` of `deposits` among `others` (the same agents' pending or verified
    deposits, oldest first)."""
    # Each deposit is compared with its own agent's only, by the reference's stored key (worked
    # out only where it is NULL: duplicates older than the rule, migration d2f4b6a8c0e1): a big
    # branch's queue against a month of its agents' deposits was 20 × 600 comparisons.
    by_agent: dict[int, list[tuple[Row, str]]] = {}
    for other in others:
        by_agent.setdefault(other.agent_id, []).append(
            (other, other.reference_key or reference_key(other.reference)))
    found: dict[int, list[Row]] = {}
    for deposit in deposits:
        key = deposit.reference_key or reference_key(deposit.reference)
        for other, other_key in by_agent.get(deposit.agent_id, ()):
            if other.id == deposit.id:
                continue
            apart = abs((deposit.declared_at - other.declared_at).total_seconds()) / 86400
            if is_near_duplicate(deposit.amount, key, apart, other.amount, other_key):
                found.setdefault(deposit.id, []).append(other)
    return found
