"""Parsing what people type: money, dates, months, periods, form keys. One home for each.

Each parser takes the raw string and returns a value, or None / a DomainError saying in plain
Bahasa Indonesia what to type instead.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import date

from . import N_, DomainError
from .months import month_of

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_\-]{16,64}")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_PERIOD_DAYS = 366
STALE_FORM = N_("Formulir ini sudah usang. Muat ulang halaman, lalu coba lagi.")
# Dates a report or statement may ask for. The calendar's own edges (0001-01-01, 9999-12-31)
# cannot be turned into a UTC day or stepped past; no payment is that old or that far ahead.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
OUT_OF_RANGE = N_("Tanggal harus antara %(first)s dan %(last)s.")
BAD_RETURN_ADDRESS = N_("Alamat kembali (next) berisi karakter yang tidak boleh. Tidak ada yang "
                        "diubah; buka lagi halamannya dari menu, lalu coba lagi.")


def new_form_key() -> str:
    """A fresh idempotency key for a form that must never be recorded twice."""
    return secrets.token_urlsafe(24)


def is_form_key(value: str | None) -> bool:
    return bool(IDEMPOTENCY_KEY.fullmatch(value or ""))


def require_form_key(value: str | None) -> str:
    if not is_form_key(value):
        raise DomainError(STALE_FORM)
    return value


def form_digest(fields: dict) -> str:
    """What a form said, as one digest: the same fields typed the same way give the same
    digest (spaces collapsed), so a resent form is recognised and a changed one is not."""
    parts = [f"{name}={clean_text(str(fields[name] if fields[name] is not None else ''))}"
             for name in sorted(fields)]
    return hashlib.sha256("\n".join(parts).encode("utf-8", "replace")).hexdigest()


def clean_text(value: str | None) -> str:
    """Spaces collapsed, ends trimmed."""
    return " ".join((value or "").split())


def parse_rupiah(value: str | None) -> int | None:
    """1500000, 1.500.000 or Rp 1.500.000 → 1500000; anything else (a sign, a comma, letters,
    more than 12 digits) → None."""
    text = re.sub(r"^rp\.?", "", (value or "").strip().lower()).strip()
    text = text.replace(".", "").replace(" ", "")
    if not text or not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    return int(text)


def parse_iso_date(value: str | None) -> date | None:
    """TTTT-BB-HH (1985-08-17) as a calendar date, or None."""
    value = (value or "").strip()
    if not ISO_DATE.fullmatch(value):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def parse_month(value: str | None, *, first_day_allowed: bool = False) -> date | None:
    """TTTT-BB (2027-01) as the first day of that month, or None. With `first_day_allowed`,
    TTTT-BB-01 is accepted too (any other day is not)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})(?:-(\d{2}))?", (value or "").strip())
    if not match or (match.group(3) and not first_day_allowed):
        return None
    try:
        day = date(int(match.group(1)), int(match.group(2)), int(match.group(3) or 1))
    except ValueError:
        return None
    return day if day.day == 1 else None


def parse_period(raw_from: str | None, raw_to: str | None, today: date, *,
                 default_this_month: bool = True) -> tuple[date, date]:
    """`from` and `to` as whole days, both included, at most MAX_PERIOD_DAYS apart. Left out,
    they are this month up to today (unless `default_this_month` is off: then both are needed)."""
    def parse(raw: str | None, default: date) -> date:
        raw = (raw or "").strip()[:20]
        if not raw and default_this_month:
            return default
        day = parse_iso_date(raw)
        if day is None:
            raise DomainError("Tanggal harus berbentuk TTTT-BB-HH (mis. %(example)s).",
                              example=today.isoformat())
        _require_in_range(day)
        return day
    date_from = parse(raw_from, month_of(today))
    date_to = parse(raw_to, today)
    if date_to < date_from:
        raise DomainError("Tanggal akhir tidak boleh sebelum tanggal awal.")
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise DomainError("Periode paling panjang %(days)d hari; bagi menjadi beberapa bagian.",
                          days=MAX_PERIOD_DAYS)
    return date_from, date_to


def require_month(value: str | None) -> date:
    month = parse_month(value)
    if month is None:
        raise DomainError("Bulan harus berbentuk TTTT-BB (mis. 2026-11).")
    _require_in_range(month)
    return month


def _require_in_range(day: date) -> None:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise DomainError(OUT_OF_RANGE, first=EARLIEST_DAY.isoformat(),
                          last=LATEST_DAY.isoformat())


def check_return_address(target: str | None) -> str:
    """A `next` field as sent (or ""), refused (400) when it holds a control character: a
    newline cannot go into a Location header, and no address of ours has one. Checked before
    anything is decided, so the refusal never follows a change."""
    target = target or ""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        raise DomainError(BAD_RETURN_ADDRESS, status_code=400)
    return target


def join_birth_date(day: str | None, month: str | None, year: str | None) -> str:
    """Day, month and year typed in three boxes, as the YYYY-MM-DD the form field carries.
    A part left empty gives "" (nothing typed yet); parts that are not a day, a month and a
    four-digit year give "?", which `parse_iso_date` refuses, so the checklist says so."""
    parts = [(part or "").strip()[:4] for part in (day, month, year)]
    if not all(parts):
        return ""
    day_part, month_part, year_part = parts
    if not (all(part.isascii() and part.isdigit() for part in parts)
            and len(year_part) == 4 and len(day_part) <= 2 and len(month_part) <= 2):
        return "?"
    return f"{year_part}-{int(month_part):02d}-{int(day_part):02d}"


def whatsapp_number(phone: str | None) -> str | None:
    """An Indonesian mobile number (08…) in the international form wa.me wants (628…)."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return digits if re.fullmatch(r"628\d{7,11}", digits) else None
