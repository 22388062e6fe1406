"""Has the cash of one payment reached the branch? What the worker's public pages say.

Deposits take an agent's oldest cash first (see `commands/books.py`): the cash still in the
agent's hands is always its newest valid collections, and `AgentAccount.oldest_undeposited_at`
is when the oldest of them was collected. So a payment collected before that instant is covered
by verified deposits, and one collected at or after it is still held (a payment only partly
covered counts as held: the worker's money is not all at the branch yet)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..domain.statuses import DepositStatus
from ..models import AgentAccount, Collection, Deposit
from . import reversed_collection_ids

REPORT_AFTER = timedelta(hours=48)


@dataclass(frozen=True)
class CashState:
    deposited_at: datetime | None  # when the verified deposit that covered it was verified
    held_since: datetime | None    # when the agent took the cash, while it is still held
    report: bool = False           # held longer than REPORT_AFTER: invite the worker to report

    @property
    def deposited(self) -> bool:
        return self.held_since is None


def cash_state(session: Session, collection: Collection, now: datetime | None = None) -> CashState:
    now = now or utcnow()
    cash, oldest = session.execute(
        select(AgentAccount.cash_on_hand, AgentAccount.oldest_undeposited_at)
        .where(AgentAccount.agent_id == collection.agent_id)).one_or_none() or (None, None)
    held = cash is None or (cash > 0 and (oldest is None or collection.collected_at >= oldest))
    if held:
        return CashState(None, collection.collected_at,
                         report=now - collection.collected_at > REPORT_AFTER)
    return CashState(_covered_at(session, collection), None)


def _covered_at(session: Session, collection: Collection) -> datetime | None:
    """When the verified deposits, added up in the order they were verified, first reached the
    agent's valid cash up to and including this payment."""
    through = session.scalar(
        select(func.coalesce(func.sum(Collection.amount), 0))
        .where(Collection.agent_id == collection.agent_id,
               Collection.collected_at <= collection.collected_at,
               Collection.id.not_in(reversed_collection_ids())))
    deposits = session.execute(
        select(Deposit.decided_at, Deposit.amount)
        .where(Deposit.agent_id == collection.agent_id, Deposit.status == DepositStatus.VERIFIED)
        .order_by(Deposit.decided_at, Deposit.id))
    total, last = 0, None
    for at, amount in deposits:
        total += amount
        last = at
        if total >= through:
            return at
    return last
