"""Why a supervisor should look at an agent: cash held too long, over the branch's limit,
inactive for three months."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from . import N_
from .clock import local_day_start_utc
from .months import add_months, month_of

HELD_TOO_LONG = timedelta(hours=24)
INACTIVE_MONTHS = 3

FLAG_LABELS = {"held": N_("Uang ditahan > 24 jam"), "over_limit": N_("Di atas batas uang tunai"),
               "inactive": N_("Tidak aktif 3 bulan: usulkan nonaktif")}


def agent_flags(*, cash_on_hand: int, oldest_undeposited_at: datetime | None,
                last_activity_at: datetime | None, created_at: datetime, cash_limit: int,
                now: datetime, inactive_before: datetime, active: bool = True) -> tuple[str, ...]:
    """Plain values in, flag codes out."""
    flags = []
    if cash_on_hand > 0 and oldest_undeposited_at is not None \
            and now - oldest_undeposited_at > HELD_TOO_LONG:
        flags.append("held")
    if cash_on_hand > cash_limit:
        flags.append("over_limit")
    if active and (last_activity_at or created_at) < inactive_before:
        flags.append("inactive")
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
