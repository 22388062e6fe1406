"""Finding 9: a reversal approval and the worker's next collection, at the same moment, on
PostgreSQL. The collection locked its bill and then the worker; the approval locked the worker
and then cancelled the worker's open bills, that same bill: each waited for the other and
PostgreSQL killed one (40P01, a 503 for the agent). Now every command locks the worker before
its bills (commands/tx.py), and a transaction that still fails with 40P01 or 40001 runs again,
a bounded number of times.

The test forces the interleaving that deadlocked: the collection holds its first lock and
waits until the approval holds its first one, then both go on."""
from __future__ import annotations

import threading
import uuid

import pytest
from psycopg import errors as pg_errors
from sqlalchemy import event, select
from sqlalchemy.exc import OperationalError

from helpers import bill_code_from, collect_form, issue_bill, login_client, receipt_from, register, worker_id_from, amount_of_bill
from perisai.commands import Actor, books, tx
from perisai.commands.collecting import collect
from perisai.commands.reversals import approve, request_reversal
from perisai.domain import DomainError
from perisai.domain.clock import local_today
from perisai.extensions import db
from perisai.models import Bill, Collection, Reversal, User


def _user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def _paid_then_next_code(app):
    """A worker of agent1 paid once (reversal requested) with the next code open."""
    agent = login_client(app, "agent1")
    worker_id = worker_id_from(register(agent))
    code = bill_code_from(issue_bill(agent, worker_id, 1))
    paid = agent.post("/collect", data=dict(collect_form(agent, code),
                                            amount=str(amount_of_bill(agent, code))))
    receipt = receipt_from(paid)
    next_code = bill_code_from(issue_bill(agent, worker_id, 1))
    with app.app_context():
        agent1 = _user("agent1")
        reversal = request_reversal(db.session, receipt, agent=agent1, reason="salah kode",
                                    actor=Actor(agent1.id, "agent1"))
        next_amount = db.session.scalar(select(Bill.amount).where(Bill.code == next_code))
        return reversal.id, next_code, next_amount


@pytest.mark.both_backends
def test_an_approval_and_the_next_collection_at_once_do_not_deadlock(app, backend):
    reversal_id, next_code, amount = _paid_then_next_code(app)
    with app.app_context():
        engine = db.engine
    collection_has_first_lock = threading.Event()
    approval_has_first_lock = threading.Event()

    def after(conn, cursor, statement, parameters, context, executemany):
        name = threading.current_thread().name
        if "FOR UPDATE" not in statement and not statement.lstrip().upper().startswith("UPDATE"):
            return
        if name == "collection" and not collection_has_first_lock.is_set():
            collection_has_first_lock.set()
            # Let the approval take its first lock (it cannot while we hold the worker).
            approval_has_first_lock.wait(timeout=3)
        elif name == "approval" and "workers" in statement:
            approval_has_first_lock.set()

    results: dict[str, object] = {}

    def run_collection():
        with app.app_context():
            try:
                agent = _user("agent1")
                results["collection"] = collect(
                    db.session, code=next_code, amount=amount, idempotency_key=uuid.uuid4().hex,
                    agent=agent, actor=Actor(agent.id, "agent1"),
                    today=local_today(agent.branch.timezone))[0].receipt_number
            except Exception as error:  # noqa: BLE001 - checked below
                results["collection"] = error
            finally:
                db.session.remove()

    def run_approval():
        collection_has_first_lock.wait(timeout=10)
        with app.app_context():
            try:
                supervisor = _user("supervisor1")
                results["approval"] = approve(db.session, reversal_id, supervisor=supervisor,
                                              actor=Actor(supervisor.id, "supervisor1")).status
            except Exception as error:  # noqa: BLE001 - checked below
                results["approval"] = error
            finally:
                db.session.remove()

    event.listen(engine, "after_cursor_execute", after)
    try:
        threads = [threading.Thread(target=run_collection, name="collection"),
                   threading.Thread(target=run_approval, name="approval")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        event.remove(engine, "after_cursor_execute", after)

    errors = [value for value in results.values() if isinstance(value, OperationalError)]
    assert errors == [], f"a database error reached the user: {errors}"
    # One of the two happened first; the other was refused with a reason, never a 503.
    outcomes = {name: ("refused" if isinstance(value, DomainError) else "done")
                for name, value in results.items()}
    assert sorted(outcomes.values()) == ["done", "refused"], results
    with app.app_context():
        report = books.verify_books(db.session)
        assert report.ok, report
        reversal = db.session.get(Reversal, reversal_id)
        paid_next = db.session.scalar(select(Collection.id).join(Bill).where(Bill.code == next_code))
        assert (reversal.status == "approved") == (paid_next is None)


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_deadlock_victim_runs_again_a_bounded_number_of_times(app, monkeypatch):
    calls = []

    @tx.retry_transient
    def command(session, fail_times: int):
        calls.append(1)
        if len(calls) <= fail_times:
            raise OperationalError("UPDATE …", {}, _Deadlock("deadlock detected"))
        return "done"

    monkeypatch.setattr(tx.time, "sleep", lambda seconds: None)
    with app.app_context():
        assert command(db.session, tx.MAX_ATTEMPTS - 1) == "done"
        assert len(calls) == tx.MAX_ATTEMPTS
        calls.clear()
        with pytest.raises(OperationalError):
            command(db.session, tx.MAX_ATTEMPTS)
        assert len(calls) == tx.MAX_ATTEMPTS
        calls.clear()
        # Anything else is not retried: a lost connection, a constraint.
        with pytest.raises(OperationalError):
            @tx.retry_transient
            def lost(session):
                calls.append(1)
                raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
            lost(db.session)
        assert len(calls) == 1


def test_psycopg_names_the_states_that_are_retried():
    assert pg_errors.DeadlockDetected.sqlstate in tx.TRANSIENT_SQLSTATES
    assert pg_errors.SerializationFailure.sqlstate in tx.TRANSIENT_SQLSTATES
