"""Deposits as the agent's deposit box and the supervisor's queue show them."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from ..domain import DomainError
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


def pending_deposits(session: Session, branch_id: int) -> list[Deposit]:
    return list(session.scalars(
        select(Deposit).where(Deposit.branch_id == branch_id,
                              Deposit.status == DepositStatus.PENDING)
        .options(joinedload(Deposit.agent))
        .order_by(Deposit.declared_at, Deposit.id)).all())
