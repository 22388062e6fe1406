"""Database schema. Invariants that protect money live here as constraints, not only in code."""
from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, ForeignKey, Index,
                        Integer, SmallInteger, String, Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .domain.bills import effective_status, lines_from_json
from .domain.clock import ZONES, utcnow
from .domain.rates import MonthPrice
from .domain.sponsored_list import SPONSOR_CODES
from .domain.status import MembershipStatus, membership_status
from .domain.statuses import (STORED_BILL_STATUSES, BillStatus, ComplaintStatus, DepositStatus,
                              HeirChangeStatus, LedgerKind, ReversalStatus, Role)
from .extensions import db


def one_of(column: str, values) -> str:
    """A CHECK condition: `column IN ('a', 'b')`, from an enum or a tuple of values."""
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


def _open_only(table_status: str):
    """A partial-index condition understood by both SQLite and PostgreSQL."""
    return {"sqlite_where": text(table_status), "postgresql_where": text(table_status)}


class Branch(db.Model):
    __tablename__ = "branches"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(40), default="Asia/Jakarta")
    cash_limit: Mapped[int] = mapped_column(BigInteger, default=2_000_000)
    __table_args__ = (
        CheckConstraint(one_of("timezone", ZONES),
                        name="known_timezone"),
        CheckConstraint("cash_limit > 0", name="cash_limit_positive"),
    )


class User(UserMixin, db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(40), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(12))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    agent_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # Bumped on password reset or deactivation so old sessions stop working.
    session_version: Mapped[int] = mapped_column(Integer, default=1)

    branch: Mapped[Branch | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(one_of("role", Role), name="known_role"),
        CheckConstraint("role = 'admin' OR branch_id IS NOT NULL", name="staff_has_branch"),
        # The admin's list of users, a page at a time (migration f8b0d2e4a6c9, which also
        # makes PostgreSQL's `ix_users_username_prefix` for the search by a username's start).
        Index("ix_users_role_username", "role", "username"),
    )

    def get_id(self) -> str:
        return f"{self.id}.{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_agent(self) -> bool:
        return self.role == Role.AGENT

    @property
    def is_supervisor(self) -> bool:
        return self.role == Role.SUPERVISOR

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Worker(db.Model):
    """A member: one per NIK. `paid_through` is the first day of the last month paid."""
    __tablename__ = "workers"
    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    name_key: Mapped[str] = mapped_column(String(120))  # lower-cased, for prefix search
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))
    phone: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(300))
    occupation: Mapped[str] = mapped_column(String(40))
    occupation2: Mapped[str | None] = mapped_column(String(40))
    declared_income: Mapped[int] = mapped_column(BigInteger)
    programs: Mapped[int] = mapped_column(SmallInteger)
    member_number: Mapped[str] = mapped_column(String(11), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    registered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    first_month: Mapped[date] = mapped_column(Date)
    paid_through: Mapped[date | None] = mapped_column(Date)
    doc_ktp: Mapped[bool] = mapped_column(Boolean)
    doc_kk: Mapped[bool] = mapped_column(Boolean)
    consent_at: Mapped[datetime] = mapped_column(DateTime)

    agent: Mapped[User] = relationship(foreign_keys=[agent_id])
    branch: Mapped[Branch] = relationship()
    heirs: Mapped[list[Heir]] = relationship(back_populates="worker", order_by="Heir.id")

    __table_args__ = (
        CheckConstraint("sex IN ('M', 'F')", name="known_sex"),
        CheckConstraint("programs IN (2, 3)", name="known_programs"),
        CheckConstraint("declared_income >= 1000000", name="income_minimum"),
        CheckConstraint("length(nik) = 16", name="nik_length"),
        # The lists' order, name then id, from the index (b3d5f7a9c1e2).
        Index("ix_workers_agent_name_id", "agent_id", "name_key", "id"),
        Index("ix_workers_branch_name_id", "branch_id", "name_key", "id"),
        Index("ix_workers_agent_paid_first", "agent_id", "paid_through", "first_month"),
        # An agent's recent members with what its integrity flags read (the phone, whether
        # they paid), from the index alone.
        Index("ix_workers_agent_registered_phone_paid", "agent_id", "registered_at", "phone",
              "paid_through"),
        Index("ix_workers_branch_registered_agent", "branch_id", "registered_at", "agent_id"),
        Index("ix_workers_id_first_month", "id", "first_month"),
        # The search by any part of a name, phone or NIK uses trigram indexes the migration
        # makes per database (pg_trgm on PostgreSQL, the FTS5 table `worker_search` on
        # SQLite), outside this metadata.
    )

    def status_on(self, today: date) -> MembershipStatus:
        """The membership's status on `today` (the branch's local date)."""
        return membership_status(self.first_month, self.paid_through, today)


class Membership(db.Model):
    """One row per registration of a worker: the first, and each one after a lapse.

    Never updated. The worker row holds the membership in force; this is its history, which the
    agent's monthly figures and incentives are counted from (a re-registration or an agent
    moving branch changes the worker row, never who registered whom, where and when)."""
    __tablename__ = "memberships"
    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    registered_at: Mapped[datetime] = mapped_column(DateTime)
    first_month: Mapped[date] = mapped_column(Date)
    programs: Mapped[int] = mapped_column(SmallInteger)
    renewal: Mapped[bool] = mapped_column(Boolean, default=False)  # after a lapse

    __table_args__ = (
        CheckConstraint("programs IN (2, 3)", name="known_programs"),
        # An agent's registrations of a month, with their programs and whether each is a
        # renewal (not a new member), from the index alone (a2c4e6b8d0f1).
        Index("ix_memberships_agent_registered_renewal", "agent_id", "registered_at",
              "programs", "renewal"),
        Index("ix_memberships_worker_registered", "worker_id", "registered_at"),
        # A branch's re-registrations (an integrity flag): the few renewals, by time.
        Index("ix_memberships_branch_renewal", "branch_id", "renewal", "registered_at"),
    )


class Heir(db.Model):
    __tablename__ = "heirs"
    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    relation: Mapped[str] = mapped_column(String(40))
    worker: Mapped[Worker] = relationship(back_populates="heirs")


class WorkerChange(db.Model):
    """One changed field of a member's data (a data update, an approved change of heir).

    Never updated or deleted, like the membership history: the worker row holds the data in
    force, this is how it came to be. Values are kept as the worker page shows them."""
    __tablename__ = "worker_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    field: Mapped[str] = mapped_column(String(20))
    old_value: Mapped[str | None] = mapped_column(String(300))
    new_value: Mapped[str | None] = mapped_column(String(300))
    changed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    changed_by: Mapped[User] = relationship(foreign_keys=[changed_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])

    __table_args__ = (Index("ix_worker_changes_worker_time", "worker_id", "changed_at"),)


class HeirChange(db.Model):
    """Maker-checker for a change of heir: the owner agent asks, a supervisor of the branch
    decides. The heir in force changes only on approval."""
    __tablename__ = "heir_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    old_name: Mapped[str] = mapped_column(String(120))
    old_relation: Mapped[str] = mapped_column(String(40))
    new_name: Mapped[str] = mapped_column(String(120))
    new_relation: Mapped[str] = mapped_column(String(40))
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=HeirChangeStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))

    worker: Mapped[Worker] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        CheckConstraint(one_of("status", HeirChangeStatus), name="known_status"),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> requested_by_id",
                        name="maker_is_not_checker"),
        Index("uq_heir_changes_one_pending", "worker_id", unique=True,
              **_open_only("status = 'pending'")),
        Index("ix_heir_changes_branch_status", "branch_id", "status", "requested_at"),
        Index("ix_heir_changes_worker_time", "worker_id", "requested_at"),
    )


class RateSchedule(db.Model):
    """Contribution rates from a month on; the newest row not after a month applies to it."""
    __tablename__ = "rate_schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    jkk_basis_points: Mapped[int] = mapped_column(Integer)
    jkm_flat: Mapped[int] = mapped_column(Integer)
    jht_basis_points: Mapped[int] = mapped_column(Integer)
    min_income: Mapped[int] = mapped_column(BigInteger)
    max_income: Mapped[int] = mapped_column(BigInteger)
    income_step: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        CheckConstraint("min_income > 0 AND max_income >= min_income AND income_step > 0",
                        name="income_range"),
        CheckConstraint("jkk_basis_points >= 0 AND jkm_flat >= 0 AND jht_basis_points >= 0",
                        name="rates_not_negative"),
    )


class RateDiscount(db.Model):
    """A relief on some programs for contribution months in [month_from, month_to]."""
    __tablename__ = "rate_discounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    scope: Mapped[str] = mapped_column(String(12))  # 'all' or 'transport'
    month_from: Mapped[date] = mapped_column(Date)
    month_to: Mapped[date] = mapped_column(Date)
    percent: Mapped[int] = mapped_column(Integer)
    programs: Mapped[str] = mapped_column(String(20))  # e.g. "JKK,JKM"
    source: Mapped[str] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("scope IN ('all', 'transport')", name="known_scope"),
        CheckConstraint("percent BETWEEN 0 AND 100", name="percent_range"),
        UniqueConstraint("code", "scope", name="uq_rate_discounts_code_scope"),
    )


class IncentiveScheme(db.Model):
    __tablename__ = "incentive_schemes"
    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(Date, unique=True)
    early_percent: Mapped[int] = mapped_column(Integer)
    early_until_month: Mapped[int] = mapped_column(Integer)
    late_percent: Mapped[int] = mapped_column(Integer)
    late_until_month: Mapped[int] = mapped_column(Integer)
    bonus_three_programs: Mapped[int] = mapped_column(Integer)
    bonus_two_programs: Mapped[int] = mapped_column(Integer)
    bonus_min_new_members: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)


class Bill(db.Model):
    """A payment code ("kode iuran"). At most one open bill per worker (partial unique index)."""
    __tablename__ = "bills"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    months: Mapped[int] = mapped_column(SmallInteger)
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    breakdown: Mapped[str] = mapped_column(Text)  # JSON list of priced months
    status: Mapped[str] = mapped_column(String(10), default=BillStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)

    worker: Mapped[Worker] = relationship()
    agent: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("months IN (1, 3, 6, 12)", name="known_months"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(one_of("status", STORED_BILL_STATUSES), name="known_status"),
        Index("uq_bills_one_open_per_worker", "worker_id", unique=True,
              **_open_only("status = 'open'")),
        Index("ix_bills_worker_created", "worker_id", "created_at"),
    )

    @property
    def lines(self) -> list[MonthPrice]:
        """The month-by-month prices the code was issued with."""
        return lines_from_json(self.breakdown)

    @property
    def state(self) -> BillStatus:
        """The status now, expiry included."""
        return effective_status(self.status, self.expires_at, utcnow())


class Collection(db.Model):
    """Cash an agent received against one bill. One per bill; one per idempotency key."""
    __tablename__ = "collections"
    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_number: Mapped[str] = mapped_column(String(12), unique=True)
    bill_id: Mapped[int] = mapped_column(ForeignKey("bills.id"), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    months: Mapped[int] = mapped_column(SmallInteger)
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    # When the cash was taken (the agent's `taken_at` when it was recorded offline): the cash,
    # the incentives and the ageing count from here. `received_at` is when the record reached
    # the server (NULL in rows from before it was kept: they arrived as they were taken).
    collected_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(DateTime)
    late_review: Mapped[str | None] = mapped_column(String(10))

    bill: Mapped[Bill] = relationship()
    agent: Mapped[User] = relationship()
    worker: Mapped[Worker] = relationship()
    branch: Mapped[Branch] = relationship()

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_collections_pending_review", "branch_id", **_open_only("late_review = 'pending'")),
        # An agent's collections waiting for the supervisor's look, without walking all of its
        # collections (the agent page; b9e1d3f5a7c8).
        Index("ix_collections_agent_pending_review", "agent_id", "collected_at",
              **_open_only("late_review = 'pending'")),
        # An agent's collections recorded offline (only they have an arrival time), to find the
        # late ones (the agent page; d3f5a7c9e1b3).
        Index("ix_collections_agent_offline", "agent_id", "collected_at", "received_at",
              **_open_only("received_at IS NOT NULL")),
        Index("ix_collections_agent_time_cover", "agent_id", "collected_at", "worker_id",
              "first_month", "months", "amount"),
        Index("ix_collections_branch_time_agent", "branch_id", "collected_at", "agent_id", "amount"),
        Index("ix_collections_worker_time", "worker_id", "collected_at"),
    )


class RegistrationKey(db.Model):
    """The idempotency key of a registration form that was recorded, and a digest of what it
    said: the same key with the same content answers with the same worker, other content 409."""
    __tablename__ = "registration_keys"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    content_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Reversal(db.Model):
    """Maker-checker: an agent asks, a supervisor of the branch decides."""
    __tablename__ = "reversals"
    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collections.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(500))
    requested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default=ReversalStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(String(500))

    collection: Mapped[Collection] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        CheckConstraint(one_of("status", ReversalStatus), name="known_status"),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> requested_by_id",
                        name="maker_is_not_checker"),
        Index("uq_reversals_one_pending", "collection_id", unique=True,
              **_open_only("status = 'pending'")),
        Index("uq_reversals_one_approved", "collection_id", unique=True,
              **_open_only("status = 'approved'")),
    )


class Deposit(db.Model):
    """Cash an agent says it paid in; it counts only once a supervisor verifies it."""
    __tablename__ = "deposits"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(60))
    # `domain.deposits.reference_key(reference)`: one bank transfer is one deposit. NULL only
    # for duplicates that were already there when the rule came in (migration d2f4b6a8c0e1).
    reference_key: Mapped[str | None] = mapped_column(String(60))
    note: Mapped[str | None] = mapped_column(String(300))
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(10), default=DepositStatus.PENDING)
    declared_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    reject_reason: Mapped[str | None] = mapped_column(String(300))

    agent: Mapped[User] = relationship(foreign_keys=[agent_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(one_of("status", DepositStatus), name="known_status"),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> agent_id",
                        name="maker_is_not_checker"),
        Index("ix_deposits_branch_status", "branch_id", "status", "declared_at"),
        # A bank reference is declared once per agent while pending or verified: the same
        # transfer declared from two forms can never be verified twice.
        Index("uq_deposits_agent_reference", "agent_id", "reference_key", unique=True,
              **_open_only("status IN ('pending', 'verified')")),
    )


class LedgerEntry(db.Model):
    """Append-only movements of an agent's cash: + collection, − reversal, − verified deposit."""
    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id"))
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("deposits.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(one_of("kind", LedgerKind), name="known_kind"),
        CheckConstraint(
            "(kind = 'collection' AND amount > 0 AND collection_id IS NOT NULL)"
            " OR (kind = 'reversal' AND amount < 0 AND collection_id IS NOT NULL)"
            " OR (kind = 'deposit' AND amount < 0 AND deposit_id IS NOT NULL)",
            name="signed_by_kind"),
        UniqueConstraint("kind", "collection_id", name="uq_ledger_entries_kind_collection"),
        Index("ix_ledger_agent_time_amount", "agent_id", "created_at", "amount"),
    )


class AgentAccount(db.Model):
    """An agent's cash position, kept beside the ledger in the same transaction.

    The ledger is the record; this row makes the supervisor's page one query. The database
    enforces that the balance is the sum of its parts and never negative; `ledger.verify`
    checks it against the entries.
    """
    __tablename__ = "agent_accounts"
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    cash_on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    total_collected: Mapped[int] = mapped_column(BigInteger, default=0)
    total_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    total_deposited: Mapped[int] = mapped_column(BigInteger, default=0)
    # When the oldest rupiah still in the agent's hands was collected (deposits go oldest first).
    oldest_undeposited_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    agent: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("cash_on_hand >= 0", name="cash_not_negative"),
        CheckConstraint("cash_on_hand = total_collected - total_reversed - total_deposited",
                        name="balance_is_sum"),
    )


class IncentiveTally(db.Model):
    """Running sums behind an agent's incentive: the contributions it collected in a month
    (branch time) that are not reversed, per member month index (1 = the member's first month).

    Kept in the transaction of each collection and each approved reversal, like the agent's
    account beside the ledger, so the month's incentive reads a few dozen rows however many
    payments the agent took; `incentives.verify_tallies` recomputes them from the collections.
    """
    __tablename__ = "incentive_tallies"
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    member_month: Mapped[int] = mapped_column(Integer, primary_key=True)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (CheckConstraint("amount >= 0", name="tally_not_negative"),)


class AgentMonth(db.Model):
    """An agent's month in a branch (branch time): members registered, and payments recorded
    and not reversed, with their amount. Kept in the registration's, the collection's and the
    reversal's transaction, so the supervisor's pages read one row per agent instead of adding
    up the month's payments; `services.agent_months.verify` recounts them."""
    __tablename__ = "agent_months"
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    month: Mapped[date] = mapped_column(Date, primary_key=True)
    registrations: Mapped[int] = mapped_column(Integer, default=0)
    collections: Mapped[int] = mapped_column(Integer, default=0)
    collected: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint("registrations >= 0 AND collections >= 0 AND collected >= 0",
                        name="month_not_negative"),
        Index("ix_agent_months_branch_month", "branch_id", "month"),
    )


class AgentDay(db.Model):
    """An agent's day in a branch (branch time): the payments recorded and not reversed, and
    their amount. Kept beside `AgentMonth`, in the same transactions, so the supervisor's home
    adds up one row per agent for "today" instead of the branch's payments of the day (tens of
    thousands at a million members); `ledger-verify` recounts them."""
    __tablename__ = "agent_days"
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    collections: Mapped[int] = mapped_column(Integer, default=0)
    collected: Mapped[int] = mapped_column(BigInteger, default=0)

    __table_args__ = (
        CheckConstraint("collections >= 0 AND collected >= 0", name="day_not_negative"),
        Index("ix_agent_days_branch_day", "branch_id", "day", "collections", "collected"),
    )


class AuditEvent(db.Model):
    """Append-only, hash-chained record of every change of money or membership."""
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(40))
    action: Mapped[str] = mapped_column(String(40))
    object_type: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[str] = mapped_column(String(40))
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(45))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)  # HMAC under the audit key
    # Fingerprint of the audit key the hash was made with (commands.audit.key_id); NULL for
    # events from before the chain was keyed, until `flask audit-rekey` signs them.
    key_id: Mapped[str | None] = mapped_column(String(16))
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)


class AuditHead(db.Model):
    """One row: the newest hash. Locking it serialises appends to the chain."""
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    last_event_id: Mapped[int] = mapped_column(Integer, default=0)
    # "<key id>:<HMAC of the head>": moving the head back after deleting events is caught.
    mac: Mapped[str | None] = mapped_column(String(81))


class SponsoredEntry(db.Model):
    """A NIK whose JKK+JKM a government or other sponsor pays for a period."""
    __tablename__ = "sponsored_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    nik: Mapped[str] = mapped_column(String(16), index=True)
    sponsor_code: Mapped[str] = mapped_column(String(2))
    sponsor_name: Mapped[str] = mapped_column(String(120))
    programs: Mapped[int] = mapped_column(SmallInteger)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (
        CheckConstraint(one_of("sponsor_code", SPONSOR_CODES), name="known_sponsor"),
        CheckConstraint("valid_to >= valid_from", name="period_order"),
        UniqueConstraint("nik", "sponsor_code", "valid_from", name="uq_sponsored_period"),
    )


class LoginSession(db.Model):
    """One login on one device. The session cookie carries a random token; the server keeps
    only its SHA-256 (`id`), so a copy of the database cannot be replayed as a cookie. Logout
    ends the row, and a row unused for longer than the idle timeout no longer counts: a copied
    cookie is useless after either."""
    __tablename__ = "login_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)


class Complaint(db.Model):
    """A worker's report of a problem (cash not deposited, a wrong slip…), tied to the agent
    concerned and the branch that agent belongs to. The ticket is the worker's key to it."""
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    ticket: Mapped[str] = mapped_column(String(16), unique=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    collection_id: Mapped[int | None] = mapped_column(ForeignKey("collections.id"))
    message: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(10), default=ComplaintStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution_note: Mapped[str | None] = mapped_column(String(500))

    worker: Mapped[Worker] = relationship()
    agent: Mapped[User] = relationship(foreign_keys=[agent_id])
    branch: Mapped[Branch] = relationship()
    collection: Mapped[Collection | None] = relationship()
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    __table_args__ = (
        CheckConstraint(one_of("status", ComplaintStatus), name="known_status"),
        CheckConstraint("status = 'open' OR (resolved_at IS NOT NULL AND resolution_note IS NOT NULL)",
                        name="resolved_with_note"),
        Index("ix_complaints_branch_status_time", "branch_id", "status", "created_at"),
        Index("ix_complaints_agent_status", "agent_id", "status"),
    )
