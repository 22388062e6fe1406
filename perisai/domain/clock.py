"""Time: stored as naive UTC, shown in the branch's zone."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

ZONE_LABELS = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
ZONES = tuple(ZONE_LABELS)  # the branches' time zones, west to east
HEAD_OFFICE_ZONE = "Asia/Jakarta"  # admins have no branch; head office works in WIB


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def to_local(moment: datetime, zone: str) -> datetime:
    return moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))


def local_today(zone: str, now: datetime | None = None) -> date:
    return to_local(now or utcnow(), zone).date()


def local_day_start_utc(day: date, zone: str) -> datetime:
    """The UTC instant at which `day` begins in `zone` (for "today" queries)."""
    start = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(zone))
    return start.astimezone(timezone.utc).replace(tzinfo=None)
