"""Why a supervisor should look at an agent: cash held too long, over the branch's limit,
inactive for three months; and the integrity flags, each backed by the members behind it:
workers' open complaints, many members on one phone number, members who never paid a first
month, a month-end burst of registrations that just reaches the bonus, a lapsed member
registered again by the same agent."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from . import N_
from .text import text
from .clock import local_day_start_utc
from .months import add_months, month_of

HELD_TOO_LONG = timedelta(hours=24)
INACTIVE_MONTHS = 3

# Integrity thresholds (kept here so a test and the page read the same numbers).
INTEGRITY_WINDOW_DAYS = 90        # registrations looked at: the last 90 days
SHARED_PHONE_MIN = 3              # members on one number
NEVER_PAID_AFTER_DAYS = 45        # the first month's due date has surely passed
NEVER_PAID_MIN = 3                # members, and at least half of the agent's registrations
BURST_LAST_DAYS = 3               # "month end"
BURST_MARGIN = 2                  # "just reaching": at most this many over the threshold

FLAG_LABELS = {"held": N_("Uang ditahan > 24 jam"), "over_limit": N_("Di atas batas uang tunai"),
               "inactive": N_("Tidak aktif 3 bulan: usulkan nonaktif"),
               "complaints": N_("Ada laporan pekerja"),
               "shared_phone": N_("Banyak peserta satu nomor HP"),
               "never_paid": N_("Peserta tidak pernah bayar bulan pertama"),
               "bonus_burst": N_("Lonjakan daftar akhir bulan, pas batas bonus"),
               "re_registered": N_("Peserta nonaktif didaftarkan lagi oleh agen yang sama")}
INTEGRITY_FLAGS = ("complaints", "shared_phone", "never_paid", "bonus_burst", "re_registered")
FLAG_EXPLANATIONS = {
    "complaints": N_("Pekerja melapor masalah dengan agen ini; laporan belum diselesaikan."),
    "shared_phone": text("Nomor HP yang sama dipakai %(min)d peserta atau lebih: bisa jadi "
                         "pekerja yang tidak nyata.", min=SHARED_PHONE_MIN),
    "never_paid": N_("Peserta yang didaftarkan 45–135 hari lalu dan belum pernah membayar: "
                     "mungkin orang yang tidak bekerja (pola Serang)."),
    "bonus_burst": N_("Jumlah pendaftaran sebulan baru mencapai batas bonus dalam 3 hari "
                      "terakhir bulan itu, dan berhenti tepat di atasnya."),
    "re_registered": N_("Peserta yang sempat nonaktif (iurannya tidak disetor?) didaftarkan lagi "
                        "oleh agen yang sama."),
}



def agent_flags(*, cash_on_hand: int, oldest_undeposited_at: datetime | None,
                last_activity_at: datetime | None, created_at: datetime, cash_limit: int,
                now: datetime, inactive_before: datetime, active: bool = True,
                integrity: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Plain values in, flag codes out."""
    flags = []
    if cash_on_hand > 0 and oldest_undeposited_at is not None \
            and now - oldest_undeposited_at > HELD_TOO_LONG:
        flags.append("held")
    if cash_on_hand > cash_limit:
        flags.append("over_limit")
    if active and (last_activity_at or created_at) < inactive_before:
        flags.append("inactive")
    if integrity:
        flags.extend(flag for flag in INTEGRITY_FLAGS if flag in integrity)
    return tuple(flags)


def inactive_threshold(today: date, zone: str) -> datetime:
    """No registration and no collection since this instant = 3 months without activity."""
    return local_day_start_utc(months_back(today, INACTIVE_MONTHS), zone)


def months_back(day: date, months: int) -> date:
    """The same day `months` months earlier (the month's last day when it is shorter)."""
    month = add_months(month_of(day), -months)
    following = add_months(month, 1)
    last_day = (following - timedelta(days=1)).day
    return month.replace(day=min(day.day, last_day))


def never_paid_flag(unpaid: int, registered: int) -> bool:
    """Enough of the agent's registrations of the period never paid a first month."""
    return unpaid >= NEVER_PAID_MIN and unpaid * 2 >= registered


def bonus_burst_flag(registrations: int, at_month_end: int, threshold: int) -> bool:
    """The month reached the bonus threshold only through its last days, and stopped just over."""
    return (threshold <= registrations <= threshold + BURST_MARGIN
            and registrations - at_month_end < threshold)
