"""Payment codes ("kode iuran"): how many months, how long valid, how much an agent may take,
and who may take the cash."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from . import N_, Conflict, DomainError
from .rates import MonthPrice
from .statuses import BillStatus
from .text import Money

ALLOWED_MONTHS = (1, 3, 6, 12)
BILL_VALIDITY = timedelta(days=7)
AGENT_BILL_LIMIT = 7_000_000  # agents may only handle bills under this amount
UNKNOWN_CODE = N_("Kode bayar tidak dikenal. Periksa lagi angka di kertas tagihan.")


@dataclass(frozen=True)
class Quote:
    first_month: date
    last_month: date
    lines: list[MonthPrice]

    @property
    def amount(self) -> int:
        return sum(line.total for line in self.lines)


def check_months(months: int) -> None:
    if months not in ALLOWED_MONTHS:
        raise DomainError("Pilih 1, 3, 6 atau 12 bulan.")


def check_quote(quote: Quote) -> Quote:
    """A code is for something to pay, and under the agents' limit."""
    if quote.amount <= 0:
        raise Conflict("Bulan-bulan ini sudah dibayar oleh pemberi bantuan iuran; tidak ada yang "
                       "perlu dibayar.")
    if quote.amount >= AGENT_BILL_LIMIT:
        raise DomainError("Tagihan %(amount)s terlalu besar: agen hanya boleh menerima tagihan di "
                          "bawah %(limit)s. Pilih lebih sedikit bulan atau minta pekerja membayar "
                          "di kantor cabang.", amount=Money(quote.amount),
                          limit=Money(AGENT_BILL_LIMIT))
    return quote


def effective_status(status: str, expires_at: datetime, now: datetime) -> BillStatus:
    """open | expired | paid | replaced | cancelled (expiry is a matter of the clock)."""
    if status == BillStatus.OPEN and expires_at <= now:
        return BillStatus.EXPIRED
    return BillStatus(status)


def lines_from_json(breakdown: str) -> list[MonthPrice]:
    return [MonthPrice.from_dict(item) for item in json.loads(breakdown)]


def lines_to_json(lines: list[MonthPrice]) -> str:
    return json.dumps([line.as_dict() for line in lines])


def check_collector(*, bill_branch_id: int, bill_agent_id: int, agent_id: int,
                    branch_id: int | None) -> None:
    """Only the agent who looks after the worker takes the cash: the worker's record, the
    incentive and the agent's cash on hand stay in one pair of hands. The answer names no
    worker (409: the code is real but not this agent's to collect)."""
    if bill_branch_id != branch_id:
        raise Conflict("Kode ini milik pekerja cabang lain dan tidak bisa dibayar di sini.")
    if bill_agent_id != agent_id:
        raise Conflict("Kode ini milik pekerja agen lain. Hanya agen yang mendaftarkan pekerja "
                       "ini yang bisa menerima iurannya.")


def check_payable(state: BillStatus) -> None:
    """Why a code that is not open cannot take cash (a paid one is answered by the caller)."""
    if state == BillStatus.EXPIRED:
        raise Conflict("Kode ini sudah kedaluwarsa (berlaku 7 hari). Buat kode baru di halaman "
                       "pekerja.")
    if state != BillStatus.OPEN:
        raise Conflict("Kode ini sudah tidak berlaku (diganti kode baru atau dibatalkan). Pakai "
                       "kode terbaru dari halaman pekerja.")


def require_amount(typed: int | None) -> int:
    """The cash the agent typed (already parsed), which must be there."""
    if typed is None:
        raise DomainError("Isi jumlah uang yang diterima, dalam rupiah (mis. 36800).")
    return typed


def check_amount(typed: int, due: int) -> int:
    if typed != due:
        raise DomainError("Jumlah uang harus sama dengan tagihan: %(due)s (yang diisi %(typed)s).",
                          due=Money(due), typed=Money(typed))
    return typed
