"""Reversals (maker-checker): which payment can be undone, and what the member's months become."""
from __future__ import annotations

from datetime import date

from . import Conflict, DomainError
from .inputs import clean_text
from .months import add_months

MAX_REASON = 500


def clean_reason(reason: str | None, *, required: bool) -> str | None:
    reason = clean_text(reason)
    if not reason:
        if required:
            raise DomainError("Tulis alasan pembatalan (mis. kode salah, uang belum diterima).")
        return None
    if len(reason) > MAX_REASON:
        raise DomainError("Alasan paling panjang %(max)d karakter.", max=MAX_REASON)
    return reason


def check_this_membership(collection_first_month: date, worker_first_month: date) -> None:
    """A payment made before the member lapsed and registered again belongs to the old
    membership: undoing it cannot move the new one's months back."""
    if collection_first_month < worker_first_month:
        raise Conflict("Pembayaran ini dari kepesertaan lama, sebelum pekerja didaftarkan ulang; "
                       "tidak bisa dibatalkan lagi. Hubungi pengawas cabang.")


def paid_through_after(collection_first_month: date, worker_first_month: date) -> date | None:
    """The member's paid-through month once this (latest) collection no longer counts."""
    previous = add_months(collection_first_month, -1)
    return None if previous < worker_first_month else previous
