"""Deposits: what an agent may declare, and the reasons a supervisor gives."""
from __future__ import annotations

import re

from . import DomainError
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
