"""When the cash was taken, and how late its record arrived.

An agent offline records the collection on the phone with the time the cash changed hands
(`taken_at`); the record reaches the server later. The cash counts from when it was taken
(incentives, cash on hand, ageing); the delay is shown to the supervisor, because a late
entry is also a way to backdate cash.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from . import DomainError
from .statuses import LateReview

LATE_AFTER = timedelta(minutes=10)
REVIEW_AFTER = timedelta(hours=72)
# A phone's clock may run a little ahead of the server's: this much is taken as "now".
CLOCK_SKEW = timedelta(minutes=5)

BAD_TAKEN_AT = "Waktu terima uang tidak terbaca. Kirim ulang dari halaman Terima bayar."
TAKEN_IN_FUTURE = "Waktu terima uang ada di masa depan. Periksa jam di ponsel, lalu kirim lagi."
TAKEN_BEFORE_BILL = ("Waktu terima uang lebih awal dari waktu kode dibuat. "
                     "Periksa jam di ponsel. Jangan terima uang sebelum ada kode.")


def parse_taken_at(value: str | None) -> datetime | None:
    """ISO 8601 with an offset (2026-12-03T14:05:00+07:00 or …Z) → naive UTC; empty → None.
    A time without an offset is refused: its zone cannot be guessed."""
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > 40:
        raise DomainError(BAD_TAKEN_AT)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DomainError(BAD_TAKEN_AT) from None
    if moment.tzinfo is None:
        raise DomainError(BAD_TAKEN_AT)
    return moment.astimezone(timezone.utc).replace(tzinfo=None)


def check_taken_at(taken: datetime | None, *, bill_created: datetime, now: datetime) -> datetime:
    """The time the cash counts from: `taken` when it is believable, else a DomainError.
    No `taken` means now (an online collection)."""
    if taken is None:
        return now
    if taken > now + CLOCK_SKEW:
        raise DomainError(TAKEN_IN_FUTURE)
    if taken < bill_created:
        raise DomainError(TAKEN_BEFORE_BILL)
    return min(taken, now)


def is_late(taken: datetime, received: datetime | None) -> bool:
    return received is not None and received - taken > LATE_AFTER


def review_for(taken: datetime, received: datetime) -> LateReview | None:
    """Pending when the record arrived more than 72 hours after the cash was taken."""
    return LateReview.PENDING if received - taken > REVIEW_AFTER else None
