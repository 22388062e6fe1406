"""Deposits: an agent declares cash paid in to the branch; a supervisor of that branch verifies
or rejects it. Only a verified deposit moves the ledger, and only once."""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import N_, Conflict, DomainError
from ..domain.clock import utcnow
from ..domain.deposits import (REFERENCE_USED, check_available, clean_declaration,
                               clean_reject_reason, reference_key)
from ..domain.inputs import require_form_key
from ..domain.statuses import DepositStatus
from ..domain.text import Money
from ..models import Deposit, User
from ..queries.deposits import pending_total
from . import Actor, audit, books
from .collecting import USED_FORM
from .tx import lock, retry_transient, write_transaction


@retry_transient
def declare(session: Session, *, agent: User, amount: int, reference: str, note: str | None,
            idempotency_key: str, actor: Actor,
            now: datetime | None = None) -> tuple[Deposit, bool]:
    """Record a declared deposit. Returns (deposit, created); the same form sent twice returns
    the first declaration with created=False.

    The form carries a server-made `idempotency_key`. A client that posts only the contract's
    fields (`amount`, `reference`) is deduplicated by what it sent instead: the same amount with
    the same bank reference, still pending or verified, is the same deposit.

    One bank transfer is one deposit: any other declaration of a reference the agent already
    has pending or verified is refused (409), whatever its form or amount; the database's
    unique index `uq_deposits_agent_reference` holds the rule too."""
    keyless = not idempotency_key
    if keyless:
        idempotency_key = "auto-" + secrets.token_urlsafe(24)
    require_form_key(idempotency_key)
    reference, note = clean_declaration(amount, reference, note)
    key = reference_key(reference)
    agent_id, branch_id = agent.id, agent.branch_id
    earlier = _by_key(session, idempotency_key)
    if earlier is not None:
        return _replay(earlier, agent_id)
    try:
        with write_transaction(session):
            now = now or utcnow()
            account = books.account_for_update(session, agent_id)  # serialises this agent's cash
            same = _live_with_reference(session, agent_id, key)
            if same is not None:
                if keyless and same.reference == reference and same.amount == amount:
                    return same, False
                _refuse_reused(same)
            check_available(amount, account.cash_on_hand, pending_total(session, agent_id))
            deposit = Deposit(agent_id=agent_id, branch_id=branch_id, amount=amount,
                              reference=reference, reference_key=key, note=note,
                              idempotency_key=idempotency_key,
                              status=DepositStatus.PENDING, declared_at=now)
            session.add(deposit)
            session.flush()
            audit.record(session, actor, "deposit.declare", "deposit", deposit.id,
                         after={"agent_id": agent_id, "amount": amount, "reference": reference,
                                "cash_on_hand": account.cash_on_hand})
    except IntegrityError:
        # The same form won a simultaneous race (PostgreSQL): answer with the first one.
        session.rollback()
        earlier = _by_key(session, idempotency_key)
        if earlier is not None:
            return _replay(earlier, agent_id)
        same = _live_with_reference(session, agent_id, key)
        if same is not None:
            _refuse_reused(same)
        raise
    return deposit, True


def _live_with_reference(session: Session, agent_id: int, key: str) -> Deposit | None:
    """The agent's pending or verified deposit with this bank reference, if any."""
    return session.scalars(select(Deposit).where(
        Deposit.agent_id == agent_id, Deposit.reference_key == key,
        Deposit.status.in_((DepositStatus.PENDING, DepositStatus.VERIFIED)))).first()


def _refuse_reused(same: Deposit):
    raise Conflict(REFERENCE_USED[same.status], reference=same.reference,
                   amount=Money(same.amount))


def _by_key(session: Session, key: str) -> Deposit | None:
    return session.scalars(select(Deposit).where(Deposit.idempotency_key == key)).first()


def _replay(deposit: Deposit, agent_id: int) -> tuple[Deposit, bool]:
    if deposit.agent_id != agent_id:
        raise Conflict(USED_FORM)
    return deposit, False


ALREADY_DECIDED = {
    DepositStatus.VERIFIED: N_("Setoran ini sudah terverifikasi; keputusan tidak bisa diubah dan "
                               "tidak ada yang berubah."),
    DepositStatus.REJECTED: N_("Setoran ini sudah ditolak; keputusan tidak bisa diubah dan tidak "
                               "ada yang berubah."),
}


def _for_decision(session: Session, deposit_id: int, supervisor: User) -> Deposit:
    deposit = session.scalars(lock(select(Deposit).where(Deposit.id == deposit_id), session)).first()
    if deposit is None or not supervisor.is_supervisor or deposit.branch_id != supervisor.branch_id:
        raise DomainError("Setoran tidak ditemukan.", status_code=404)
    if deposit.agent_id == supervisor.id:
        raise DomainError("Setoran sendiri tidak boleh diputuskan sendiri.", status_code=403)
    if deposit.status != DepositStatus.PENDING:
        raise Conflict(ALREADY_DECIDED[deposit.status])
    return deposit


@retry_transient
def verify(session: Session, deposit_id: int, *, supervisor: User, actor: Actor,
           now: datetime | None = None) -> Deposit:
    """The money reached the branch: take it off the agent's cash on hand, once."""
    with write_transaction(session):
        now = now or utcnow()
        deposit = _for_decision(session, deposit_id, supervisor)
        account = books.account_for_update(session, deposit.agent_id)
        # Settled in the branch it was declared in: the agent's cash in that branch's books.
        held = min(account.cash_on_hand,
                   books.cash_in_branch(session, deposit.agent_id, deposit.branch_id))
        if held < deposit.amount:
            raise Conflict("Setoran %(amount)s lebih besar dari uang tunai agen saat ini (%(cash)s), "
                           "mungkin karena ada pembatalan yang disetujui. Tolak setoran ini dan "
                           "minta agen mengajukan ulang.", amount=Money(deposit.amount),
                           cash=Money(held))
        before = {"status": deposit.status, "cash_on_hand": account.cash_on_hand}
        books.on_deposit_verified(session, deposit, at=now)
        deposit.status = DepositStatus.VERIFIED
        deposit.decided_by_id = supervisor.id
        deposit.decided_at = now
        audit.record(session, actor, "deposit.verify", "deposit", deposit.id, before=before,
                     after={"status": DepositStatus.VERIFIED, "amount": deposit.amount,
                            "cash_on_hand": account.cash_on_hand})
    return deposit


@retry_transient
def reject(session: Session, deposit_id: int, *, supervisor: User, reason: str, actor: Actor,
           now: datetime | None = None) -> Deposit:
    reason = clean_reject_reason(reason)
    with write_transaction(session):
        now = now or utcnow()
        deposit = _for_decision(session, deposit_id, supervisor)
        deposit.status = DepositStatus.REJECTED
        deposit.decided_by_id = supervisor.id
        deposit.decided_at = now
        deposit.reject_reason = reason
        audit.record(session, actor, "deposit.reject", "deposit", deposit.id,
                     before={"status": DepositStatus.PENDING},
                     after={"status": DepositStatus.REJECTED, "reason": reason,
                            "amount": deposit.amount})
    return deposit
