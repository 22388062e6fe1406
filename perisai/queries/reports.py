"""Branch reports as CSV, produced row by row from a streaming cursor.

Nothing here holds a whole report: the collections export reads its rows with `yield_per` (a
server-side cursor on PostgreSQL) and writes them out in chunks of about 64 KB.

Deposit reference: deposits are not linked to single collections. Following the ledger's rule
that deposits take the oldest cash first (FIFO), the database numbers each valid collection of
an agent with its running total, and each verified deposit with the running total of deposits;
a collection is covered by the deposit whose running interval reaches its own running total.
Both running totals are window functions evaluated in the database, so no rows are loaded here.
A reversed collection has no deposit reference.
"""
from __future__ import annotations

import csv
import io
import re
from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Iterator

from sqlalchemy import and_, case, func, literal, select
from sqlalchemy.orm import Session, aliased

from ..domain.clock import ZONE_LABELS, local_day_start_utc, to_local
from ..domain.lateness import is_late
from ..domain.months import add_months
from ..domain.nik import masked
from ..domain.statuses import LedgerKind, ReversalStatus, Role
from ..models import Collection, Deposit, LedgerEntry, Membership, Reversal, User, Worker
from . import reversed_collection_ids

CHUNK = 64 * 1024
COLLECTION_COLUMNS = ["kuitansi", "waktu", "agen", "nomor_peserta", "nik", "bulan", "jumlah",
                      "status", "referensi_setoran", "sampai_di_server", "terlambat"]
AGENT_COLUMNS = ["agen", "nama", "pendaftaran", "penerimaan", "jumlah_diterima",
                 "jumlah_dibatalkan", "setoran_diverifikasi", "jumlah_disetor",
                 "uang_di_tangan_akhir_bulan"]


@dataclass(frozen=True)
class Period:
    first_day: date
    last_day: date
    start_utc: datetime
    end_utc: datetime  # exclusive


def period_in(first_day: date, last_day: date, zone: str) -> Period:
    """Whole days `first_day`..`last_day` in the branch's zone, both included, as UTC bounds."""
    return Period(first_day, last_day, local_day_start_utc(first_day, zone),
                  local_day_start_utc(last_day + timedelta(days=1), zone))


def _months(first: date, last: date) -> str:
    return f"{first:%Y-%m}" if first == last else f"{first:%Y-%m} s.d. {last:%Y-%m}"


# Where a spreadsheet may start a cell: the start of the text, or after any character a reader
# may take as the separator (a comma; a semicolon where the locale writes decimals with a
# comma, as Indonesian does; a tab; a bar) or a line break. Spaces may come first.
FORMULA_START = re.compile(r"(^|[,;\t|\r\n])(\s*)([=+\-@])")


def safe_cell(cell):
    """A text cell that no spreadsheet runs as a formula, whatever separator it reads with: an
    apostrophe goes before every `=`, `+`, `-` or `@` that could begin a cell (so
    `x;=1+1;+cmd|…` becomes `x;'=1+1;'+cmd|…`), and before a leading tab or carriage return.
    Numbers stay numbers. The writer also quotes every text cell."""
    if not isinstance(cell, str):
        return cell
    cell = FORMULA_START.sub(lambda m: f"{m.group(1)}'{m.group(2)}{m.group(3)}", cell)
    return "'" + cell if cell[:1] in ("\t", "\r") else cell


def _chunks(rows: Iterator[list]) -> Iterator[str]:
    buffer = io.StringIO()
    # Every text cell quoted: a reader splitting on `;` keeps a cell holding `;` whole.
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue()


def _agents_in_range(branch_id: int, period: Period):
    return (select(Collection.agent_id)
            .where(Collection.branch_id == branch_id,
                   Collection.collected_at >= period.start_utc,
                   Collection.collected_at < period.end_utc)
            .distinct())


def collections_query(branch_id: int, period: Period):
    """One row per collection of the branch in the period, oldest first, with its status, its
    agent and the agent's running total of valid collections up to it (`upto`), from which
    `DepositCover` finds the verified deposit that covered it (FIFO per agent).

    The running total needs each agent's earlier valid collections too, so the window runs over
    the agents' history up to the period's end in a subquery, and the period is applied outside
    it: one linear pass in the database, nothing held here.
    """
    approved = aliased(Reversal)
    valid_amount = case((approved.id.is_(None), Collection.amount), else_=0)
    history = (select(Collection.id, Collection.branch_id, Collection.agent_id,
                      Collection.worker_id, Collection.receipt_number, Collection.collected_at,
                      Collection.received_at, Collection.first_month, Collection.last_month, Collection.amount,
                      approved.id.is_not(None).label("is_reversed"),
                      func.sum(valid_amount).over(
                          partition_by=Collection.agent_id,
                          order_by=(Collection.collected_at, Collection.id)).label("upto"))
               .outerjoin(approved, and_(approved.collection_id == Collection.id,
                                         approved.status == ReversalStatus.APPROVED))
               .where(Collection.agent_id.in_(_agents_in_range(branch_id, period)),
                      Collection.collected_at < period.end_utc)
               .subquery("history"))
    status = case((history.c.is_reversed, literal("dibatalkan")), else_=literal("sah"))
    return (select(history.c.receipt_number, history.c.collected_at, User.username,
                   Worker.member_number, Worker.nik, history.c.first_month, history.c.last_month,
                   history.c.amount, status.label("status"), history.c.received_at,
                   history.c.agent_id, history.c.is_reversed, history.c.upto)
            .select_from(history)
            .join(User, User.id == history.c.agent_id)
            .join(Worker, Worker.id == history.c.worker_id)
            .where(history.c.branch_id == branch_id,
                   history.c.collected_at >= period.start_utc)
            .order_by(history.c.collected_at, history.c.id))


class DepositCover:
    """Which verified deposit covered a collection: the agent's deposits, in the order the ledger
    took them, with their running total; the deposit covering a collection is the first whose
    running total reaches the collection's running total of valid collections.

    Deposits are far fewer than collections (the busiest branch's at 1,000,000 members: a few
    tens of thousands), so they are held here, per agent, and each collection is found by
    bisection. The range join this replaces had SQLite compare every collection with every
    deposit of its agent on small databases (0.8 ms a row at 10,000 members)."""

    def __init__(self, session: Session, branch_id: int, period: Period):
        self.totals: dict[int, list[int]] = {}
        self.references: dict[int, list[str]] = {}
        upto = func.sum(-LedgerEntry.amount).over(
            partition_by=LedgerEntry.agent_id, order_by=(LedgerEntry.created_at, LedgerEntry.id))
        for agent_id, reference, total in session.execute(
                select(LedgerEntry.agent_id, Deposit.reference, upto)
                .join(Deposit, Deposit.id == LedgerEntry.deposit_id)
                .where(LedgerEntry.kind == LedgerKind.DEPOSIT,
                       LedgerEntry.agent_id.in_(_agents_in_range(branch_id, period)))
                .order_by(LedgerEntry.agent_id, LedgerEntry.created_at, LedgerEntry.id)):
            self.totals.setdefault(agent_id, []).append(int(total))
            self.references.setdefault(agent_id, []).append(reference)

    def reference(self, agent_id: int, collected_upto: int) -> str | None:
        totals = self.totals.get(agent_id)
        if not totals:
            return None
        index = bisect_left(totals, collected_upto)
        return self.references[agent_id][index] if index < len(totals) else None


def collection_rows(session: Session, branch_id: int, period: Period, zone: str,
                    full_nik: bool = False) -> Iterator[str]:
    """The CSV text in chunks, header first."""
    label = ZONE_LABELS.get(zone, zone)

    def rows():
        yield (COLLECTION_COLUMNS[:1] + [f"waktu ({label})"] + COLLECTION_COLUMNS[2:9]
               + [f"sampai_di_server ({label})"] + COLLECTION_COLUMNS[10:])
        cover = DepositCover(session, branch_id, period)
        result = session.execute(collections_query(branch_id, period).execution_options(
            yield_per=500, stream_results=True))
        for (receipt, at, agent, member, nik, first, last, amount, status, received, agent_id,
             is_reversed, upto) in result:
            reference = None if is_reversed else cover.reference(agent_id, int(upto))
            # "waktu" is when the cash was taken; a record that reached the server more than
            # 10 minutes later (taken offline) is marked late.
            yield [receipt, to_local(at, zone).strftime("%Y-%m-%d %H:%M:%S"), agent, member,
                   nik if full_nik else masked(nik), _months(first, last), amount, status,
                   reference or "",
                   to_local(received or at, zone).strftime("%Y-%m-%d %H:%M:%S"),
                   "ya" if is_late(at, received) else "tidak"]
        result.close()

    return _chunks(rows())


def agent_summary_rows(session: Session, branch_id: int, month: date, zone: str) -> Iterator[str]:
    """One row per agent of the branch for a month: a handful of grouped queries, one row each."""
    start = local_day_start_utc(month, zone)
    end = local_day_start_utc(add_months(month, 1), zone)
    agents = session.execute(select(User.id, User.username, User.full_name).where(
        User.branch_id == branch_id, User.role == Role.AGENT).order_by(User.username)).all()
    ids = [agent.id for agent in agents]

    def grouped(query) -> dict[int, tuple]:
        return {row[0]: tuple(row[1:]) for row in session.execute(query)}

    registrations = grouped(select(Membership.agent_id, func.count()).where(
        Membership.agent_id.in_(ids), Membership.registered_at >= start, Membership.registered_at < end)
        .group_by(Membership.agent_id))
    reversed_ids = reversed_collection_ids()
    collected = grouped(select(
        Collection.agent_id, func.count(),
        func.coalesce(func.sum(Collection.amount), 0),
        func.coalesce(func.sum(case((Collection.id.in_(reversed_ids), Collection.amount), else_=0)), 0))
        .where(Collection.agent_id.in_(ids), Collection.collected_at >= start, Collection.collected_at < end)
        .group_by(Collection.agent_id))
    deposits = grouped(select(LedgerEntry.agent_id, func.count(), func.coalesce(func.sum(-LedgerEntry.amount), 0))
                       .where(LedgerEntry.agent_id.in_(ids), LedgerEntry.kind == LedgerKind.DEPOSIT,
                              LedgerEntry.created_at >= start, LedgerEntry.created_at < end)
                       .group_by(LedgerEntry.agent_id))
    cash = grouped(select(LedgerEntry.agent_id, func.coalesce(func.sum(LedgerEntry.amount), 0))
                   .where(LedgerEntry.agent_id.in_(ids), LedgerEntry.created_at < end)
                   .group_by(LedgerEntry.agent_id))

    def rows():
        yield AGENT_COLUMNS
        for agent in agents:
            count, amount, reversed_amount = collected.get(agent.id, (0, 0, 0))
            deposit_count, deposit_amount = deposits.get(agent.id, (0, 0))
            yield [agent.username, agent.full_name, registrations.get(agent.id, (0,))[0], count,
                   int(amount), int(reversed_amount), deposit_count, int(deposit_amount),
                   int(cash.get(agent.id, (0,))[0])]

    return _chunks(rows())
