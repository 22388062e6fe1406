"""Real concurrency on SQLite (a file, WAL) and PostgreSQL: simultaneous payments of one bill and
simultaneous registrations of one NIK, at the service layer (one app context and session per
thread) and over HTTP (one test client per thread). Also: migrations build an empty database."""
from __future__ import annotations

import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from conftest import PG_URL_VAR, Auth, _config, csrf_token
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, issue_bill, register,
                     run_together, worker_id_from)
from perisai import create_app
from perisai.domain import Conflict
from perisai.domain.checklist import Registration
from perisai.domain.clock import local_today
from perisai.extensions import db
from perisai.models import AgentAccount, AuditEvent, Bill, Collection, LedgerEntry, User, Worker
from perisai.commands import Actor
from perisai.commands.collecting import AlreadyPaid, collect
from perisai.commands.registration import register_worker

pytestmark = pytest.mark.both_backends


def login_client(app, username="agent1"):
    client = app.test_client()
    assert Auth(client).login(username).status_code == 303
    return client


def login_clients(app, usernames: list[str]):
    """One logged-in test client per name, each with its own session (logins run in parallel:
    the password KDF is slow on purpose)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda name: login_client(app, name), usernames))


@pytest.fixture
def open_bill(app):
    """A fresh worker of agent1 with an open 3-month code: (code, amount)."""
    client = login_client(app)
    worker_id = worker_id_from(register(client))
    code = bill_code_from(issue_bill(client, worker_id, 3))
    return code, amount_of_bill(client, code), worker_id


def money_rows(app):
    with app.app_context():
        return (db.session.scalar(select(func.count(Collection.id))),
                db.session.scalar(select(func.count(LedgerEntry.id)).where(
                    LedgerEntry.kind == "collection")),
                db.session.scalar(select(func.count(AuditEvent.id)).where(
                    AuditEvent.action == "collection.record")))


def cash_of(app, username="agent1") -> int:
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == username)).one()
        account = db.session.get(AgentAccount, agent.id)
        return account.cash_on_hand if account else 0


def service_collect(app, code, amount, key):
    """One thread: its own app context, session and agent object."""
    with app.app_context():
        try:
            agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
            today = local_today(agent.branch.timezone)
            collection, created = collect(db.session, code=code, amount=amount,
                                          idempotency_key=key, agent=agent,
                                          actor=Actor(agent.id, agent.username, "thread"),
                                          today=today)
            return ("ok", collection.receipt_number, created)
        except AlreadyPaid as paid:
            return ("paid", paid.collection.receipt_number, False)
        except Conflict as conflict:
            return ("conflict", conflict.message, False)
        except Exception as error:  # noqa: BLE001 - any other outcome fails the test below
            return ("error", repr(error), False)
        finally:
            db.session.remove()


def test_service_same_key_from_20_threads_is_one_collection(app, open_bill):
    code, amount, worker_id = open_bill
    key = uuid.uuid4().hex
    results = run_together(20, lambda i: service_collect(app, code, amount, key))
    assert {r[0] for r in results} == {"ok"}, results
    assert len({r[1] for r in results}) == 1, results
    assert sum(1 for r in results if r[2]) == 1  # exactly one created it
    assert money_rows(app) == (1, 1, 1)
    assert cash_of(app) == amount


def test_service_different_keys_from_20_threads_is_one_collection(app, open_bill):
    code, amount, worker_id = open_bill
    results = run_together(20, lambda i: service_collect(app, code, amount, uuid.uuid4().hex))
    winners = [r for r in results if r[0] == "ok"]
    assert len(winners) == 1, results
    losers = [r for r in results if r[0] != "ok"]
    assert all(r[0] == "paid" and r[1] == winners[0][1] for r in losers), results
    assert money_rows(app) == (1, 1, 1)
    assert cash_of(app) == amount


def service_register(app, registration, username="agent1"):
    with app.app_context():
        try:
            agent = db.session.scalars(select(User).where(User.username == username)).one()
            worker = register_worker(db.session, registration, agent=agent,
                                     actor=Actor(agent.id, agent.username, "thread"),
                                     today=local_today(agent.branch.timezone))
            return ("ok", worker.id)
        except Conflict as conflict:
            return ("conflict", conflict.message)
        except Exception as error:  # noqa: BLE001
            return ("error", repr(error))
        finally:
            db.session.remove()


def test_service_same_nik_from_10_threads_is_one_worker(app):
    from datetime import date
    registration = Registration(
        nik=VALID["nik"], full_name="Rina Marlina", birth_date=date(1995, 8, 12), sex="F",
        phone="081234567890", address="Jl. Dago 100, Bandung", occupation="pedagang",
        occupation2=None, declared_income=1_000_000, programs=3, heir_name="Asep Marlina",
        heir_relation="suami")
    results = run_together(10, lambda i: service_register(
        app, registration, "agent1" if i % 2 else "agent2"))
    assert [r[0] for r in results].count("ok") == 1, results
    assert all(r[0] == "conflict" and "sudah terdaftar" in r[1] for r in results if r[0] != "ok")
    with app.app_context():
        assert db.session.scalar(select(func.count(Worker.id)).where(
            Worker.nik == VALID["nik"])) == 1
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "worker.register", AuditEvent.object_id == str(
                next(r[1] for r in results if r[0] == "ok")))) == 1


# ---------------------------------------------------------------- over HTTP

def test_http_same_key_from_20_clients_is_one_receipt(app, open_bill):
    code, amount, worker_id = open_bill
    clients = login_clients(app, ["agent1"] * 20)
    key = collect_form(clients[0], code)["idempotency_key"]
    forms = [{"code": code, "amount": str(amount), "idempotency_key": key,
              "csrf_token": csrf_token(c, "/collect")} for c in clients]
    responses = run_together(20, lambda i: clients[i].post("/collect", data=forms[i]))
    assert [r.status_code for r in responses] == [303] * 20
    assert len({r.headers["Location"] for r in responses}) == 1
    assert money_rows(app) == (1, 1, 1)
    assert cash_of(app) == amount
    number = re.search(r"/receipts/(\d+)$", responses[0].headers["Location"]).group(1)
    assert clients[5].get(f"/receipts/{number}").status_code == 200


def test_http_different_keys_from_20_clients_is_one_collection(app, open_bill):
    code, amount, worker_id = open_bill
    clients = login_clients(app, ["agent1"] * 20)
    forms = [dict(collect_form(c, code), amount=str(amount)) for c in clients]
    assert len({f["idempotency_key"] for f in forms}) == 20
    responses = run_together(20, lambda i: clients[i].post("/collect", data=forms[i]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [303] + [409] * 19, statuses
    receipt = next(r for r in responses if r.status_code == 303).headers["Location"].rsplit("/", 1)[1]
    for response in responses:
        if response.status_code == 409:
            body = response.get_data(as_text=True)
            assert "Sudah dibayar" in body and receipt in body
    assert money_rows(app) == (1, 1, 1)
    assert cash_of(app) == amount
    with app.app_context():
        assert db.session.scalars(select(Bill.status).where(Bill.code == code)).one() == "paid"


def test_http_same_registration_from_10_clients_is_one_worker(app):
    clients = login_clients(app, ["agent1"] * 10)
    forms = [dict(VALID, csrf_token=csrf_token(c, "/workers/new")) for c in clients]
    responses = run_together(10, lambda i: clients[i].post("/workers/new", data=forms[i]))
    assert [r.status_code for r in responses] == [303] * 10, [
        (r.status_code, r.get_data(as_text=True)[-500:]) for r in responses if r.status_code != 303]
    assert len({r.headers["Location"] for r in responses}) == 1  # all land on the one worker
    with app.app_context():
        assert db.session.scalar(select(func.count(Worker.id)).where(
            Worker.nik == VALID["nik"])) == 1


def test_http_same_nik_from_two_agents_is_one_worker(app):
    clients = login_clients(app, ["agent1" if i % 2 else "agent2" for i in range(10)])
    forms = [dict(VALID, csrf_token=csrf_token(c, "/workers/new")) for c in clients]
    responses = run_together(10, lambda i: clients[i].post("/workers/new", data=forms[i]))
    statuses = [r.status_code for r in responses]
    assert 500 not in statuses and set(statuses) <= {303, 409, 422}, statuses
    with app.app_context():
        winner = db.session.scalars(select(Worker).where(Worker.nik == VALID["nik"])).one()
        owner = winner.agent.username
    for i, response in enumerate(responses):
        same_agent = ("agent1" if i % 2 else "agent2") == owner
        if same_agent:
            assert response.status_code == 303
            assert response.headers["Location"].endswith(f"/workers/{winner.id}")
        else:
            assert response.status_code in (409, 422)
            assert "sudah terdaftar" in response.get_data(as_text=True)


# ---------------------------------------------------------------- migrations on an empty database

def _upgrade_and_inspect(url: str) -> set[str]:
    app = create_app(_config(url, ""))
    try:
        with app.app_context():
            from flask_migrate import upgrade
            upgrade(directory=app.extensions["migrate"].directory)
            upgrade(directory=app.extensions["migrate"].directory)  # a second run is a no-op
            inspector = sa.inspect(db.engine)
            tables = set(inspector.get_table_names())
            version = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            assert version
            # Constraints that keep money safe are really in the schema.
            assert any(c["column_names"] == ["idempotency_key"]
                       for c in inspector.get_unique_constraints("collections")) or any(
                i["unique"] and i["column_names"] == ["idempotency_key"]
                for i in inspector.get_indexes("collections"))
            db.session.remove()
            return tables
    finally:
        with app.app_context():
            db.engine.dispose()


def expected_tables() -> set[str]:
    return set(db.metadata.tables) | {"alembic_version"}


def test_migrations_upgrade_an_empty_database(backend, tmp_path):
    if backend == "sqlite":
        path = tmp_path / "empty.sqlite3"
        assert not path.exists()
        tables = _upgrade_and_inspect(f"sqlite:///{path}")
        assert expected_tables() <= tables, expected_tables() - tables
        return
    base = os.environ[PG_URL_VAR]
    name = f"perisai_empty_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
        tables = _upgrade_and_inspect(url)
        assert expected_tables() <= tables, expected_tables() - tables
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
