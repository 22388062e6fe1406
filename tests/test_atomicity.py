"""All or nothing: a failure in the middle of a use case leaves no trace of it.

Each step a use case calls after its first write (closing the bill, adding the collection, …) is
made to fail, one at a time, where the service looks it up (`from . import ledger` then
`books._post(…)`: the module attribute). The request then answers with the error page (500, or
503 for a database error; never a traceback), every table holds exactly what it held before, the
audit chain still verifies, and the same thing done again without the fault works.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from conftest import csrf_token
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, form_key, issue_bill,
                     paid_receipt, receipt_from, register, relogin, worker_id_from)
from perisai.extensions import db
from perisai.models import (AgentAccount, AuditEvent, Bill, Collection, Deposit, Heir, LedgerEntry,
                            Reversal, User, Worker)
from perisai.commands import books


class InjectedFault(RuntimeError):
    pass


class Fault:
    """Replaces one function with one that fails, and counts that it was reached. `remove` puts
    the real one back (the fixture's teardown does too, should the test fail first)."""

    def __init__(self, monkeypatch, target: str, error: Exception):
        self.calls = 0
        self.error = error
        self._monkeypatch = monkeypatch
        monkeypatch.setattr(target, self._fail)

    def _fail(self, *args, **kwargs):
        self.calls += 1
        raise self.error

    def remove(self):
        self._monkeypatch.undo()


def injected() -> InjectedFault:
    return InjectedFault("injected fault SECRET-DETAIL")


def database_error() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("INSERT INTO ledger_entries …", {}, Exception("disk I/O error"))


ERROR_PAGES = {500: "Ada kesalahan di server. Data Anda tidak berubah",
               503: "Basis data tidak bisa dihubungi. Tidak ada data yang berubah"}


def everything(app) -> dict[str, list[tuple]]:
    """Every row of every table, as text: the whole database, to compare before and after."""
    with app.app_context():
        dump = {}
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(sa.select(table)).all()
            dump[table.name] = sorted(tuple(str(value) for value in row) for row in rows)
        db.session.remove()
    return dump


def assert_unchanged(before: dict, after: dict) -> None:
    changed = {name: {"gone": sorted(set(before[name]) - set(after[name])),
                      "new": sorted(set(after[name]) - set(before[name]))}
               for name in before if before[name] != after[name]}
    assert not changed, f"partial state left behind: {changed}"


def assert_error_page(response, status: int) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:800]
    assert ERROR_PAGES[status] in body
    assert "Traceback" not in body and "SECRET-DETAIL" not in body and "disk I/O" not in body


def assert_books_verify(app, runner) -> None:
    with app.app_context():
        result = runner.invoke(args=["audit-verify"])
        assert result.exit_code == 0, result.output
        assert "Audit chain intact" in result.output
        assert books.verify_books(db.session).ledger == []
        db.session.remove()


def one(app, query):
    with app.app_context():
        value = db.session.execute(query).one()
        db.session.remove()
    return value


def count(app, model, *where) -> int:
    with app.app_context():
        value = db.session.scalar(select(func.count()).select_from(model).where(*where))
        db.session.remove()
    return value


def agent_cash(app, username: str = "agent1") -> tuple[int, int]:
    return tuple(one(app, select(AgentAccount.cash_on_hand, AgentAccount.total_collected)
                      .join(User, User.id == AgentAccount.agent_id).where(User.username == username)))


# --- collecting -------------------------------------------------------------------------------

COLLECT_STEPS = ["perisai.commands.books._post", "perisai.commands.books._tally",
                 "perisai.commands.books._count_month", "perisai.commands.audit.record"]


def billed_worker(client) -> tuple[int, str, int]:
    response = register(client)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    worker_id = worker_id_from(response)
    code = bill_code_from(issue_bill(client, worker_id, 3))
    return worker_id, code, amount_of_bill(client, code)


@pytest.mark.both_backends
@pytest.mark.parametrize("step", COLLECT_STEPS)
def test_a_collection_that_fails_midway_leaves_nothing(app, client, auth, runner, monkeypatch, step):
    auth.login("agent1")
    worker_id, code, amount = billed_worker(client)
    form = dict(collect_form(client, code), amount=str(amount))
    paid_through = one(app, select(Worker.paid_through).where(Worker.id == worker_id))[0]
    cash = agent_cash(app)
    before = everything(app)

    fault = Fault(monkeypatch, step, injected())
    response = client.post("/collect", data=form)
    fault.remove()
    assert fault.calls == 1, f"{step} was not reached"
    assert_error_page(response, 500)

    assert_unchanged(before, everything(app))
    assert one(app, select(Bill.status).where(Bill.code == code))[0] == "open"
    assert count(app, Collection, Collection.bill_id == select(Bill.id).where(
        Bill.code == code).scalar_subquery()) == 0
    assert count(app, LedgerEntry, LedgerEntry.kind == "collection") == 0
    assert agent_cash(app) == cash
    assert one(app, select(Worker.paid_through).where(Worker.id == worker_id))[0] == paid_through
    assert_books_verify(app, runner)

    # The same bill, collected normally with a fresh form (a fresh idempotency key).
    fresh = dict(collect_form(client, code), amount=str(amount))
    assert fresh["idempotency_key"] != form["idempotency_key"]
    response = client.post("/collect", data=fresh)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    number = receipt_from(response)
    assert one(app, select(Bill.status).where(Bill.code == code))[0] == "paid"
    assert one(app, select(Collection.amount).where(Collection.receipt_number == number))[0] == amount
    assert agent_cash(app) == (cash[0] + amount, cash[1] + amount)
    assert one(app, select(Worker.paid_through).where(Worker.id == worker_id))[0] is not None
    assert_books_verify(app, runner)


@pytest.mark.both_backends
def test_a_database_error_midway_is_a_503_and_the_same_form_then_works(app, client, auth, runner,
                                                                        monkeypatch):
    """The phone's retry sends the same form (same key) again: the key was never stored, so the
    retry is a first payment, not a replay."""
    auth.login("agent1")
    _, code, amount = billed_worker(client)
    form = dict(collect_form(client, code), amount=str(amount))
    before = everything(app)
    fault = Fault(monkeypatch, "perisai.commands.books._post", database_error())
    response = client.post("/collect", data=form)
    fault.remove()
    assert fault.calls == 1
    assert_error_page(response, 503)
    assert_unchanged(before, everything(app))
    assert_books_verify(app, runner)
    response = client.post("/collect", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert one(app, select(Bill.status).where(Bill.code == code))[0] == "paid"
    assert_books_verify(app, runner)


# --- registration -----------------------------------------------------------------------------

@pytest.mark.both_backends
@pytest.mark.parametrize("step", ["perisai.commands.audit.record",
                                  "perisai.commands.books._count_month"])
def test_a_registration_that_fails_midway_leaves_no_worker_and_no_heir(app, client, auth, runner,
                                                                       monkeypatch, step):
    auth.login("agent1")
    client.get("/workers/new")
    before = everything(app)
    fault = Fault(monkeypatch, step, injected())
    response = register(client)
    fault.remove()
    assert fault.calls == 1, f"{step} was not reached"
    assert_error_page(response, 500)
    assert_unchanged(before, everything(app))
    assert count(app, Worker, Worker.nik == VALID["nik"]) == 0
    assert count(app, Heir, Heir.name == VALID["heir_name"]) == 0
    assert_books_verify(app, runner)

    response = register(client)
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    worker_id = worker_id_from(response)
    assert count(app, Worker, Worker.nik == VALID["nik"]) == 1
    assert count(app, Heir, Heir.worker_id == worker_id) == 1
    assert_books_verify(app, runner)


# --- deposit verification ---------------------------------------------------------------------

def pending_deposit(app, client, auth) -> tuple[int, int]:
    """agent1 collects and declares the cash; supervisor1 logged in to decide. (id, amount)"""
    auth.login("agent1")
    _, amount = paid_receipt(client, months=3)
    html = client.get("/").get_data(as_text=True)
    response = client.post("/deposits", data={
        "idempotency_key": form_key(html), "csrf_token": form_key(html, "csrf_token"),
        "amount": str(amount), "reference": "BRI 778899"})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    deposit_id = one(app, select(Deposit.id).where(Deposit.reference == "BRI 778899"))[0]
    relogin(client, auth, "supervisor1")
    return deposit_id, amount


@pytest.mark.both_backends
@pytest.mark.parametrize("step", ["perisai.commands.books._post", "perisai.commands.audit.record"])
def test_a_deposit_verification_that_fails_midway_changes_nothing(app, client, auth, runner,
                                                                  monkeypatch, step):
    deposit_id, amount = pending_deposit(app, client, auth)
    token = csrf_token(client, "/supervisor/agents")
    cash = one(app, select(AgentAccount.cash_on_hand, AgentAccount.total_deposited)
               .join(User, User.id == AgentAccount.agent_id).where(User.username == "agent1"))
    assert cash[0] == amount
    before = everything(app)
    fault = Fault(monkeypatch, step, injected())
    response = client.post(f"/deposits/{deposit_id}/verify", data={"csrf_token": token})
    fault.remove()
    assert fault.calls == 1, f"{step} was not reached"
    assert_error_page(response, 500)
    assert_unchanged(before, everything(app))
    assert one(app, select(Deposit.status, Deposit.decided_by_id).where(
        Deposit.id == deposit_id)) == ("pending", None)
    assert count(app, LedgerEntry, LedgerEntry.kind == "deposit") == 0
    assert_books_verify(app, runner)

    response = client.post(f"/deposits/{deposit_id}/verify", data={"csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert one(app, select(Deposit.status).where(Deposit.id == deposit_id))[0] == "verified"
    assert one(app, select(AgentAccount.cash_on_hand, AgentAccount.total_deposited)
               .join(User, User.id == AgentAccount.agent_id).where(User.username == "agent1")) == (
        0, cash[1] + amount)
    assert count(app, LedgerEntry, LedgerEntry.kind == "deposit") == 1
    assert_books_verify(app, runner)


# --- reversal approval ------------------------------------------------------------------------

REVERSAL_STEPS = ["perisai.commands.books._post", "perisai.commands.books._tally",
                  "perisai.commands.books._count_month", "perisai.commands.audit.record"]


@pytest.mark.both_backends
@pytest.mark.parametrize("step", REVERSAL_STEPS)
def test_a_reversal_approval_that_fails_midway_changes_nothing(app, client, auth, runner,
                                                               monkeypatch, step):
    auth.login("agent1")
    number, amount = paid_receipt(client, months=3)
    worker_id = one(app, select(Collection.worker_id).where(Collection.receipt_number == number))[0]
    # A code issued after the payment: approval cancels it, so a partial approval would show.
    later_code = bill_code_from(issue_bill(client, worker_id, 1))
    response = client.post(f"/receipts/{number}/reversal", data={
        "csrf_token": csrf_token(client, f"/receipts/{number}"), "reason": "Salah kode bayar"})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    reversal_id = one(app, select(Reversal.id))[0]
    relogin(client, auth, "supervisor1")
    token = csrf_token(client, "/supervisor/agents")
    paid_through = one(app, select(Worker.paid_through).where(Worker.id == worker_id))[0]
    cash = agent_cash(app)
    before = everything(app)

    fault = Fault(monkeypatch, step, injected())
    response = client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token})
    fault.remove()
    assert fault.calls == 1, f"{step} was not reached"
    assert_error_page(response, 500)
    assert_unchanged(before, everything(app))
    assert one(app, select(Reversal.status).where(Reversal.id == reversal_id))[0] == "pending"
    assert one(app, select(Bill.status).join(Collection, Collection.bill_id == Bill.id).where(
        Collection.receipt_number == number))[0] == "paid"
    assert one(app, select(Bill.status).where(Bill.code == later_code))[0] == "open"
    assert one(app, select(Worker.paid_through).where(Worker.id == worker_id))[0] == paid_through
    assert count(app, LedgerEntry, LedgerEntry.kind == "reversal") == 0
    assert agent_cash(app) == cash
    assert_books_verify(app, runner)

    response = client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:800]
    assert one(app, select(Reversal.status).where(Reversal.id == reversal_id))[0] == "approved"
    assert one(app, select(Bill.status).where(Bill.code == later_code))[0] == "cancelled"
    assert agent_cash(app) == (cash[0] - amount, cash[1])
    assert count(app, LedgerEntry, LedgerEntry.kind == "reversal") == 1
    assert count(app, AuditEvent, AuditEvent.action == "reversal.approve") == 1
    assert_books_verify(app, runner)
