"""The benchmarks' data: a big, realistic and consistent database, loaded fast.

    python -m bench.seed --workers 1000000 --collections 5000000 [--password P]
                         [--audit summary|full] [--database-url URL]

Not part of the product: it lives beside the benchmarks, is not in the wheel, refuses a
database that holds real users (anyone but the demo accounts) or its own data already, and
without `--password` gives every seeded login a random password that it prints once.

Five named branches (or up to 2,000 with `--branches`: numbered ones after the five, each
with its own NIK regency code), their agents and supervisors, a head-office admin, workers spread unevenly over the agents, and
months of paid history: every registration has its membership row, every collection its paid
bill and its ledger entry, agents paid their cash in with deposits that supervisors verified,
some workers are behind or lapsed, some have an open code. The books are written as real use
keeps them (`perisai.commands.books`): each agent's account equals the sum of its ledger
entries, the incentive tallies and the agents' months and days equal a recount of the
collections and memberships, so `flask ledger-verify` passes. The audit chain is extended, so `flask
audit-verify` passes: `--audit full` writes the events real use writes (worker.register,
bill.issue, collection.record, deposit.declare, deposit.verify: about two per payment), the
default `--audit summary` one `seed.batch` event per batch naming the rows it wrote.

Rows are built as plain tuples in the order of `GENERATED` below and written in batches of
100,000 rows, one transaction per batch: `executemany` on SQLite (with the load-time PRAGMAs
below), `COPY` on PostgreSQL. The columns written are the models' (`db.metadata`): a column the
generator does not know gets its default (or NULL), so a new column in the schema needs no
change here unless it is required and has no default, which stops the load with its name.
Secondary indexes are dropped for the load and built once at the end. Codes, member and receipt
numbers are distinct by construction (an affine permutation of the row number) and end in the
domain's Damm check digit (`perisai.domain.codes`), like the ones the app issues.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import secrets
import sys
import threading
import time
from array import array
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Boolean, func, select
from sqlalchemy.orm import Session

from perisai.commands import SYSTEM
from perisai.commands.audit import GENESIS, _json, current_keyring, event_hash, head_mac
from perisai.commands.demo import USERS as DEMO_USERS
from perisai.commands.rates import seed_rates
from perisai.domain.clock import local_today, to_local, utcnow
from perisai.domain.codes import check_digit_of
from perisai.domain.deposits import reference_key
from perisai.domain.incentives import member_month_index
from perisai.domain.months import add_months, month_of
from perisai.domain.occupations import OCCUPATIONS, is_transport
from perisai.domain.status import DUE_DAY, first_unpaid_month
from perisai.extensions import db
from perisai.models import (AuditEvent, AuditHead, Bill, Branch, Collection, Deposit, Heir,
                            LedgerEntry, Membership, User, Worker)
from perisai.passwords import hash_password
from perisai.queries.rates import load_rate_book

BATCH = 100_000
AUDIT_MODES = ("summary", "full")

# code, name, zone, regency codes used in the NIKs of its workers (first four NIK digits)
BRANCHES = (
    ("JKT01", "Kantor Cabang Jakarta Menteng", "Asia/Jakarta", ("3171", "3172", "3173", "3174")),
    ("SBY01", "Kantor Cabang Surabaya Rungkut", "Asia/Jakarta", ("3578", "3515", "3525")),
    ("MDN01", "Kantor Cabang Medan Kota", "Asia/Jakarta", ("1275", "1207", "1212")),
    ("SMG01", "Kantor Cabang Semarang Pemuda", "Asia/Jakarta", ("3374", "3322", "3321")),
    ("DPS01", "Kantor Cabang Denpasar", "Asia/Makassar", ("5171", "5103", "5102")),
)
MAX_BRANCHES = 2_000
ZONES = ("Asia/Jakarta", "Asia/Jakarta", "Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura")


def _agents_branches(agents: int, branches: int, seed: int) -> list[int]:
    """Each agent's branch (an index into the branch list). Up to the five named branches, the
    agents are spread evenly, as the 10 k and 1 M databases always were; past them (a national
    database), unevenly as real branches are: sizes drawn from a log-normal spread (the
    biggest of 2,000 about 18 times the mean), from a generator of their own so that the rest
    of the data does not change with them."""
    if branches <= len(BRANCHES):
        return [n % branches for n in range(agents)]
    spread = random.Random(seed + 1)
    weights = [spread.lognormvariate(0, 1.0) for _ in range(branches)]
    total = sum(weights)
    sizes = [int(agents * weight / total) for weight in weights]
    for index in spread.sample(range(branches), agents - sum(sizes)):
        sizes[index] += 1
    homes = [index for index, size in enumerate(sizes) for _ in range(size)]
    spread.shuffle(homes)
    return homes


def branch_list(count: int) -> list[tuple[str, str, str, tuple[str, ...]]]:
    """The first `count` branches: the five above, then numbered ones (for a national-scale
    database: 2,000 branches' worth of agents), each with a regency code of its own for its
    workers' NIKs (40 districts × 9,999 serials: about 400,000 members a branch)."""
    if not 1 <= count <= MAX_BRANCHES:
        raise SeedError(f"--branches must be between 1 and {MAX_BRANCHES}.")
    used = {regency for branch in BRANCHES for regency in branch[3]}
    free = (f"{province:02d}{regency:02d}" for province in range(11, 95)
            for regency in range(1, 100))
    chosen = list(BRANCHES[:count])
    for n in range(len(BRANCHES) + 1, count + 1):
        regency = next(code for code in free if code not in used)
        chosen.append((f"KC{n:04d}", f"Kantor Cabang Wilayah {n:04d}", ZONES[n % len(ZONES)],
                       (regency,)))
    return chosen


FIRST_NAMES_M = ("Agus", "Budi", "Dedi", "Eko", "Fajar", "Hendra", "Iwan", "Joko", "Rudi",
                 "Slamet", "Wahyu", "Yusuf", "Asep", "Bambang", "Dadang", "Made", "Ketut",
                 "Ahmad", "Rizky", "Andi", "Hasan", "Irfan", "Sutrisno", "Teguh", "Ujang")
FIRST_NAMES_F = ("Siti", "Sri", "Dewi", "Euis", "Wati", "Ani", "Rina", "Yuni", "Nur", "Fitri",
                 "Ratna", "Lestari", "Putu", "Kadek", "Neneng", "Aisyah", "Indah", "Maya",
                 "Ayu", "Rahma", "Suci", "Tuti", "Wulan", "Yanti", "Endang")
LAST_NAMES = ("Santoso", "Wijaya", "Saputra", "Hidayat", "Kurniawan", "Setiawan", "Nugroho",
              "Pratama", "Siregar", "Nasution", "Lubis", "Harahap", "Sitompul", "Suherman",
              "Saepudin", "Komariah", "Wibowo", "Susanto", "Gunawan", "Hartono", "Purnomo",
              "Rahayu", "Handayani", "Anggraini", "Permata", "Utami", "Yulianti", "Suryani",
              "Arsana", "Wirawan", "Sembiring", "Tarigan", "Ginting", "Pane", "Daulay")
STREETS = ("Jl. Merdeka", "Jl. Sudirman", "Gg. Melati", "Jl. Pasar Baru", "Kampung Baru",
           "Jl. Pahlawan", "Gg. Kenanga", "Jl. Diponegoro", "Jl. Kartini", "Jl. Veteran")
INCOMES = (1_000_000, 1_000_000, 1_000_000, 1_200_000, 1_500_000, 1_500_000, 2_000_000,
           2_000_000, 2_500_000, 3_000_000, 4_000_000, 5_000_000)
RELATIONS = ("istri", "suami", "anak", "orang tua", "saudara")
# Months paid at once: mostly one month, sometimes a quarter, half or whole year.
CHUNKS = (1,) * 14 + (3,) * 4 + (6,) * 2 + (12,)
# Membership status mix of the seeded workers.
AWAITING_SHARE, ARREARS_SHARE, LAPSED_SHARE = 0.06, 0.14, 0.10
MAX_COLLECTIONS_PER_WORKER = 36


# ---- numbers with a Damm check digit ------------------------------------------------------


class NumberSpace:
    """Distinct `digits`-digit numbers (first digit not 0, last a Damm check digit) for 0, 1, 2…

    n -> 10^(b-1) + (n·A + B) mod 9·10^(b-1) is a permutation of the (b = digits-1)-digit
    bodies when A shares no factor with 9·10^(b-1), so numbers never repeat and look random.
    """

    def __init__(self, digits: int, salt: int):
        self.low = 10 ** (digits - 2)
        self.size = 9 * self.low
        self.mult = 7_919_000_003 % self.size or 7
        while math.gcd(self.mult, self.size) != 1:
            self.mult += 1
        self.salt = salt % self.size

    def __call__(self, n: int) -> str:
        body = self.low + (n * self.mult + self.salt) % self.size
        return f"{body}{check_digit_of(body)}"


# ---- the load ------------------------------------------------------------------------------
@dataclass
class Totals:
    branches: int = 0
    agents: int = 0
    supervisors: int = 0
    workers: int = 0
    collections: int = 0
    bills: int = 0
    deposits: int = 0
    ledger_entries: int = 0
    audit_events: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process's CPU time (the database server's not included)

    def __str__(self) -> str:
        return (f"Seeded {self.branches} branches, {self.agents} agents, {self.supervisors} "
                f"supervisors, {self.workers:,} workers, {self.bills:,} bills, "
                f"{self.collections:,} collections, {self.deposits:,} deposits, "
                f"{self.ledger_entries:,} ledger entries, {self.audit_events:,} audit events "
                f"in {self.seconds:.0f} s ({self.cpu_seconds:.0f} s of CPU).")


@dataclass
class _Agent:
    id: int
    branch_index: int
    username: str
    collected: int = 0
    last_activity: datetime | None = None
    # day index -> (sum, earliest collection) of the cash collected that day
    days: dict = field(default_factory=dict)
    # (month of collection, member month index) -> contributions: the incentive tallies
    tallies: dict = field(default_factory=dict)
    # month -> [registrations, collections, collected]: the agent_months rows
    months: dict = field(default_factory=dict)
    # local day -> [collections, collected]: the agent_days rows
    local_days: dict = field(default_factory=dict)



# The columns the generator fills, in the order of its tuples. Every other column of these
# tables in the models (db.metadata) is written with its default, or NULL.
GENERATED = {
    "branches": ("id", "code", "name", "timezone", "cash_limit"),
    "users": ("id", "username", "full_name", "role", "branch_id", "agent_code", "password_hash",
              "active", "created_at", "session_version"),
    "agent_accounts": ("agent_id", "cash_on_hand", "total_collected", "total_reversed",
                       "total_deposited", "oldest_undeposited_at", "last_activity_at",
                       "updated_at"),
    "workers": ("id", "nik", "full_name", "name_key", "birth_date", "sex", "phone", "address",
                "occupation", "occupation2", "declared_income", "programs", "member_number",
                "agent_id", "branch_id", "registered_at", "first_month", "paid_through",
                "doc_ktp", "doc_kk", "consent_at"),
    "memberships": ("id", "worker_id", "agent_id", "branch_id", "registered_at", "first_month",
                    "programs", "renewal"),
    "heirs": ("id", "worker_id", "name", "relation"),
    "bills": ("id", "code", "worker_id", "agent_id", "branch_id", "months", "first_month",
              "last_month", "amount", "breakdown", "status", "created_at", "expires_at",
              "closed_at"),
    "collections": ("id", "receipt_number", "bill_id", "idempotency_key", "agent_id",
                    "branch_id", "worker_id", "amount", "months", "first_month", "last_month",
                    "collected_at"),
    "deposits": ("id", "agent_id", "branch_id", "amount", "reference", "reference_key", "note",
                 "idempotency_key", "status", "declared_at", "decided_by_id", "decided_at",
                 "reject_reason"),
    "ledger_entries": ("id", "agent_id", "branch_id", "kind", "amount", "collection_id",
                       "deposit_id", "created_at"),
    "incentive_tallies": ("agent_id", "month", "member_month", "amount"),
    "agent_months": ("agent_id", "branch_id", "month", "registrations", "collections",
                     "collected"),
    "agent_days": ("agent_id", "branch_id", "day", "collections", "collected"),
    "audit_events": ("id", "at", "actor_id", "actor", "action", "object_type", "object_id",
                     "before", "after", "ip", "prev_hash", "hash", "key_id"),
}
# Tables whose `id` the load hands out itself (their sequences are moved past it afterwards).
NUMBERED = ("branches", "users", "workers", "memberships", "heirs", "bills", "collections",
            "deposits", "ledger_entries", "audit_events")


class SeedError(ValueError):
    """The load cannot start (or go on): the message says why."""


def _ts(moment: datetime) -> str:
    """SQLAlchemy's own text form of a DateTime (seeded times are whole seconds)."""
    return moment.isoformat(" ") + ".000000"


def _plain(value):
    """A default value in the text form the rows are written in."""
    if isinstance(value, datetime):
        return _ts(value.replace(microsecond=0))
    if isinstance(value, date):
        return value.isoformat()
    return value


class _Table:
    """How one table's rows are written: the generated columns, then the model's other
    columns with their defaults (columns with a server default are left to the database)."""

    def __init__(self, table, dialect: str):
        generated = GENERATED[table.name]
        unknown = [name for name in generated if name not in table.c]
        if unknown:
            raise SeedError(f"bench/seed.py writes {table.name}.{', '.join(unknown)}, which the "
                            "models no longer have: update GENERATED.")
        self.name = table.name
        self.columns = list(generated)
        extra = []
        for column in table.columns:
            if column.name in generated or column.server_default is not None:
                continue
            default = column.default
            if default is not None and default.is_scalar:
                value = default.arg
            elif default is not None and default.is_callable:
                value = default.arg(None)
            elif column.nullable:
                value = None
            else:
                raise SeedError(f"{table.name}.{column.name} is required and has no default: "
                                "bench/seed.py must be taught its value.")
            if isinstance(column.type, Boolean) and dialect == "sqlite":
                value = int(value)
            self.columns.append(column.name)
            extra.append(_plain(value))
        self.extra = tuple(extra)
        # PostgreSQL's COPY wants true/false where the generator writes 1/0.
        self.booleans = [i for i, name in enumerate(generated)
                         if isinstance(table.c[name].type, Boolean)] if dialect != "sqlite" else []

    def rows(self, rows: list[tuple]):
        extra, booleans = self.extra, self.booleans
        for row in rows:
            if booleans:
                row = list(row)
                for i in booleans:
                    row[i] = bool(row[i])
                row = tuple(row)
            yield row + extra if extra else row


class _Chain:
    """The audit chain, extended by the load: events hashed (keyed) as `commands.audit` does,
    with the audit key of the app's configuration (AUDIT_KEY, or derived from SECRET_KEY)."""

    def __init__(self, prev_hash: str, next_id: int):
        self.prev, self.next_id, self.last_id = prev_hash, next_id, next_id - 1
        keys = current_keyring()
        self.key, self.key_id = keys.current, keys.current_id

    def head(self) -> tuple[str, int, str]:
        """The audit head's row after the events so far: hash, event id, MAC."""
        return self.prev, self.last_id, head_mac(self.key, self.key_id, self.last_id, self.prev)

    def event(self, out: "_Writer", at: datetime, actor_id: int | None, actor: str, action: str,
              object_type: str, object_id, *, before: dict | None = None,
              after: dict | None = None) -> None:
        before_text, after_text = _json(before), _json(after)
        digest = event_hash(self.key, self.key_id, self.prev, at=at, actor_id=actor_id,
                            actor=actor, action=action, object_type=object_type,
                            object_id=str(object_id), before=before_text, after=after_text,
                            ip=None)
        row = (self.next_id, _ts(at), actor_id, actor, action, object_type, str(object_id),
               before_text, after_text, None, self.prev, digest, self.key_id)
        self.prev, self.last_id = digest, self.next_id
        self.next_id += 1
        out.add("audit_events", row)


class _Writer:
    """Buffers rows per table; each flush writes every buffer, the audit head included, in one
    transaction (parents before children). Secondary indexes and PostgreSQL's keys (primary,
    unique, foreign) are dropped for the load and put back at the end, where adding a key back
    checks every row."""

    def __init__(self, session: Session, chain: _Chain, audit: str, now: datetime):
        self.engine = session.get_bind()
        self.dialect = self.engine.dialect.name
        self.chain, self.audit, self.now = chain, audit, now
        self.batches = 0
        metadata = db.metadata
        self.order = [table.name for table in metadata.sorted_tables if table.name in GENERATED]
        self.tables = {name: _Table(metadata.tables[name], self.dialect) for name in self.order}
        # Secondary indexes are dropped for the load and built once at the end (a sort is much
        # faster than millions of random B-tree inserts); unique constraints stay on throughout.
        self.indexes = [index for name in self.order for index in metadata.tables[name].indexes]
        with self.engine.begin() as connection:
            for index in self.indexes:
                connection.exec_driver_sql(f"DROP INDEX IF EXISTS {index.name}")
        self.raw = self.engine.raw_connection()
        self.conn = self.raw.driver_connection
        # PostgreSQL's keys are dropped for the load too and added back at the end, each
        # checked then for every row at once: the foreign keys (a join per key instead of a
        # trigger per row: the triggers were half of the server's work), then the primary and
        # unique keys (an index built by one sort instead of random inserts into B-trees that
        # outgrow memory: the load slowed from 26 to 39 s per 100,000 members past 3 million).
        # `restore_indexes` adds them back: the unique and primary keys first, then the
        # foreign keys that reference them.
        self.constraints: list[tuple[str, str, str]] = []
        if self.dialect == "postgresql":
            with self.conn.cursor() as cursor:
                cursor.execute(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE contype = 'f' AND (conrelid::regclass::text = "
                    "ANY(%(tables)s) OR confrelid::regclass::text = ANY(%(tables)s)) "
                    "ORDER BY 1, 2", {"tables": self.order})
                foreign = cursor.fetchall()
                cursor.execute(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                    "FROM pg_constraint WHERE contype IN ('p', 'u') "
                    "AND conrelid::regclass::text = ANY(%(tables)s) ORDER BY 1, 2",
                    {"tables": self.order})
                keys = cursor.fetchall()
                for table, name, _ in foreign + keys:
                    cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
                self.constraints = keys + foreign
            self.conn.commit()
        self.rows: dict[str, list[tuple]] = {name: [] for name in self.order}
        self.restored = False
        self.pending = 0
        self.flushing = False
        self.copying: threading.Thread | None = None
        self.copy_failed: BaseException | None = None
        if self.dialect == "sqlite":
            cursor = self.conn.cursor()
            # Speed over durability while loading a scratch database; restored in close().
            for pragma in ("PRAGMA foreign_keys = OFF", "PRAGMA synchronous = OFF",
                           "PRAGMA cache_size = -1000000", "PRAGMA temp_store = MEMORY"):
                cursor.execute(pragma)
            cursor.close()

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)
        self.pending += 1
        if self.pending >= BATCH and not self.flushing:
            self.flush()

    def _summarise(self) -> None:
        """`--audit summary`: one event naming what this batch wrote."""
        written = {}
        for name in self.order:
            rows = self.rows[name]
            if rows and name != "audit_events":
                written[name] = ([len(rows), rows[0][0], rows[-1][0]] if name in NUMBERED
                                 else [len(rows)])
        self.batches += 1
        self.chain.event(self, self.now, SYSTEM.id, "bench.seed", "seed.batch", "seed",
                         self.batches, after=written)

    def flush(self) -> None:
        if not self.pending:
            return
        self.flushing = True
        if self.audit == "summary":
            self._summarise()
        head = self.chain.head()
        if self.dialect == "sqlite":
            cursor = self.conn.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            for name in self.order:
                rows = self.rows[name]
                if rows:
                    table = self.tables[name]
                    cursor.executemany(
                        f"INSERT INTO {name} ({', '.join(table.columns)}) "
                        f"VALUES ({', '.join('?' * len(table.columns))})", table.rows(rows))
            cursor.execute("UPDATE audit_head SET last_hash = ?, last_event_id = ?, mac = ? "
                           "WHERE id = 1", head)
            cursor.execute("COMMIT")
            cursor.close()
        else:
            # PostgreSQL takes as long to store a batch as Python takes to make one: the batch
            # is written by a thread while the next one is made (psycopg waits for the server
            # without holding the GIL). One batch in flight at a time, in order, each in its own
            # transaction as before.
            self._wait_for_copy()
            batch = {name: rows for name, rows in self.rows.items() if rows}
            self.copying = threading.Thread(target=self._copy, args=(batch, head), daemon=True)
            self.copying.start()
            self.rows = {name: [] for name in self.order}
        for rows in self.rows.values():
            rows.clear()
        self.pending = 0
        self.flushing = False

    def _copy(self, batch: dict[str, list[tuple]], head) -> None:
        try:
            with self.conn.cursor() as cursor:
                for name in self.order:
                    rows = batch.get(name)
                    if rows:
                        table = self.tables[name]
                        with cursor.copy(f"COPY {name} ({', '.join(table.columns)}) "
                                         "FROM STDIN") as copy:
                            for row in table.rows(rows):
                                copy.write_row(row)
                cursor.execute("UPDATE audit_head SET last_hash = %s, last_event_id = %s, "
                               "mac = %s WHERE id = 1", head)
            self.conn.commit()
        except BaseException as problem:  # noqa: BLE001 - raised again by the main thread
            self.copy_failed = problem

    def _wait_for_copy(self) -> None:
        """Wait for the batch being written; its failure is raised here, in the main thread."""
        if self.copying is not None:
            self.copying.join()
            self.copying = None
        if self.copy_failed is not None:
            problem, self.copy_failed = self.copy_failed, None
            raise problem

    def restore_indexes(self) -> None:
        if self.restored:
            return
        self.restored = True
        with self.engine.begin() as connection:
            if self.dialect == "postgresql":
                # The server's default (64 MB) sorts a 50-million-row index on disk in many
                # passes; one scratch database being built can have more.
                connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '1GB'")
            for index in self.indexes:
                index.create(connection, checkfirst=True)
            for table, name, definition in self.constraints:
                connection.exec_driver_sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" '
                                           f"{definition}")

    def abort(self) -> None:
        """After a failure: put the indexes back so the database stays usable."""
        try:
            if self.copying is not None:
                self.copying.join()
                self.copying = None
            self.raw.rollback()
        finally:
            self.restore_indexes()
            self.raw.close()

    def close(self) -> None:
        self.flush()
        self._wait_for_copy()
        self.restore_indexes()
        if self.dialect == "sqlite":
            cursor = self.conn.cursor()
            # Full statistics: sampled ones (analysis_limit) misjudged how many workers a branch
            # has by 200× and sent the planner to a sort of a whole branch.
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            cursor.close()
        else:
            with self.conn.cursor() as cursor:
                for name in NUMBERED:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 1) FROM {name}))")
            self.conn.commit()
            self.conn.autocommit = True
            with self.conn.cursor() as cursor:
                # VACUUM as well: it sets the visibility map, without which PostgreSQL reads the
                # table for rows an index holds (index-only scans). A database in use has had
                # autovacuum do this; this machine's server runs with autovacuum off.
                cursor.execute("VACUUM (ANALYZE)")
            self.conn.autocommit = False
        self.raw.close()


def _next_id(session: Session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _refuse_real_databases(session: Session) -> None:
    """Only a scratch database: no seed data yet and no user but the demo accounts."""
    if session.scalar(select(func.count(Branch.id)).where(
            Branch.code.in_([b[0] for b in BRANCHES]))):
        raise SeedError("This database already holds seed data; start from a fresh one "
                        "(init-db on a new file or database).")
    demo_names = [user[0] for user in DEMO_USERS]
    real = session.scalar(select(func.count(User.id)).where(User.username.not_in(demo_names)))
    if real:
        raise SeedError(f"This database holds {real} user account(s) besides the demo ones: "
                        "the benchmark data goes only into a scratch database.")


def _collection_counts(rng: random.Random, statuses: bytearray, collections: int) -> array:
    """Collections per worker: none for those awaiting a first payment, the rest spread with a
    long tail around the mean, adjusted so the total is exactly `collections`."""
    payers = [i for i, s in enumerate(statuses) if s != 0]
    counts = array("b", bytes(len(statuses)))
    if not payers:
        if collections:
            raise SeedError("No paying workers to hold the collections.")
        return counts
    if collections > len(payers) * MAX_COLLECTIONS_PER_WORKER:
        raise SeedError(f"At most {MAX_COLLECTIONS_PER_WORKER} collections per paying worker: "
                         f"ask for more workers or fewer collections.")
    if collections < len(payers):
        # Too few collections for every payer: the rest are still awaiting their first one.
        rng.shuffle(payers)
        for i in payers[collections:]:
            statuses[i] = 0
        payers = payers[:collections]
    mean = collections / len(payers)
    total = 0
    for i in payers:
        value = 1 + int(rng.expovariate(1 / (mean - 0.5))) if mean > 1 else 1
        value = min(value, MAX_COLLECTIONS_PER_WORKER)
        counts[i] = value
        total += value
    diff = collections - total
    while diff:
        i = payers[rng.randrange(len(payers))]
        if diff > 0 and counts[i] < MAX_COLLECTIONS_PER_WORKER:
            counts[i] += 1
            diff -= 1
        elif diff < 0 and counts[i] > 1:
            counts[i] -= 1
            diff += 1
    return counts



def seed_scale(session: Session, *, workers: int, collections: int, password: str,
               agents: int = 2000, branches: int = 5, seed: int = 20251122, audit: str = "summary",
               now: datetime | None = None, progress=None) -> Totals:
    """Load the data into a scratch database (see `_refuse_real_databases`)."""
    started, cpu_started = time.monotonic(), time.process_time()
    branch_rows = branch_list(branches)
    if agents < branches:
        raise SeedError("Need at least one agent per branch.")
    if audit not in AUDIT_MODES:
        raise SeedError(f"--audit is one of {', '.join(AUDIT_MODES)}.")
    _refuse_real_databases(session)
    seed_rates(session)
    book = load_rate_book(session)
    session.commit()
    rng = random.Random(seed)
    rand = rng.random

    # random.Random's randint and choice, without their argument checks (a third of the time).
    def randint(low: int, high: int) -> int:
        return low + int(rand() * (high - low + 1))

    def choice(items):
        return items[int(rand() * len(items))]

    now = (now or utcnow()).replace(microsecond=0)
    today = local_today("Asia/Jakarta", now)
    current = month_of(today)
    totals = Totals(branches=branches)
    say = progress or (lambda _message: None)

    ids = {name: _next_id(session, model) for name, model in (
        ("branches", Branch), ("users", User), ("workers", Worker), ("memberships", Membership),
        ("heirs", Heir), ("bills", Bill), ("collections", Collection), ("deposits", Deposit),
        ("ledger_entries", LedgerEntry))}
    head = session.get(AuditHead, 1)
    if head is None:
        head = AuditHead(id=1, last_hash=GENESIS, last_event_id=0)
        session.add(head)
        session.commit()
    first_event = _next_id(session, AuditEvent)
    chain = _Chain(head.last_hash, first_event)
    full = audit == "full"
    session.close()
    out = _Writer(session, chain, audit, now)

    try:
        # Branches, one supervisor each, and agents spread over them (`_agents_branches`).
        branch_ids, supervisor_ids, supervisor_names = [], [], []
        hashed = hash_password(password)
        created = _ts(now - timedelta(days=800))
        for index, (code, name, zone, _regions) in enumerate(branch_rows):
            branch_id = ids["branches"] + index
            branch_ids.append(branch_id)
            out.add("branches", (branch_id, code, name, zone, 2_000_000))
            if full:
                chain.event(out, now, SYSTEM.id, SYSTEM.username, "branch.create", "branch", code,
                            after={"name": name, "timezone": zone, "cash_limit": 2_000_000})
        user_id = ids["users"]
        for index in range(branches):
            supervisor_ids.append(user_id)
            out.add("users", (user_id, f"scale.sup{index + 1}", f"Pengawas {branch_rows[index][1][14:]}",
                              "supervisor", branch_ids[index], None, hashed, 1, created, 1))
            supervisor_names.append(f"scale.sup{index + 1}")
            if full:
                chain.event(out, now, SYSTEM.id, SYSTEM.username, "user.create", "user",
                            f"scale.sup{index + 1}",
                            after={"role": "supervisor", "branch": branch_rows[index][0]})
            user_id += 1
        agent_rows: list[_Agent] = []
        homes = _agents_branches(agents, branches, seed)
        for n in range(agents):
            branch_index = homes[n]
            agent = _Agent(user_id, branch_index, f"scale.agent{n + 1:04d}")
            agent_rows.append(agent)
            first = choice(FIRST_NAMES_M + FIRST_NAMES_F)
            out.add("users", (user_id, agent.username, f"{first} {choice(LAST_NAMES)}",
                              "agent", branch_ids[branch_index],
                              f"{branch_rows[branch_index][0]}-{user_id:05d}", hashed, 1, created, 1))
            if full:
                chain.event(out, now, SYSTEM.id, SYSTEM.username, "user.create", "user",
                            agent.username,
                            after={"role": "agent", "branch": branch_rows[branch_index][0]})
            user_id += 1
        # One head-office admin (no branch), for the admin's pages.
        out.add("users", (user_id, "scale.admin", "Admin Kantor Pusat", "admin", None, None,
                          hashed, 1, created, 1))
        if full:
            chain.event(out, now, SYSTEM.id, SYSTEM.username, "user.create", "user",
                        "scale.admin", after={"role": "admin", "branch": None})
        user_id += 1
        totals.agents, totals.supervisors = agents, branches
        out.flush()
        say(f"{branches} branches, {agents} agents")

        # Workers per agent: uneven (a few agents have several times the average), exact total.
        weights = [rng.lognormvariate(0, 0.6) for _ in range(agents)]
        scale = workers / sum(weights)
        per_agent = [int(w * scale) for w in weights]
        for i in rng.sample(range(agents), workers - sum(per_agent)) if workers > sum(per_agent) else ():
            per_agent[i] += 1
        owners = array("i")
        for index, count in enumerate(per_agent):
            owners.extend([index] * count)
        rng.shuffle(owners)

        # Status of each worker: 0 awaiting, 1 active, 2 arrears, 3 lapsed.
        statuses = bytearray(rng.choices((0, 1, 2, 3), weights=(
            AWAITING_SHARE, 1 - AWAITING_SHARE - ARREARS_SHARE - LAPSED_SHARE, ARREARS_SHARE,
            LAPSED_SHARE), k=workers))
        counts = _collection_counts(rng, statuses, collections)

        bill_code = NumberSpace(12, ids["bills"] * 7_777 + seed)
        receipt_number = NumberSpace(12, ids["collections"] * 3_331 + seed * 7)
        member_number = NumberSpace(11, ids["workers"] * 5_557 + seed)
        prices: dict[tuple, tuple[int, str]] = {}

        def priced(first: date, months: int, income: int, programs: int, transport: bool):
            key = (first, months, income, programs, transport)
            hit = prices.get(key)
            if hit is None:
                lines = book.price(first, months, income=income, programs=programs,
                                   transport=transport)
                hit = (sum(line.total for line in lines),
                       json.dumps([line.as_dict() for line in lines]),
                       [(line.month, line.total) for line in lines if line.total])
                prices[key] = hit
            return hit

        zones = [b[2] for b in branch_rows]
        # Indonesia keeps no summer time: each branch's local time is UTC plus a fixed offset
        # (checked at both ends of the seeded years), so months are found without a time-zone
        # conversion per row.
        offsets = [to_local(now, zone).utcoffset() for zone in zones]
        if offsets != [to_local(now - timedelta(days=4000), zone).utcoffset() for zone in zones]:
            raise SeedError("A branch's time zone changed its offset: convert each time.")
        late = 1 if today.day > DUE_DAY else 0
        region_counters = [0] * branches
        regions = [[f"{regency}{district:02d}" for regency in b[3] for district in range(1, 41)]
                   for b in branch_rows]
        epoch = datetime(2000, 1, 1)
        occupations = [o.code for o in OCCUPATIONS]
        worker_id, heir_id = ids["workers"], ids["heirs"]
        bill_id, collection_id, ledger_id = ids["bills"], ids["collections"], ids["ledger_entries"]
        bill_n = 0
        collection_n = 0
        open_cutoff = now - timedelta(days=6)

        def moment_in(month: date, first_day: int, last_day: int) -> datetime:
            day = randint(first_day, last_day)
            return datetime(month.year, month.month, day, randint(0, 10), randint(0, 59),
                            randint(0, 59))

        for n in range(workers):
            agent = agent_rows[owners[n]]
            branch_index = agent.branch_index
            branch_id = branch_ids[branch_index]
            status = statuses[n]
            count = counts[n]
            # Months paid at once, oldest first; the last payment decides the status.
            sizes = [choice(CHUNKS) for _ in range(count)]
            if status == 0:
                first_month = add_months(current, -randint(0, 2 if late else 3))
                paid_through = None
            else:
                if status == 1:
                    last_start = add_months(current, -rng.randrange(sizes[-1]))
                else:
                    overdue = randint(1, 3) if status == 2 else randint(4, 14)
                    first_unpaid = add_months(current, late - overdue)
                    last_start = add_months(first_unpaid, -sizes[-1])
                if sum(sizes) > 40:
                    sizes[:-1] = [1] * (count - 1)
                paid_through = add_months(last_start, sizes[-1] - 1)
                first_month = add_months(last_start, -sum(sizes[:-1]))
            # Registered early in the first month; paid in the month each payment starts.
            reg_last = today.day if first_month == current else 10
            registered = moment_in(first_month, 1, min(reg_last, 10))
            if registered > now:
                registered = now - timedelta(hours=randint(2, 8))
            female = rng.random() < 0.45
            birth = date(randint(1962, 2005), randint(1, 12), randint(1, 28))
            slot, serial = divmod(region_counters[branch_index], 9999)
            region_counters[branch_index] += 1
            region = regions[branch_index][slot % len(regions[branch_index])]
            if slot >= len(regions[branch_index]):
                raise SeedError("Too many workers for the NIK regions of a branch.")
            nik = (f"{region}{birth.day + (40 if female else 0):02d}{birth.month:02d}"
                   f"{birth.year % 100:02d}{serial + 1:04d}")
            name = (f"{choice(FIRST_NAMES_F if female else FIRST_NAMES_M)} "
                    f"{choice(LAST_NAMES)}")
            occupation = choice(occupations)
            income = choice(INCOMES)
            programs = 3 if rng.random() < 0.55 else 2
            transport = is_transport(occupation)
            out.add("workers", (
                worker_id, nik, name, name.lower(), birth.isoformat(), "F" if female else "M",
                f"08{randint(10**9, 10**10 - 1)}", f"{choice(STREETS)} No. {randint(1, 200)}",
                occupation, None, income, programs, member_number(worker_id - ids["workers"]),
                agent.id, branch_id, _ts(registered), first_month.isoformat(),
                paid_through.isoformat() if paid_through else None, 1, 1, _ts(registered)))
            if full:
                chain.event(out, registered, agent.id, agent.username, "worker.register", "worker",
                            worker_id, after={
                                "member_number": member_number(worker_id - ids["workers"]),
                                "nik_last4": nik[-4:], "programs": programs,
                                "declared_income": income, "agent_id": agent.id,
                                "branch_id": branch_id, "sponsored_through": None})
            out.add("memberships", (worker_id - ids["workers"] + ids["memberships"], worker_id,
                                    agent.id, branch_id, _ts(registered),
                                    first_month.isoformat(), programs, 0))
            out.add("heirs", (heir_id, worker_id, f"{choice(FIRST_NAMES_F + FIRST_NAMES_M)} "
                              f"{name.split()[-1]}", choice(RELATIONS)))
            heir_id += 1
            local = registered + offsets[branch_index]
            registered_month = date(local.year, local.month, 1)
            agent.months.setdefault(registered_month, [0, 0, 0])[0] += 1
            if agent.last_activity is None or registered > agent.last_activity:
                agent.last_activity = registered

            month = first_month
            previous = registered
            for size in sizes if status else ():
                if month == first_month:
                    collected = previous + timedelta(hours=randint(0, 72))
                else:
                    collected = moment_in(month, 1, today.day if month == current else 28)
                if collected > now:
                    collected = now - timedelta(minutes=randint(1, 600))
                if collected <= previous:
                    collected = previous + timedelta(minutes=randint(1, 30))
                previous = collected
                last = add_months(month, size - 1)
                amount, breakdown, month_totals = priced(month, size, income, programs, transport)
                issued = collected - timedelta(minutes=randint(1, 2880))
                code = bill_code(bill_n)
                receipt = receipt_number(collection_n)
                out.add("bills", (bill_id, code, worker_id, agent.id, branch_id, size,
                                  month.isoformat(), last.isoformat(), amount, breakdown, "paid",
                                  _ts(issued), _ts(issued + timedelta(days=7)), _ts(collected)))
                if full:
                    chain.event(out, issued, agent.id, agent.username, "bill.issue", "bill", code,
                                after={"worker_id": worker_id, "months": size, "amount": amount,
                                       "first_month": month, "last_month": last})
                    chain.event(out, collected, agent.id, agent.username, "collection.record",
                                "collection", receipt,
                                before={"paid_through": None if month == first_month
                                        else add_months(month, -1)},
                                after={"bill": code, "amount": amount, "worker_id": worker_id,
                                       "paid_through": last})
                out.add("collections", (collection_id, receipt, bill_id,
                                        f"seed-{collection_id:012d}", agent.id, branch_id, worker_id,
                                        amount, size, month.isoformat(), last.isoformat(),
                                        _ts(collected)))
                out.add("ledger_entries", (ledger_id, agent.id, branch_id, "collection", amount,
                                           collection_id, None, _ts(collected)))
                # The incentive tallies, as `incentives.tally` keeps them for a real payment.
                local = collected + offsets[branch_index]
                collected_month = date(local.year, local.month, 1)
                day_row = agent.local_days.setdefault(local.date(), [0, 0])
                day_row[0] += 1
                day_row[1] += amount
                month_row = agent.months.setdefault(collected_month, [0, 0, 0])
                month_row[1] += 1
                month_row[2] += amount
                for paid_month, total in month_totals:
                    key = (collected_month, member_month_index(first_month, paid_month))
                    agent.tallies[key] = agent.tallies.get(key, 0) + total
                day = (collected - epoch).days
                day_sum, day_first = agent.days.get(day, (0, collected))
                agent.days[day] = (day_sum + amount, min(day_first, collected))
                agent.collected += amount
                if collected > agent.last_activity:
                    agent.last_activity = collected
                bill_id += 1
                bill_n += 1
                collection_id += 1
                collection_n += 1
                ledger_id += 1
                month = add_months(month, size)
            # Some workers hold a code not paid yet (a few of them already expired).
            if status in (0, 1, 2) and rng.random() < 0.05:
                first_unpaid = first_unpaid_month(first_month, paid_through)
                size = choice((1, 1, 3))
                amount, breakdown, _ = priced(first_unpaid, size, income, programs, transport)
                issued = max(previous, open_cutoff) + timedelta(minutes=randint(1, 8000))
                if rng.random() < 0.2:
                    issued = now - timedelta(days=randint(8, 20))
                issued = min(issued, now - timedelta(minutes=1))
                code = bill_code(bill_n)
                out.add("bills", (bill_id, code, worker_id, agent.id, branch_id, size,
                                  first_unpaid.isoformat(), add_months(first_unpaid, size - 1).isoformat(),
                                  amount, breakdown, "open", _ts(issued),
                                  _ts(issued + timedelta(days=7)), None))
                if full:
                    chain.event(out, issued, agent.id, agent.username, "bill.issue", "bill", code,
                                after={"worker_id": worker_id, "months": size, "amount": amount,
                                       "first_month": first_unpaid,
                                       "last_month": add_months(first_unpaid, size - 1)})
                bill_id += 1
                bill_n += 1
            worker_id += 1
            if n and n % 100_000 == 0:
                say(f"{n:,} workers, {collection_n:,} collections "
                    f"({time.monotonic() - started:.0f} s)")
        totals.workers, totals.collections = workers, collection_n
        totals.bills = bill_n

        # Deposits: most agents pay in each day's cash the next morning; some wait a week or
        # more, a few have not paid in for weeks (the supervisor's flags), some have one pending.
        deposit_id = ids["deposits"]
        today_index = (now - epoch).days
        for agent in agent_rows:
            roll = rng.random()
            if roll < 0.04:
                keep_days = randint(20, 40)
            elif roll < 0.20:
                keep_days = randint(3, 9)
            else:
                keep_days = randint(1, 2)
            cutoff = today_index - keep_days + 1  # days from here on are still in hand
            supervisor = supervisor_ids[agent.branch_index]
            branch_id = branch_ids[agent.branch_index]
            deposited = 0
            in_hand = [day for day in agent.days if day >= cutoff]
            oldest = min((agent.days[day][1] for day in in_hand), default=None)
            # Weekly deposits for old cash, daily ones for the last fortnight.
            batches: dict[int, list[int]] = {}
            for day in sorted(day for day in agent.days if day < cutoff):
                key = -(day // 7) - 1 if day < today_index - 14 else day
                batches.setdefault(key, []).append(day)
            for days in batches.values():
                batch_sum = sum(agent.days[day][0] for day in days)
                declared = epoch + timedelta(days=days[-1] + 1, hours=randint(1, 5))
                verified = declared + timedelta(hours=randint(1, 6))
                if verified > now:
                    verified = now - timedelta(minutes=1)
                    declared = verified - timedelta(minutes=30)
                reference = f"BRI-{deposit_id:09d}"
                out.add("deposits", (deposit_id, agent.id, branch_id, batch_sum, reference,
                                     reference_key(reference), None, f"seed-dep-{deposit_id:010d}",
                                     "verified", _ts(declared), supervisor, _ts(verified), None))
                out.add("ledger_entries", (ledger_id, agent.id, branch_id, "deposit", -batch_sum,
                                           None, deposit_id, _ts(verified)))
                if full:
                    chain.event(out, declared, agent.id, agent.username, "deposit.declare",
                                "deposit", deposit_id, after={
                                    "agent_id": agent.id, "amount": batch_sum,
                                    "reference": reference,
                                    "cash_on_hand": agent.collected - deposited})
                    chain.event(out, verified, supervisor, supervisor_names[agent.branch_index],
                                "deposit.verify", "deposit", deposit_id,
                                before={"status": "pending",
                                        "cash_on_hand": agent.collected - deposited},
                                after={"status": "verified", "amount": batch_sum,
                                       "cash_on_hand": agent.collected - deposited - batch_sum})
                deposited += batch_sum
                deposit_id += 1
                ledger_id += 1
                totals.deposits += 1
            cash = agent.collected - deposited
            if cash > 0 and rng.random() < 0.05:
                amount = max(1, cash // 2)
                declared = now - timedelta(hours=randint(1, 20))
                reference = f"BNI-{deposit_id:09d}"
                out.add("deposits", (deposit_id, agent.id, branch_id, amount, reference,
                                     reference_key(reference), None, f"seed-dep-{deposit_id:010d}",
                                     "pending", _ts(declared),
                                     None, None, None))
                if full:
                    chain.event(out, declared, agent.id, agent.username, "deposit.declare",
                                "deposit", deposit_id, after={
                                    "agent_id": agent.id, "amount": amount,
                                    "reference": reference, "cash_on_hand": cash})
                deposit_id += 1
                totals.deposits += 1
            out.add("agent_accounts", (
                agent.id, cash, agent.collected, 0, deposited,
                _ts(oldest) if cash > 0 and oldest else None,
                _ts(agent.last_activity) if agent.last_activity else None, _ts(now)))
            for month, (registrations, paid, amount) in sorted(agent.months.items()):
                out.add("agent_months", (agent.id, branch_ids[agent.branch_index],
                                         month.isoformat(), registrations, paid, amount))
            for day, (paid, amount) in sorted(agent.local_days.items()):
                out.add("agent_days", (agent.id, branch_ids[agent.branch_index], day.isoformat(),
                                       paid, amount))
            for (tally_month, member_month), total in sorted(agent.tallies.items()):
                out.add("incentive_tallies", (agent.id, tally_month.isoformat(), member_month,
                                              total))
    except BaseException:
        out.abort()
        raise
    totals.ledger_entries = ledger_id - ids["ledger_entries"]
    out.close()
    totals.audit_events = chain.next_id - first_event
    totals.seconds = time.monotonic() - started
    totals.cpu_seconds = time.process_time() - cpu_started
    return totals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.seed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="the scratch database, migrated with init-db (default $DATABASE_URL)")
    parser.add_argument("--workers", type=int, required=True)
    parser.add_argument("--collections", type=int, required=True)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--branches", type=int, default=5)
    parser.add_argument("--password", default=None,
                        help="password of every seeded login (default: a random one, printed)")
    parser.add_argument("--seed", type=int, default=20251122, help="random seed")
    parser.add_argument("--audit", choices=AUDIT_MODES, default="summary",
                        help="summary: one audit event per batch; full: the events of real use")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("give --database-url or set DATABASE_URL")
    if args.workers < 1 or args.collections < 0 or args.agents < 1:
        parser.error("--workers and --agents must be at least 1, --collections at least 0")
    if not (os.environ.get("SECRET_KEY") or os.environ.get("AUDIT_KEY")):
        parser.error("set SECRET_KEY (and AUDIT_KEY if the app uses one) as the app runs with: "
                     "the audit events are keyed with it")
    from perisai import create_app
    # The seeder makes no links; the production check wants a public address all the same.
    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url,
                      "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or "http://127.0.0.1"})
    password = args.password or secrets.token_urlsafe(12)
    with app.app_context():
        from sqlalchemy import inspect
        if not inspect(db.engine).has_table("users"):
            print("The database has no schema yet: run `flask --app perisai init-db` first.",
                  file=sys.stderr)
            return 1
        try:
            totals = seed_scale(db.session, workers=args.workers, collections=args.collections,
                                agents=args.agents, branches=args.branches, password=password,
                                seed=args.seed, audit=args.audit, progress=print)
        except SeedError as error:
            print(f"Error: {error}", file=sys.stderr)
            return 1
    print(totals)
    print(f"Agents scale.agent0001.., supervisors scale.sup1.., admin scale.admin; "
          f"password: {password}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
