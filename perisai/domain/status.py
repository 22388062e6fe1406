"""Membership status from paid months: awaiting first payment, active, in arrears, lapsed."""
from dataclasses import dataclass
from datetime import date

from . import N_
from .months import add_months, month_label, month_of, months_between

DUE_DAY = 15  # a month's contribution is due by the 15th of that month
MAX_ARREARS = 3  # more than this many overdue months and the membership lapses

AWAITING, ACTIVE, ARREARS, LAPSED = "awaiting", "active", "arrears", "lapsed"
LABELS = {AWAITING: N_("Menunggu pembayaran pertama"), ACTIVE: N_("Aktif"),
          ARREARS: N_("Menunggak"), LAPSED: N_("Nonaktif")}


@dataclass(frozen=True)
class MembershipStatus:
    code: str
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
    def explanation(self) -> str:
        if self.code == LAPSED:
            return (f"Iuran tidak dibayar lebih dari {MAX_ARREARS} bulan berturut-turut. "
                    "Kepesertaan nonaktif: pekerja harus mendaftar ulang.")
        if self.code == ARREARS:
            return (f"Menunggak {self.overdue_months} bulan sejak {month_label(self.first_unpaid)}. "
                    f"Bayar sebelum tunggakan lebih dari {MAX_ARREARS} bulan.")
        if self.code == AWAITING:
            return f"Bayar iuran pertama ({month_label(self.first_unpaid)}) agar terlindungi."
        if self.due_this_month:
            return (f"Terlindungi sampai akhir {month_label(self.paid_through)}. Iuran "
                    f"{month_label(self.first_unpaid)} jatuh tempo tanggal {DUE_DAY}: bayar "
                    "sebelum itu agar tetap terlindungi.")
        return f"Terlindungi sampai akhir {month_label(self.paid_through)}."


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
