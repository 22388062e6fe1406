"""Deposits: an agent declares cash paid in to the branch; a supervisor of that branch verifies
or rejects it. Only a verified deposit moves the ledger, and only once."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import Conflict, DomainError, N_
from ..domain.clock import utcnow
from ..domain.rates import rupiah
from ..models import Deposit, User
from . import Actor, audit, ledger
from .tx import lock, write_transaction

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_\-]{16,64}")
MAX_REFERENCE = 60
MAX_NOTE = 300
MAX_REASON = 300
STATUS_LABELS = {"pending": N_("Menunggu verifikasi"), "verified": N_("Terverifikasi"),
                 "rejected": N_("Ditolak")}


def parse_amount(text: str | None) -> int:
    """The typed amount as whole rupiah (36800, 36.800, Rp36.800), or why it is not one."""
    typed = re.sub(r"^rp\.?", "", (text or "").strip().lower()).strip().replace(".", "").replace(" ", "")
    if not typed:
        raise DomainError("Isi jumlah setoran dalam rupiah (mis. 500000).")
    if typed.startswith("-"):
        raise DomainError("Jumlah setoran harus lebih dari nol.")
    if not (typed.isascii() and typed.isdigit()) or len(typed) > 12:
        raise DomainError("Jumlah setoran hanya berisi angka rupiah, tanpa koma (mis. 500000).")
    amount = int(typed)
    if amount <= 0:
        raise DomainError("Jumlah setoran harus lebih dari nol.")
    return amount


def pending_total(session: Session, agent_id: int) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(Deposit.amount), 0)).where(
        Deposit.agent_id == agent_id, Deposit.status == "pending")) or 0)


def declare(session: Session, *, agent: User, amount: int, reference: str, note: str | None,
            idempotency_key: str, actor: Actor,
            now: datetime | None = None) -> tuple[Deposit, bool]:
    """Record a declared deposit. Returns (deposit, created); the same form sent twice returns
    the first declaration with created=False.

    The form carries a server-made `idempotency_key`. A client that posts only the contract's
    fields (`amount`, `reference`) is deduplicated by what it sent instead: the same amount with
    the same bank reference, still pending or verified, is the same deposit."""
    keyless = not idempotency_key
    if keyless:
        idempotency_key = "auto-" + secrets.token_urlsafe(24)
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise DomainError("Formulir ini sudah usang. Muat ulang halaman, lalu coba lagi.")
    reference = " ".join((reference or "").split())
    note = " ".join((note or "").split()) or None
    if amount <= 0:
        raise DomainError("Jumlah setoran harus lebih dari nol.")
    if not reference:
        raise DomainError("Isi nomor referensi setoran (mis. nomor transfer bank).")
    if len(reference) > MAX_REFERENCE:
        raise DomainError(f"Nomor referensi paling panjang {MAX_REFERENCE} karakter.")
    if note and len(note) > MAX_NOTE:
        raise DomainError(f"Catatan paling panjang {MAX_NOTE} karakter.")
    agent_id, branch_id = agent.id, agent.branch_id
    earlier = _by_key(session, idempotency_key)
    if earlier is not None:
        return _replay(earlier, agent_id)
    try:
        with write_transaction(session):
            now = now or utcnow()
            account = ledger.account_for_update(session, agent_id)  # serialises this agent's cash
            if keyless:
                same = session.scalars(select(Deposit).where(
                    Deposit.agent_id == agent_id, Deposit.reference == reference,
                    Deposit.amount == amount, Deposit.status.in_(("pending", "verified")))).first()
                if same is not None:
                    return same, False
            waiting = pending_total(session, agent_id)
            available = account.cash_on_hand - waiting
            if amount > available:
                if waiting:
                    raise DomainError(
                        f"Setoran {rupiah(amount)} lebih besar dari uang tunai yang belum disetor: "
                        f"{rupiah(max(available, 0))} (uang di tangan {rupiah(account.cash_on_hand)}, "
                        f"{rupiah(waiting)} sudah diajukan dan menunggu verifikasi).")
                raise DomainError(f"Setoran {rupiah(amount)} lebih besar dari uang tunai di tangan "
                                  f"({rupiah(account.cash_on_hand)}).")
            deposit = Deposit(agent_id=agent_id, branch_id=branch_id, amount=amount,
                              reference=reference, note=note, idempotency_key=idempotency_key,
                              status="pending", declared_at=now)
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
        raise
    return deposit, True


def _by_key(session: Session, key: str) -> Deposit | None:
    return session.scalars(select(Deposit).where(Deposit.idempotency_key == key)).first()


def _replay(deposit: Deposit, agent_id: int) -> tuple[Deposit, bool]:
    if deposit.agent_id != agent_id:
        raise Conflict("Formulir ini sudah dipakai. Muat ulang halaman, lalu coba lagi.")
    return deposit, False


def _for_decision(session: Session, deposit_id: int, supervisor: User) -> Deposit:
    deposit = session.scalars(lock(select(Deposit).where(Deposit.id == deposit_id), session)).first()
    if deposit is None or not supervisor.is_supervisor or deposit.branch_id != supervisor.branch_id:
        raise DomainError("Setoran tidak ditemukan.", status_code=404)
    if deposit.agent_id == supervisor.id:
        raise DomainError("Setoran sendiri tidak boleh diputuskan sendiri.", status_code=403)
    if deposit.status != "pending":
        raise Conflict(f"Setoran ini sudah {STATUS_LABELS[deposit.status].lower()}; "
                       "keputusan tidak bisa diubah dan tidak ada yang berubah.")
    return deposit


def verify(session: Session, deposit_id: int, *, supervisor: User, actor: Actor,
           now: datetime | None = None) -> Deposit:
    """The money reached the branch: take it off the agent's cash on hand, once."""
    with write_transaction(session):
        now = now or utcnow()
        deposit = _for_decision(session, deposit_id, supervisor)
        account = ledger.account_for_update(session, deposit.agent_id)
        if account.cash_on_hand < deposit.amount:
            raise Conflict(f"Setoran {rupiah(deposit.amount)} lebih besar dari uang tunai agen saat "
                           f"ini ({rupiah(account.cash_on_hand)}), mungkin karena ada pembatalan "
                           "yang disetujui. Tolak setoran ini dan minta agen mengajukan ulang.")
        before = {"status": deposit.status, "cash_on_hand": account.cash_on_hand}
        ledger.post(session, agent_id=deposit.agent_id, branch_id=deposit.branch_id,
                    kind="deposit", amount=-deposit.amount, deposit_id=deposit.id, at=now)
        deposit.status = "verified"
        deposit.decided_by_id = supervisor.id
        deposit.decided_at = now
        audit.record(session, actor, "deposit.verify", "deposit", deposit.id, before=before,
                     after={"status": "verified", "amount": deposit.amount,
                            "cash_on_hand": account.cash_on_hand})
    return deposit


def reject(session: Session, deposit_id: int, *, supervisor: User, reason: str, actor: Actor,
           now: datetime | None = None) -> Deposit:
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("Tulis alasan penolakan agar agen tahu apa yang harus diperbaiki.")
    if len(reason) > MAX_REASON:
        raise DomainError(f"Alasan paling panjang {MAX_REASON} karakter.")
    with write_transaction(session):
        now = now or utcnow()
        deposit = _for_decision(session, deposit_id, supervisor)
        deposit.status = "rejected"
        deposit.decided_by_id = supervisor.id
        deposit.decided_at = now
        deposit.reject_reason = reason
        audit.record(session, actor, "deposit.reject", "deposit", deposit.id,
                     before={"status": "pending"},
                     after={"status": "rejected", "reason": reason, "amount": deposit.amount})
    return deposit


@dataclass(frozen=True)
class DepositPanel:
    items: list[Deposit]     # the pending deposits, then the latest decided ones
    pending_total: int
    available: int           # cash on hand less what already waits for verification


def panel_for_agent(session: Session, agent_id: int, cash_on_hand: int,
                    limit: int = 5) -> DepositPanel:
    """What the agent's deposit box shows, in one query: every pending deposit, then the latest
    decided ones (so a rejection is seen)."""
    latest_decided = (select(Deposit.id).where(Deposit.agent_id == agent_id,
                                               Deposit.status != "pending")
                      .order_by(Deposit.decided_at.desc(), Deposit.id.desc()).limit(limit))
    rows = session.scalars(select(Deposit).where(
        Deposit.agent_id == agent_id,
        or_(Deposit.status == "pending", Deposit.id.in_(latest_decided)))).all()
    pending = sorted((d for d in rows if d.status == "pending"),
                     key=lambda d: (d.declared_at, d.id), reverse=True)
    decided = sorted((d for d in rows if d.status != "pending"),
                     key=lambda d: (d.decided_at or d.declared_at, d.id), reverse=True)
    waiting = sum(d.amount for d in pending)
    return DepositPanel(pending + decided, waiting, max(cash_on_hand - waiting, 0))


def visible_deposit(session: Session, deposit_id: int, user: User) -> Deposit:
    deposit = session.get(Deposit, deposit_id)
    if deposit is None or deposit.branch_id != user.branch_id:
        raise DomainError("Setoran tidak ditemukan.", status_code=404)
    return deposit
