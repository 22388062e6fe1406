"""An agent's cash: + collections, − approved reversals, − verified deposits.

Entries are append-only. `AgentAccount` holds the running totals, updated in the same
transaction as the entry; deposits are taken oldest-first, so the undeposited cash is always
the newest valid collections, and its age is found by walking back from the newest one.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.clock import utcnow
from ..models import AgentAccount, Collection, LedgerEntry, Reversal
from .tx import lock


def account_for_update(session: Session, agent_id: int) -> AgentAccount:
    account = session.scalars(lock(select(AgentAccount).where(AgentAccount.agent_id == agent_id),
                                   session)).first()
    if account is None:
        account = AgentAccount(agent_id=agent_id, cash_on_hand=0, total_collected=0,
                               total_reversed=0, total_deposited=0)
        session.add(account)
        session.flush()
    return account


def reversed_collection_ids():
    """Subquery: collections whose reversal a supervisor approved (they no longer count)."""
    return select(Reversal.collection_id).where(Reversal.status == "approved")


def _oldest_undeposited(session: Session, agent_id: int, cash_on_hand: int) -> datetime | None:
    if cash_on_hand <= 0:
        return None
    reversed_ids = reversed_collection_ids()
    newest_first = session.execute(
        select(Collection.collected_at, Collection.amount)
        .where(Collection.agent_id == agent_id, Collection.id.not_in(reversed_ids))
        .order_by(Collection.collected_at.desc(), Collection.id.desc())
        .execution_options(yield_per=200))
    remaining = cash_on_hand
    oldest = None
    for collected_at, amount in newest_first:
        oldest = collected_at
        remaining -= amount
        if remaining <= 0:
            break
    return oldest


def post(session: Session, *, agent_id: int, branch_id: int, kind: str, amount: int,
         collection_id: int | None = None, deposit_id: int | None = None,
         at: datetime | None = None) -> LedgerEntry:
    """Append one entry and move the account; the caller's transaction makes both atomic."""
    at = at or utcnow()
    account = account_for_update(session, agent_id)
    if account.cash_on_hand + amount < 0:
        raise DomainError("Uang tunai agen tidak cukup untuk ini.", status_code=409)
    entry = LedgerEntry(agent_id=agent_id, branch_id=branch_id, kind=kind, amount=amount,
                        collection_id=collection_id, deposit_id=deposit_id, created_at=at)
    session.add(entry)
    if kind == "collection":
        account.total_collected += amount
        account.last_activity_at = at
    elif kind == "reversal":
        account.total_reversed += -amount
    else:
        account.total_deposited += -amount
    account.cash_on_hand += amount
    account.updated_at = at
    session.flush()
    if kind == "collection":
        # New cash is the newest in hand: the oldest undeposited rupiah stays where it was
        # (walking back over every collection still in hand would cost more as cash piles up).
        if account.oldest_undeposited_at is None:
            account.oldest_undeposited_at = at
    else:
        account.oldest_undeposited_at = _oldest_undeposited(session, agent_id, account.cash_on_hand)
    return entry


def note_registration(session: Session, agent_id: int, at: datetime | None = None) -> None:
    account = account_for_update(session, agent_id)
    account.last_activity_at = at or utcnow()


def cash_on_hand(session: Session, agent_id: int) -> int:
    return session.scalar(select(AgentAccount.cash_on_hand).where(
        AgentAccount.agent_id == agent_id)) or 0


@dataclass(frozen=True)
class LedgerMismatch:
    agent_id: int
    account_balance: int
    ledger_sum: int


def verify(session: Session) -> list[LedgerMismatch]:
    """Agents whose account balance is not the sum of their ledger entries (should be none)."""
    sums = dict(session.execute(select(LedgerEntry.agent_id, func.sum(LedgerEntry.amount))
                                .group_by(LedgerEntry.agent_id)).all())
    mismatches = []
    for account in session.scalars(select(AgentAccount)):
        ledger_sum = int(sums.pop(account.agent_id, 0) or 0)
        if ledger_sum != account.cash_on_hand:
            mismatches.append(LedgerMismatch(account.agent_id, account.cash_on_hand, ledger_sum))
    for agent_id, ledger_sum in sums.items():
        mismatches.append(LedgerMismatch(agent_id, 0, int(ledger_sum)))
    return mismatches
