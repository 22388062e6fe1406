"""Membership status from paid months: awaiting first payment, active, in arrears, lapsed."""
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from . import N_
from .months import add_months, month_of, months_between
from .text import Month, Text, text

DUE_DAY = 15  # a month's contribution is due by the 15th of that month
MAX_ARREARS = 3  # more than this many overdue months and the membership lapses


class MembershipCode(StrEnum):
    AWAITING = "awaiting"
    ACTIVE = "active"
    ARREARS = "arrears"
    LAPSED = "lapsed"


AWAITING, ACTIVE, ARREARS, LAPSED = (MembershipCode.AWAITING, MembershipCode.ACTIVE,
                                     MembershipCode.ARREARS, MembershipCode.LAPSED)
LABELS = {AWAITING: N_("Menunggu pembayaran pertama"), ACTIVE: N_("Aktif"),
          ARREARS: N_("Menunggak"), LAPSED: N_("Nonaktif")}


@dataclass(frozen=True)
class MembershipStatus:
    code: MembershipCode
    first_unpaid: date
    overdue_months: int
    paid_through: date | None
    # Active, but this month is not paid yet: it falls due on the 15th.
    due_this_month: bool = False

    @property
    def label(self) -> str:
        return LABELS[self.code]

    @property
    def can_bill(self) -> bool:
        return self.code != LAPSED

    @property
    def explanation(self) -> Text:
        if self.code == LAPSED:
            return text("Iuran tidak dibayar lebih dari %(max)d bulan berturut-turut. "
                        "Kepesertaan nonaktif: pekerja harus mendaftar ulang.", max=MAX_ARREARS)
        if self.code == ARREARS:
            return text("Menunggak %(overdue)d bulan sejak %(since)s. Bayar sebelum tunggakan "
                        "lebih dari %(max)d bulan.", overdue=self.overdue_months,
                        since=Month(self.first_unpaid), max=MAX_ARREARS)
        if self.code == AWAITING:
            return text("Bayar iuran pertama (%(month)s) agar terlindungi.",
                        month=Month(self.first_unpaid))
        if self.due_this_month:
            return text("Terlindungi sampai akhir %(through)s. Iuran %(month)s jatuh tempo "
                        "tanggal %(due_day)d: bayar sebelum itu agar tetap terlindungi.",
                        through=Month(self.paid_through), month=Month(self.first_unpaid),
                        due_day=DUE_DAY)
        return text("Terlindungi sampai akhir %(through)s.", through=Month(self.paid_through))


def overdue_count(first_unpaid: date, today: date) -> int:
    """Unpaid months whose due date (the 15th) has passed."""
    current = month_of(today)
    if first_unpaid > current:
        return 0
    return months_between(first_unpaid, current) + (1 if today.day > DUE_DAY else 0)


def first_unpaid_month(first_month: date, paid_through: date | None) -> date:
    """The month after the paid ones, or the membership's first month when none is paid."""
    return add_months(paid_through, 1) if paid_through else first_month


def membership_status(first_month: date, paid_through: date | None, today: date) -> MembershipStatus:
    first_unpaid = first_unpaid_month(first_month, paid_through)
    overdue = overdue_count(first_unpaid, today)
    if overdue > MAX_ARREARS:
        code = LAPSED
    elif paid_through is None:
        code = AWAITING
    elif overdue:
        code = ARREARS
    else:
        code = ACTIVE
    return MembershipStatus(code, first_unpaid, overdue, paid_through,
                            due_this_month=code == ACTIVE and first_unpaid <= month_of(today))


def lapsed_on(first_unpaid: date) -> date:
    """The day a membership lapsed: the day after the due date of its 4th unpaid month."""
    return add_months(first_unpaid, MAX_ARREARS).replace(day=DUE_DAY + 1)
