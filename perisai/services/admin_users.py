"""What an admin changes: users (deactivate, reset password, move agent), branches and the rate
schedule. Each change runs in one write transaction with its audit event.

Deactivation and password reset bump `session_version`, which is part of the login cookie's user
id, so every session of that user ends at its next request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload

from ..domain import Conflict, DomainError
from ..domain.months import add_months, month_of
from ..domain.rates import rupiah
from ..models import AgentAccount, Bill, Branch, Collection, RateSchedule, Reversal, User, Worker
from . import Actor, audit
from .tx import lock, write_transaction
from .users import MIN_PASSWORD, hash_password

TIMEZONES = ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")
BRANCH_CODE = re.compile(r"[A-Z0-9]{3,10}")


def _user_for_update(session: Session, user_id: int) -> User:
    # Without the joined branch: PostgreSQL refuses FOR UPDATE on the nullable side of an outer join.
    user = session.scalars(lock(select(User).options(lazyload(User.branch))
                                .where(User.id == user_id), session)).first()
    if user is None:
        raise DomainError("Pengguna tidak ditemukan.", status_code=404)
    return user


def deactivate_user(session: Session, user_id: int, *, actor: Actor) -> User:
    if user_id == actor.id:
        raise DomainError("Anda tidak bisa menonaktifkan akun Anda sendiri.")
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        if not user.active:
            raise Conflict(f"Akun {user.username} sudah nonaktif.")
        user.active = False
        user.session_version += 1
        audit.record(session, actor, "user.deactivate", "user", user.username,
                     before={"active": True}, after={"active": False,
                                                     "session_version": user.session_version})
    return user


def reactivate_user(session: Session, user_id: int, *, actor: Actor) -> User:
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        if user.active:
            raise Conflict(f"Akun {user.username} sudah aktif.")
        user.active = True
        audit.record(session, actor, "user.reactivate", "user", user.username,
                     before={"active": False}, after={"active": True})
    return user


def reset_password(session: Session, user_id: int, new_password: str, *, actor: Actor) -> User:
    if len(new_password or "") < MIN_PASSWORD:
        raise DomainError(f"Kata sandi baru paling sedikit {MIN_PASSWORD} karakter.")
    if len(new_password) > 200:
        raise DomainError("Kata sandi terlalu panjang (paling banyak 200 karakter).")
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        user.password_hash = hash_password(new_password)
        user.session_version += 1
        # The hash is never written to the audit trail, only that it changed.
        audit.record(session, actor, "user.reset_password", "user", user.username,
                     after={"session_version": user.session_version})
    return user


def move_agent(session: Session, user_id: int, branch_code: str, *, actor: Actor) -> User:
    """An agent changes branch only with empty hands: the old branch's supervisor must first
    verify the deposit of every rupiah it collected and decide its reversal requests.

    The agent's members and their open codes move with it, so the members stay visible to the
    supervisor who oversees their agent and nothing of one branch is handled in another. Past
    payments keep their branch: they are the old branch's books."""
    with write_transaction(session):
        user = _user_for_update(session, user_id)
        if user.role != "agent":
            raise DomainError("Hanya agen yang bisa dipindah cabang.")
        branch = session.scalars(select(Branch).where(Branch.code == (branch_code or ""))).first()
        if branch is None:
            raise DomainError("Pilih kantor cabang tujuan.")
        if branch.id == user.branch_id:
            raise DomainError(f"{user.username} sudah di {branch.name}.")
        cash = session.scalar(select(AgentAccount.cash_on_hand).where(
            AgentAccount.agent_id == user.id)) or 0
        if cash > 0:
            raise Conflict(f"{user.username} masih memegang {rupiah(cash)}. Setorkan dan minta "
                           "pengawas cabang lama memverifikasi dulu, baru pindahkan.")
        pending = session.scalar(select(func.count(Reversal.id)).join(Collection).where(
            Collection.agent_id == user.id, Reversal.status == "pending"))
        if pending:
            raise Conflict(f"{user.username} masih punya {pending} permintaan pembatalan yang belum "
                           "diputuskan pengawas cabang lama. Selesaikan dulu, baru pindahkan.")
        old = user.branch.code if user.branch else None
        user.branch_id = branch.id
        members = session.execute(update(Worker).where(Worker.agent_id == user.id)
                                  .values(branch_id=branch.id)).rowcount
        open_codes = session.execute(update(Bill).where(Bill.agent_id == user.id,
                                                        Bill.status == "open")
                                     .values(branch_id=branch.id)).rowcount
        audit.record(session, actor, "user.move", "user", user.username,
                     before={"branch": old},
                     after={"branch": branch.code, "members": members, "open_codes": open_codes})
    session.refresh(user)
    return user


# --- branches -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BranchInput:
    name: str
    timezone: str
    cash_limit: int


def parse_branch(name: str, timezone: str, cash_limit: str) -> BranchInput:
    problems = []
    name = (name or "").strip()
    if not name or len(name) > 120:
        problems.append("Nama cabang wajib diisi (paling banyak 120 karakter).")
    if timezone not in TIMEZONES:
        problems.append("Pilih zona waktu: WIB (Asia/Jakarta), WITA (Asia/Makassar) atau WIT (Asia/Jayapura).")
    digits = re.sub(r"[.\s]|^Rp", "", (cash_limit or "").strip())
    limit = int(digits) if digits.isascii() and digits.isdigit() and len(digits) <= 12 else 0
    if limit <= 0:
        problems.append("Batas uang tunai harus angka rupiah lebih dari 0 (mis. 2000000).")
    if problems:
        raise DomainError(" ".join(problems))
    return BranchInput(name, timezone, limit)


def create_branch(session: Session, code: str, data: BranchInput, *, actor: Actor) -> Branch:
    code = (code or "").strip().upper()
    if not BRANCH_CODE.fullmatch(code):
        raise DomainError("Kode cabang 3–10 huruf besar atau angka (mis. BDG02).")
    with write_transaction(session):
        if session.scalar(select(Branch.id).where(Branch.code == code)) is not None:
            raise Conflict(f"Kode cabang {code} sudah dipakai.")
        branch = Branch(code=code, name=data.name, timezone=data.timezone, cash_limit=data.cash_limit)
        session.add(branch)
        session.flush()
        audit.record(session, actor, "branch.create", "branch", code,
                     after={"name": data.name, "timezone": data.timezone, "cash_limit": data.cash_limit})
    return branch


def update_branch(session: Session, branch_id: int, data: BranchInput, *, actor: Actor) -> Branch:
    with write_transaction(session):
        branch = session.scalars(lock(select(Branch).where(Branch.id == branch_id), session)).first()
        if branch is None:
            raise DomainError("Kantor cabang tidak ditemukan.", status_code=404)
        before = {"name": branch.name, "timezone": branch.timezone, "cash_limit": branch.cash_limit}
        after = {"name": data.name, "timezone": data.timezone, "cash_limit": data.cash_limit}
        if before == after:
            return branch
        branch.name, branch.timezone, branch.cash_limit = data.name, data.timezone, data.cash_limit
        audit.record(session, actor, "branch.update", "branch", branch.code, before=before, after=after)
    return branch


# --- rate schedule --------------------------------------------------------------------------

RATE_FIELDS = ("jkk_basis_points", "jkm_flat", "jht_basis_points", "min_income", "max_income",
               "income_step")
RATE_LABELS = {"jkk_basis_points": "JKK (basis poin)", "jkm_flat": "JKM (Rp)",
               "jht_basis_points": "JHT (basis poin)", "min_income": "Penghasilan terendah",
               "max_income": "Penghasilan tertinggi", "income_step": "Kelipatan penghasilan"}


def parse_month(text: str) -> date | None:
    """'2027-01' or '2027-01-01' → 2027-01-01; any other day of the month is refused."""
    text = (text or "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", text)
    if not match:
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    except ValueError:
        return None
    return day if day.day == 1 else None


def add_rate(session: Session, values: dict[str, str], *, today: date, actor: Actor) -> RateSchedule:
    """A new effective-dated rate from the first day of a future month; the past stays as it was
    priced, so earlier bills and slips keep their meaning."""
    problems = []
    start = parse_month(values.get("effective_from", ""))
    if start is None:
        problems.append("Berlaku mulai: isi bulan (TTTT-BB), hari pertama bulan.")
    elif start <= month_of(today):
        problems.append(f"Berlaku mulai harus bulan yang akan datang (paling cepat "
                        f"{add_months(month_of(today), 1):%Y-%m}); tarif yang sudah berlaku tidak bisa diubah.")
    numbers = {}
    for name in RATE_FIELDS:
        raw = re.sub(r"[.\s]", "", (values.get(name) or "").strip())
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 12:
            problems.append(f"{RATE_LABELS[name]}: isi angka bulat tidak negatif.")
        else:
            numbers[name] = int(raw)
    if len(numbers) == len(RATE_FIELDS):
        if numbers["jkk_basis_points"] > 10_000 or numbers["jht_basis_points"] > 10_000:
            problems.append("Basis poin paling banyak 10000 (100%).")
        if numbers["min_income"] <= 0 or numbers["income_step"] <= 0:
            problems.append("Penghasilan terendah dan kelipatannya harus lebih dari 0.")
        if numbers["max_income"] < numbers["min_income"]:
            problems.append("Penghasilan tertinggi tidak boleh di bawah yang terendah.")
    source = (values.get("source") or "").strip()
    if not source or len(source) > 2000:
        problems.append("Sumber (dasar hukum) wajib diisi, paling banyak 2000 karakter.")
    if problems:
        raise DomainError(" ".join(problems))
    with write_transaction(session):
        if session.scalar(select(RateSchedule.id).where(RateSchedule.effective_from == start)):
            raise Conflict(f"Sudah ada tarif yang berlaku mulai {start:%Y-%m}.")
        rate = RateSchedule(effective_from=start, source=source, **numbers)
        session.add(rate)
        session.flush()
        audit.record(session, actor, "rate.create", "rate_schedule", start.isoformat(),
                     after=dict(numbers, source=source))
    return rate
