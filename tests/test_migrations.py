"""Migrations stand alone, rebuild the books the app keeps, and every one of them goes down.

A migration is history: it must mean tomorrow what it meant when it ran, so no file in
migrations/versions imports the app. The data migrations (c3d5e7f9a1b2 incentive tallies,
e5f7a9b1c3d4 agent months, b9e1d3f5a7c8 agent days) and the registration history
(f6a8c0e2b4d6 memberships) are checked against the books the app kept while a real history was
made through it. The upgrade from an empty database to head runs for every test already
(conftest's templates).
"""
from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from conftest import csrf_token
from helpers import (amount_of_bill, bill_code_from, collect_form, form_key, issue_bill,
                     login_client, nik_for, receipt_from, register, worker_id_from)
from perisai.domain import clock
from perisai.extensions import db

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"
BEFORE_TALLIES = "8a4b6c2d9e13"  # the revision before c3d5e7f9a1b2, the first data migration


# --- no migration imports the app ----------------------------------------------------------

def app_imports(source: str) -> list[str]:
    """Every import of the app (`perisai…`) anywhere in a module, functions included, and every
    dynamic import (which could reach it unseen)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] == "perisai"]
        elif isinstance(node, ast.ImportFrom):
            if node.level or (node.module or "").split(".")[0] == "perisai":
                found.append("." * node.level + (node.module or ""))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(
                node.func, "id", "")
            if name in ("import_module", "__import__"):
                found.append(f"{name}(…)")
    return found


@pytest.mark.parametrize("source", [
    "def upgrade():\n    from perisai.services.incentives import rebuild_tallies\n",
    "import perisai.models as models\n",
    "from . import helpers\n",
    "import importlib\nmodels = importlib.import_module('perisai.models')\n",
])
def test_the_import_check_sees_the_app_however_it_is_imported(source):
    assert app_imports(source)


def test_no_migration_imports_the_app():
    files = sorted(VERSIONS.glob("*.py"))
    assert len(files) >= 7
    assert {path.name: app_imports(path.read_text()) for path in files} == \
        {path.name: [] for path in files}


# --- the data migrations rebuild what the app kept -----------------------------------------

class Clock:
    """The app's clock, moved to an instant of the test's choosing and running on from there.
    A module first imported during the test keeps it; it reads the real time again after."""

    def __init__(self, real):
        self.real = real
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return self.real() + self.offset

    def travel_to(self, instant: datetime) -> None:
        self.offset = instant - self.real()


@pytest.fixture
def app_clock(monkeypatch):
    """Every module of the app that reads `clock.utcnow` reads this one instead."""
    real = clock.utcnow
    travelling = Clock(real)
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("perisai") and \
                getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", travelling)
    yield travelling
    travelling.offset = timedelta(0)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def months_from(first: date, month: date) -> int:
    return (month.year - first.year) * 12 + month.month - first.month


def local_month(instant: datetime, zone: str) -> date:
    return instant.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone)).date().replace(day=1)


TALLIES = sa.table("incentive_tallies", sa.column("agent_id", sa.Integer),
                   sa.column("month", sa.Date), sa.column("member_month", sa.Integer),
                   sa.column("amount", sa.BigInteger))
AGENT_MONTHS = sa.table("agent_months", sa.column("agent_id", sa.Integer),
                        sa.column("branch_id", sa.Integer), sa.column("month", sa.Date),
                        sa.column("registrations", sa.Integer),
                        sa.column("collections", sa.Integer), sa.column("collected", sa.BigInteger))
AGENT_DAYS = sa.table("agent_days", sa.column("agent_id", sa.Integer),
                      sa.column("branch_id", sa.Integer), sa.column("day", sa.Date),
                      sa.column("collections", sa.Integer), sa.column("collected", sa.BigInteger))
MEMBERSHIPS = sa.table("memberships", sa.column("id", sa.Integer),
                       sa.column("worker_id", sa.Integer),
                       sa.column("agent_id", sa.Integer), sa.column("branch_id", sa.Integer),
                       sa.column("registered_at", sa.DateTime), sa.column("first_month", sa.Date),
                       sa.column("programs", sa.SmallInteger), sa.column("renewal", sa.Boolean))
COLLECTIONS = sa.table("collections", sa.column("receipt_number", sa.String),
                       sa.column("worker_id", sa.Integer), sa.column("agent_id", sa.Integer),
                       sa.column("branch_id", sa.Integer), sa.column("amount", sa.BigInteger),
                       sa.column("months", sa.SmallInteger), sa.column("first_month", sa.Date),
                       sa.column("collected_at", sa.DateTime))


@dataclass(frozen=True)
class Membership:
    worker_id: int
    agent_id: int
    branch_id: int
    registered_at: datetime
    first_month: date
    programs: int
    renewal: bool


@dataclass
class Books:
    """The rows a recount can see: a reversal leaves a tally or an agent-month at zero where it
    took the payment off, and a recount writes no row for nothing (`verify` reads a missing row
    as zero too)."""
    tallies: dict[tuple[int, date, int], int]
    months: dict[tuple[int, int, date], tuple[int, int, int]]
    memberships: list[Membership]  # in id order
    zero_rows: int


def read_books(app) -> Books:
    with app.app_context():
        tallies = {(agent, month, index): amount for agent, month, index, amount
                   in db.session.execute(sa.select(TALLIES))}
        months = {(agent, branch, month): (registered, paid, collected)
                  for agent, branch, month, registered, paid, collected
                  in db.session.execute(sa.select(AGENT_MONTHS))}
        memberships = [Membership(*row[1:]) for row in db.session.execute(
            sa.select(MEMBERSHIPS).order_by(MEMBERSHIPS.c.id))]
    zero_rows = sum(1 for amount in tallies.values() if amount == 0) + \
        sum(1 for counts in months.values() if counts == (0, 0, 0))
    return Books({key: amount for key, amount in tallies.items() if amount},
                 {key: counts for key, counts in months.items() if counts != (0, 0, 0)},
                 memberships, zero_rows)


def read_days(app) -> dict[tuple[int, int, date], tuple[int, int]]:
    with app.app_context():
        return {(agent, branch, day): (paid, collected) for agent, branch, day, paid, collected
                in db.session.execute(sa.select(AGENT_DAYS))}


def scalar(app, sql: str, **params):
    with app.app_context():
        return db.session.execute(sa.text(sql), params).scalar_one()


def text(response) -> str:
    return response.get_data(as_text=True)


def pay(client, worker_id: int, months: int) -> str:
    """Issue a code for the worker's next months and collect it: the receipt number."""
    response = issue_bill(client, worker_id, months)
    assert response.status_code == 303, text(response)
    code = bill_code_from(response)
    response = client.post("/collect", data=dict(collect_form(client, code),
                                                 amount=str(amount_of_bill(client, code))))
    assert response.status_code == 303, text(response)
    return receipt_from(response)


BORN = date(1990, 4, 7)
NAMES = {7001: "Ujang Permana", 7002: "Dedi Kurnia", 7003: "Andi Baso", 7004: "Eko Prasetyo",
         7005: "Joko Susilo"}


def new_member(client, serial: int, **fields) -> int:
    """Register a worker (or, when its member lapsed, register it again): the worker's id."""
    response = register(client, nik=nik_for(BORN, "M", serial), birth_date=BORN.isoformat(),
                        sex="M", full_name=NAMES[serial], **fields)
    assert response.status_code == 303, text(response)
    return worker_id_from(response)


def reverse(app, agent, supervisor, receipt: str) -> None:
    """The agent asks to cancel a payment and a supervisor of its branch approves."""
    response = agent.post(f"/receipts/{receipt}/reversal", data={
        "csrf_token": csrf_token(agent, f"/receipts/{receipt}"), "reason": "Salah kode"})
    assert response.status_code == 303, text(response)
    reversal_id = scalar(app, "SELECT max(id) FROM reversals")
    response = supervisor.post(f"/reversals/{reversal_id}/approve", data={
        "csrf_token": csrf_token(supervisor, "/supervisor/agents")})
    assert response.status_code == 303, text(response)


def deposit(app, agent, supervisor, amount: str) -> None:
    """The agent pays cash in and a supervisor of its branch verifies it."""
    dashboard = text(agent.get("/"))
    response = agent.post("/deposits", data={
        "idempotency_key": form_key(dashboard), "csrf_token": form_key(dashboard, "csrf_token"),
        "amount": amount, "reference": "BRI 778899"})
    assert response.status_code == 303, text(response)
    deposit_id = scalar(app, "SELECT max(id) FROM deposits")
    response = supervisor.post(f"/deposits/{deposit_id}/verify", data={
        "csrf_token": csrf_token(supervisor, "/supervisor/agents")})
    assert response.status_code == 303, text(response)


@pytest.mark.both_backends
def test_the_migrations_rebuild_the_books_the_app_kept(app, runner, backend, app_clock):
    """Months of history through the app in two branches (Bandung on WIB, Makassar on WITA),
    then down to the revision before the first data migration and up to head again."""
    agent1, agent2, agent3, supervisor1 = (login_client(app, name) for name in
                                           ("agent1", "agent2", "agent3", "supervisor1"))
    this_month = app_clock.real().date().replace(day=1)
    # 16:30 UTC on the last day of a month: 23:30 that day in Bandung, 00:30 the next in Makassar.
    evening = datetime.combine(add_months(this_month, -7) - timedelta(days=1), time(16, 30))
    bandung_month, makassar_month = add_months(this_month, -8), add_months(this_month, -7)
    assert (local_month(evening, "Asia/Jakarta"), local_month(evening, "Asia/Makassar")) == \
        (bandung_month, makassar_month)

    app_clock.travel_to(evening)
    lapser = new_member(agent1, 7001)  # pays one month, then nothing: lapses
    old_payment = pay(agent1, lapser, 1)
    steady = new_member(agent1, 7002)
    pay(agent1, steady, 3)
    makassar_member = new_member(agent3, 7003, address="Jl. Pettarani 9, Makassar")
    pay(agent3, makassar_member, 3)

    app_clock.travel_to(datetime.combine(add_months(this_month, -7).replace(day=15), time(5)))
    reverse(app, agent1, supervisor1, pay(agent1, steady, 1))  # its only payment this month
    deposit(app, agent1, supervisor1, "50.000")
    pay(agent2, new_member(agent2, 7004), 6)
    pay(agent3, makassar_member, 1)

    # Months later the first member has lapsed and registers again, in Makassar.
    app_clock.travel_to(datetime.combine(add_months(this_month, -2).replace(day=10), time(5)))
    assert new_member(agent3, 7001, programs="2", address="Jl. Cendrawasih 3, Makassar") == lapser
    payment_again = pay(agent3, lapser, 1)

    app_clock.travel_to(app_clock.real())
    pay(agent1, scalar(app, "SELECT id FROM workers WHERE full_name = 'Euis Komariah'"), 3)
    pay(agent2, new_member(agent2, 7005), 12)

    kept = read_books(app)
    kept_days = read_days(app)
    assert runner.invoke(args=["ledger-verify"]).exit_code == 0
    with app.app_context():
        ids = dict(db.session.execute(sa.text("SELECT username, id FROM users")).all())
        bandung, makassar = (db.session.execute(sa.text("SELECT id FROM branches WHERE code = :c"),
                                                {"c": code}).scalar_one()
                             for code in ("BDG01", "MKS01"))
        old_collection, collection_again = (db.session.execute(sa.select(COLLECTIONS).where(
            COLLECTIONS.c.receipt_number == receipt)).one()
            for receipt in (old_payment, payment_again))
    # The history reaches what it is meant to: the same evening falls in two months, the
    # reversal left a tally and an agent-month at zero, both registrations are on record.
    assert kept.tallies[(ids["agent3"], makassar_month, 1)] > 0
    assert kept.months[(ids["agent3"], makassar, makassar_month)][:2] == (1, 2)  # + mid-month
    assert kept.months[(ids["agent1"], bandung, bandung_month)][:2] == (2, 2)
    assert not any(key[2] == bandung_month for key in kept.months if key[0] == ids["agent3"])
    assert kept.zero_rows == 2
    first, again = [row for row in kept.memberships if row.worker_id == lapser]
    assert (first.agent_id, first.branch_id, first.renewal) == (ids["agent1"], bandung, False)
    assert (again.agent_id, again.branch_id, again.renewal) == (ids["agent3"], makassar, True)

    result = runner.invoke(args=["db", "downgrade", BEFORE_TALLIES])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert not tables & {"incentive_tallies", "agent_months", "memberships"}
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    rebuilt = read_books(app)
    result = runner.invoke(args=["ledger-verify"])  # the app's recount agrees with them
    assert result.exit_code == 0, result.output
    # b9e1d3f5a7c8 fills the agents' days as the app kept them: the same evening on two local
    # days, the reversed payment's day at zero (a recount writes no row for it).
    assert read_days(app) == {key: counts for key, counts in kept_days.items() if counts[0]}
    evening_days = {key[2] for key in kept_days if key[1] in (bandung, makassar)}
    assert {evening.date(), evening.date() + timedelta(days=1)} <= evening_days

    # What the migrations cannot rebuild: the memberships table is the only record of a
    # registration made before a lapse, and its downgrade drops it. Back up, f6a8c0e2b4d6 gives
    # each worker the membership its row holds (the one in force, no longer marked a renewal),
    # and the two data migrations before it count from the workers as the app did before
    # memberships existed. So the honest expectation is the kept books less exactly that
    # registration: agent1's month loses it, and agent1's payment under it is counted from the
    # member's current first month instead of the first month it was made under.
    in_force = {}
    for row in kept.memberships:  # in id order: a registration again replaces the one before
        in_force[row.worker_id] = replace(row, renewal=False)
    assert rebuilt.memberships == [in_force[worker] for worker in sorted(in_force)]

    expected_months = dict(kept.months)
    registered, paid, collected = expected_months[(ids["agent1"], bandung, bandung_month)]
    expected_months[(ids["agent1"], bandung, bandung_month)] = (registered - 1, paid, collected)
    assert rebuilt.months == expected_months

    expected_tallies = dict(kept.tallies)
    assert old_collection.months == 1  # one covered month: its whole amount on one index
    paid_month = local_month(old_collection.collected_at, "Asia/Jakarta")
    kept_index = months_from(first.first_month, old_collection.first_month) + 1
    counted_index = months_from(again.first_month, old_collection.first_month) + 1
    assert (paid_month, kept_index, counted_index) == (bandung_month, 1, -5)
    expected_tallies[(ids["agent1"], paid_month, kept_index)] -= old_collection.amount
    expected_tallies[(ids["agent1"], paid_month, counted_index)] = old_collection.amount
    # The payment made after the registration again counted from the first registration (a
    # lapse does not restart the member's months); without that history, from the second.
    assert collection_again.months == 1
    paid_month = local_month(collection_again.collected_at, "Asia/Makassar")
    kept_index = months_from(first.first_month, collection_again.first_month) + 1
    counted_index = months_from(again.first_month, collection_again.first_month) + 1
    assert (kept_index, counted_index) == (months_from(first.first_month, again.first_month) + 1, 1)
    expected_tallies[(ids["agent3"], paid_month, kept_index)] -= collection_again.amount
    expected_tallies[(ids["agent3"], paid_month, counted_index)] = \
        expected_tallies.get((ids["agent3"], paid_month, counted_index), 0) + collection_again.amount
    expected_tallies = {key: amount for key, amount in expected_tallies.items() if amount}
    assert rebuilt.tallies == expected_tallies
    assert rebuilt.zero_rows == 0


@pytest.mark.both_backends
def test_every_migration_goes_down_to_an_empty_database_and_back(app, runner, backend):
    result = runner.invoke(args=["db", "downgrade", "base"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    # SQLite's search index: an FTS5 table and its shadow tables, made by the migration only.
    search = {name for name in tables if name.startswith("worker_search")}
    assert search == (set() if backend == "postgresql" else
                      {"worker_search", "worker_search_config", "worker_search_data",
                       "worker_search_docsize", "worker_search_idx"})
    assert tables - search == set(db.metadata.tables) | {"alembic_version"}


# Since c1e3a5b7d9f0 (the first index migration written for the big databases), PostgreSQL
# builds every new index CONCURRENTLY: a plain CREATE INDEX holds a SHARE lock on its table,
# and on `ledger_entries`, `collections` or `workers` that stops payments for the whole build
# (minutes at 10,000,000 members; README, "Upgrading").
SINCE_CONCURRENT = "b8d0f2a4c6e8"


@pytest.mark.both_backends
def test_index_migrations_on_postgresql_never_stop_payments(app, runner, backend):
    result = runner.invoke(args=["db", "downgrade", SINCE_CONCURRENT])
    assert result.exit_code == 0, result.output
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        if re.match(r"\s*(CREATE|DROP) (UNIQUE )?INDEX", statement, re.I):
            statements.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        result = runner.invoke(args=["db", "upgrade"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)
    assert result.exit_code == 0, result.output
    made = [s for s in statements if s.upper().startswith(("CREATE INDEX", "CREATE UNIQUE"))]
    # The index migrations since then, each with its index.
    for name in ("ix_ledger_agent_time_amount", "ix_collections_agent_offline",
                 "ix_workers_agent_registered_phone_paid", "ix_users_role_username",
                 "ix_memberships_agent_registered_renewal", "ix_workers_branch_name_id",
                 "ix_workers_agent_name_id"):
        assert any(name in s for s in made), (name, statements)
    if backend == "postgresql":
        blocking = [s for s in statements if "CONCURRENTLY" not in s.upper()]
        assert blocking == []
    with app.app_context():
        indexes = {index["name"] for table in ("ledger_entries", "collections", "workers",
                                               "memberships")
                   for index in sa.inspect(db.engine).get_indexes(table)}
    assert {"ix_ledger_agent_time_amount", "ix_collections_agent_offline",
            "ix_workers_agent_registered_phone_paid",
            "ix_memberships_agent_registered_renewal", "ix_workers_branch_name_id",
            "ix_workers_agent_name_id"} <= indexes
    assert not {"ix_ledger_agent_time", "ix_workers_agent_registered",
                "ix_memberships_agent_registered", "ix_workers_branch_name",
                "ix_workers_agent_name"} & indexes
    with app.app_context():
        users = {index["name"] for index in sa.inspect(db.engine).get_indexes("users")}
    # The search by a username's start uses an index on PostgreSQL only (SQLite's LIKE cannot).
    assert ("ix_users_username_prefix" in users) == (backend == "postgresql")
