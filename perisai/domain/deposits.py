"""Deposits: what an agent may declare, and the reasons a supervisor gives."""
from __future__ import annotations

import re

from . import N_, DomainError
from .inputs import clean_text, parse_rupiah
from .text import Money

MAX_REFERENCE = 60
MAX_NOTE = 300
MAX_REASON = 300


def parse_amount(text: str | None) -> int:
    """The typed amount as whole rupiah (36800, 36.800, Rp36.800), or why it is not one."""
    typed = (text or "").strip()
    if not typed:
        raise DomainError("Isi jumlah setoran dalam rupiah (mis. 500000).")
    amount = parse_rupiah(typed)
    if amount is None:
        if re.sub(r"^rp\.?", "", typed.lower()).strip().startswith("-"):
            raise DomainError("Jumlah setoran harus lebih dari nol.")
        raise DomainError("Jumlah setoran hanya berisi angka rupiah, tanpa koma (mis. 500000).")
    if amount <= 0:
        raise DomainError("Jumlah setoran harus lebih dari nol.")
    return amount


def clean_declaration(amount: int, reference: str | None, note: str | None) -> tuple[str, str | None]:
    """The reference and note as they will be stored, or why the declaration is refused."""
    reference = clean_text(reference)
    note = clean_text(note) or None
    if amount <= 0:
        raise DomainError("Jumlah setoran harus lebih dari nol.")
    if not reference:
        raise DomainError("Isi nomor referensi setoran (mis. nomor transfer bank).")
    if len(reference) > MAX_REFERENCE:
        raise DomainError("Nomor referensi paling panjang %(max)d karakter.", max=MAX_REFERENCE)
    if note and len(note) > MAX_NOTE:
        raise DomainError("Catatan paling panjang %(max)d karakter.", max=MAX_NOTE)
    return reference, note


def reference_key(reference: str) -> str:
    """The bank reference as the uniqueness rule compares it: letters and digits only, upper
    case ("trf 0012-345" and "TRF0012345" are one transfer)."""
    key = "".join(ch for ch in reference.upper() if ch.isalnum())
    return (key or reference.upper())[:MAX_REFERENCE]


REFERENCE_USED = {
    "pending": N_("Nomor referensi %(reference)s sudah dipakai untuk setoran %(amount)s yang "
                  "masih menunggu verifikasi. Satu transfer bank hanya boleh dilaporkan sekali: "
                  "periksa lagi nomor referensinya. Tidak ada yang dicatat."),
    "verified": N_("Nomor referensi %(reference)s sudah dipakai untuk setoran %(amount)s yang "
                   "sudah terverifikasi. Satu transfer bank hanya boleh dilaporkan sekali: "
                   "periksa lagi nomor referensinya. Tidak ada yang dicatat."),
}

# How close in time two deposits of one agent with the same amount must be for the supervisor
# to be warned that they may be one transfer declared twice.
NEAR_DUPLICATE_DAYS = 3


def similar_references(a: str, b: str) -> bool:
    """Two reference keys that may be one transfer typed twice: equal without leading zeros,
    or one inside the other (at least 6 characters: a prefix or suffix left off)."""
    if a.lstrip("0") == b.lstrip("0"):
        return True
    shorter, longer = sorted((a, b), key=len)
    return len(shorter) >= 6 and shorter in longer


def is_near_duplicate(amount: int, key: str, declared_days_apart: float, other_amount: int,
                      other_key: str) -> bool:
    """Whether the supervisor should be warned that two deposits may be one transfer."""
    if similar_references(key, other_key):
        return True
    return amount == other_amount and declared_days_apart <= NEAR_DUPLICATE_DAYS


def check_available(amount: int, cash_on_hand: int, waiting: int) -> None:
    """A declaration may not exceed the cash not yet declared."""
    available = cash_on_hand - waiting
    if amount <= available:
        return
    if waiting:
        raise DomainError(
            "Setoran %(amount)s lebih besar dari uang tunai yang belum disetor: %(available)s (uang "
            "di tangan %(cash)s, %(waiting)s sudah diajukan dan menunggu verifikasi).",
            amount=Money(amount), available=Money(max(available, 0)), cash=Money(cash_on_hand),
            waiting=Money(waiting))
    raise DomainError("Setoran %(amount)s lebih besar dari uang tunai di tangan (%(cash)s).",
                      amount=Money(amount), cash=Money(cash_on_hand))


def clean_reject_reason(reason: str | None) -> str:
    reason = clean_text(reason)
    if not reason:
        raise DomainError("Tulis alasan penolakan agar agen tahu apa yang harus diperbaiki.")
    if len(reason) > MAX_REASON:
        raise DomainError("Alasan paling panjang %(max)d karakter.", max=MAX_REASON)
    return reason
