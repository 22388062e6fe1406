"""Rules for accounts and branches: usernames, passwords, branch codes and settings."""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import DomainError
from .clock import ZONES
from .inputs import parse_rupiah
from .text import Joined, text
from .statuses import Role

USERNAME = re.compile(r"[a-z0-9_.]{3,40}")
BRANCH_CODE = re.compile(r"[A-Z0-9]{3,10}")
MIN_PASSWORD = 8
MAX_PASSWORD = 200


def clean_username(username: str | None) -> str:
    username = (username or "").strip().lower()
    if not USERNAME.fullmatch(username):
        raise DomainError("Nama pengguna 3–40 huruf kecil, angka, titik atau garis bawah.")
    return username


def check_password(password: str | None, *, new: bool = False) -> str:
    """Checked before anything is written, so a refused password changes nothing."""
    if len(password or "") < MIN_PASSWORD:
        message = ("Kata sandi baru paling sedikit %(min)d karakter." if new
                   else "Kata sandi paling sedikit %(min)d karakter.")
        raise DomainError(message, min=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise DomainError("Kata sandi terlalu panjang (paling banyak %(max)d karakter).",
                          max=MAX_PASSWORD)
    return password


def check_role(role: str | None) -> Role:
    if role not in tuple(Role):
        raise DomainError("Peran tidak dikenal.")
    return Role(role)


def clean_branch_code(code: str | None) -> str:
    code = (code or "").strip().upper()
    if not BRANCH_CODE.fullmatch(code):
        raise DomainError("Kode cabang 3–10 huruf besar atau angka (mis. BDG02).")
    return code


@dataclass(frozen=True)
class BranchInput:
    name: str
    timezone: str
    cash_limit: int


def parse_branch(name: str, timezone: str, cash_limit: str) -> BranchInput:
    problems = []
    name = (name or "").strip()
    if not name or len(name) > 120:
        problems.append(text("Nama cabang wajib diisi (paling banyak 120 karakter)."))
    if timezone not in ZONES:
        problems.append(text("Pilih zona waktu: WIB (Asia/Jakarta), WITA (Asia/Makassar) atau WIT (Asia/Jayapura)."))
    limit = parse_rupiah(cash_limit) or 0
    if limit <= 0:
        problems.append(text("Batas uang tunai harus angka rupiah lebih dari 0 (mis. 2000000)."))
    if problems:
        raise DomainError(Joined(tuple(problems)))
    return BranchInput(name, timezone, limit)
