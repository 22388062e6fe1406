"""The states things go through, one enum each, with the label people read.

`StrEnum` members are their own string value, so they compare equal to what the database holds
and need no conversion; the schema's CHECK constraints list the same values (`models.one_of`).
"""
from enum import StrEnum

from . import N_


class BillStatus(StrEnum):
    OPEN = "open"
    PAID = "paid"
    REPLACED = "replaced"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # never stored: an open bill past its expiry (`domain.bills.effective_status`)


STORED_BILL_STATUSES = (BillStatus.OPEN, BillStatus.PAID, BillStatus.REPLACED, BillStatus.CANCELLED)


class DepositStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class ReversalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class HeirChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"  # the agent asked again for another heir before a decision


class LedgerKind(StrEnum):
    COLLECTION = "collection"
    REVERSAL = "reversal"
    DEPOSIT = "deposit"


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


BILL_LABELS = {BillStatus.OPEN: N_("Belum dibayar"), BillStatus.EXPIRED: N_("Kedaluwarsa"),
               BillStatus.PAID: N_("Lunas"), BillStatus.REPLACED: N_("Diganti kode baru"),
               BillStatus.CANCELLED: N_("Dibatalkan")}
DEPOSIT_LABELS = {DepositStatus.PENDING: N_("Menunggu verifikasi"),
                  DepositStatus.VERIFIED: N_("Terverifikasi"), DepositStatus.REJECTED: N_("Ditolak")}
REVERSAL_LABELS = {ReversalStatus.PENDING: N_("Menunggu persetujuan pengawas"),
                   ReversalStatus.APPROVED: N_("Disetujui, dibatalkan"),
                   ReversalStatus.REJECTED: N_("Ditolak")}
HEIR_CHANGE_LABELS = {HeirChangeStatus.PENDING: N_("Menunggu persetujuan pengawas"),
                      HeirChangeStatus.APPROVED: N_("Disetujui"),
                      HeirChangeStatus.REJECTED: N_("Ditolak"),
                      HeirChangeStatus.WITHDRAWN: N_("Diganti permintaan baru")}
LEDGER_LABELS = {LedgerKind.COLLECTION: N_("Terima bayar"), LedgerKind.REVERSAL: N_("Pembatalan"),
                 LedgerKind.DEPOSIT: N_("Setoran")}


class LateReview(StrEnum):
    """A collection that reached the server more than 72 hours after the cash was taken waits
    for a supervisor's look: an offline entry is also a way to backdate cash."""
    PENDING = "pending"
    SEEN = "seen"


class ComplaintStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


COMPLAINT_LABELS = {ComplaintStatus.OPEN: N_("Diterima, sedang ditangani kantor cabang"),
                    ComplaintStatus.RESOLVED: N_("Selesai")}
