"""Reversals over HTTP (maker-checker): the collecting agent asks, a supervisor of the branch
decides, the requester never approves; approval reverses everything in one transaction."""
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from conftest import csrf_token
from markup import field_value, has, one, text_of
from helpers import (amount_of_bill, bill_code_from, collect_form, form_key, issue_bill,
                     paid_receipt, public_slip_url, receipt_from, register, relogin,
                     worker_id_from)
from perisai.extensions import db
from perisai.models import (AgentAccount, AuditEvent, Bill, Collection, Deposit, LedgerEntry, Reversal,
                            User, Worker)
from perisai.commands import Actor, books
from perisai.commands import reversals as reversal_service
from perisai.domain import reversals as reversal_rules
from perisai.domain import DomainError


def token(client):
    return csrf_token(client, "/")


def ask(client, number, reason="Salah kode, uang dikembalikan", **headers):
    return client.post(f"/receipts/{number}/reversal", data={"csrf_token": token(client),
                                                             "reason": reason}, headers=headers)


def state(app, number):
    with app.app_context():
        collection = db.session.scalars(select(Collection).where(
            Collection.receipt_number == number)).one()
        worker = db.session.get(Worker, collection.worker_id)
        bill = db.session.get(Bill, collection.bill_id)
        account = db.session.get(AgentAccount, collection.agent_id)
        reversals = db.session.scalars(select(Reversal).where(
            Reversal.collection_id == collection.id).order_by(Reversal.id)).all()
        result = {"paid_through": worker.paid_through, "first_month": worker.first_month,
                  "bill": bill.status, "cash": account.cash_on_hand,
                  "reversed": account.total_reversed,
                  "reversals": [(r.status, r.requested_by_id, r.decided_by_id) for r in reversals],
                  "ids": [r.id for r in reversals],
                  "entries": db.session.scalars(select(LedgerEntry.kind).where(
                      LedgerEntry.collection_id == collection.id).order_by(LedgerEntry.id)).all()}
        assert books.verify_books(db.session).ledger == []
        return result


def user_id(app, username):
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


@pytest.mark.both_backends
def test_request_then_approve_reverses_bill_member_cash_and_slip(app, client, auth):
    auth.login("agent1")
    number, amount = paid_receipt(client, months=3)
    before = state(app, number)
    assert before["bill"] == "paid" and before["cash"] == amount
    response = ask(client, number)
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/receipts/{number}")
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    assert "Pembatalan diminta" in slip and "SAH" in slip
    pending = state(app, number)
    assert pending["reversals"] == [("pending", user_id(app, "agent1"), None)]
    assert pending["cash"] == amount and pending["bill"] == "paid"  # nothing moves until approved
    again = ask(client, number)
    assert again.status_code == 409 and "menunggu pengawas" in again.get_data(as_text=True)

    relogin(client, auth, "supervisor1")
    listing = client.get("/supervisor").get_data(as_text=True)
    [reversal_id] = pending["ids"]
    assert number in text_of(one(listing, f"#reversal-{reversal_id}"))
    response = client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token(client)})
    assert response.status_code == 303
    after = state(app, number)
    assert after["reversals"] == [("approved", user_id(app, "agent1"), user_id(app, "supervisor1"))]
    assert after["bill"] == "cancelled"
    assert after["paid_through"] is None  # the first payment of a new member: back to unpaid
    assert (after["cash"], after["reversed"]) == (0, amount)
    assert after["entries"] == ["collection", "reversal"]
    # The public slip and the receipt now say "DIBATALKAN"; the collection row is still there.
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    assert "DIBATALKAN" in slip
    public_url = public_slip_url(slip)
    relogin(client, auth, "agent1")
    assert "DIBATALKAN" in client.get(public_url.replace("http://perisai.test", "")).get_data(as_text=True)
    second = client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token(client)})
    assert second.status_code == 403
    relogin(client, auth, "supervisor1")
    second = client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token(client)})
    assert second.status_code == 409 and "sudah diputuskan" in second.get_data(as_text=True)
    assert state(app, number)["entries"] == ["collection", "reversal"]
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert actions.count("reversal.request") == 1 and actions.count("reversal.approve") == 1


@pytest.mark.both_backends
def test_maker_checker(app, client, auth):
    auth.login("agent1")
    number, amount = paid_receipt(client)
    ask(client, number)
    [reversal_id] = state(app, number)["ids"]
    # The agent (the requester) cannot decide: not a supervisor.
    for action in ("approve", "reject"):
        assert client.post(f"/reversals/{reversal_id}/{action}",
                           data={"csrf_token": token(client)}).status_code == 403
    # agent2 of the same branch cannot ask for agent1's receipt.
    relogin(client, auth, "agent2")
    assert ask(client, number).status_code == 404
    # A supervisor of another branch neither sees nor decides it.
    relogin(client, auth, "supervisor2")
    assert number not in client.get("/supervisor").get_data(as_text=True)
    assert client.get(f"/receipts/{number}").status_code == 404
    for action in ("approve", "reject"):
        response = client.post(f"/reversals/{reversal_id}/{action}",
                               data={"csrf_token": token(client)})
        assert response.status_code == 404
    assert state(app, number)["reversals"][0][0] == "pending"
    assert state(app, number)["cash"] == amount
    # The service refuses a decision by the requester itself, whatever its role.
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
        with pytest.raises(DomainError) as refused:
            reversal_service.approve(db.session, reversal_id, supervisor=agent,
                                     actor=Actor(agent.id, agent.username))
        assert refused.value.status_code == 404  # an agent decides nothing (not a supervisor)
    assert state(app, number)["reversals"][0][0] == "pending"


def test_the_database_refuses_a_requester_as_approver(app, client, auth):
    auth.login("agent1")
    number, _ = paid_receipt(client)
    ask(client, number)
    [reversal_id] = state(app, number)["ids"]
    with app.app_context():
        reversal = db.session.get(Reversal, reversal_id)
        reversal.decided_by_id = reversal.requested_by_id
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()


def test_reason_is_required(app, client, auth):
    auth.login("agent1")
    number, _ = paid_receipt(client)
    response = ask(client, number, reason="   ")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Tulis alasan pembatalan" in html and has(html, "#slip")  # the same receipt page
    assert state(app, number)["reversals"] == []
    response = ask(client, number, reason="", **{"HX-Request": "true"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert html.startswith('<section id="reversal-request"') and "Tulis alasan" in html


def test_htmx_request_and_decision_swap_fragments(app, client, auth):
    auth.login("agent1")
    number, _ = paid_receipt(client)
    response = ask(client, number, **{"HX-Request": "true"})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    assert html.startswith('<section id="reversal-request"') and "Pembatalan diminta" in html
    [reversal_id] = state(app, number)["ids"]
    relogin(client, auth, "supervisor1")
    response = client.post(f"/reversals/{reversal_id}/reject",
                           data={"csrf_token": token(client), "reason": "Uang sudah diterima"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.startswith(f'<div class="card" id="reversal-{reversal_id}">')
    assert "Ditolak" in html and "<form" not in html and "<html" not in html
    after = state(app, number)
    assert after["reversals"][0][0] == "rejected" and after["bill"] == "paid"
    # After a rejection the agent may ask again.
    relogin(client, auth, "agent1")
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    assert "Uang sudah diterima" in slip
    assert has(slip, f'form[action="/receipts/{number}/reversal"] textarea[name="reason"]')
    assert ask(client, number).status_code == 303
    assert [s for s, _, _ in state(app, number)["reversals"]] == ["rejected", "pending"]


def test_only_the_latest_collection_of_a_worker_can_be_reversed(app, client, auth):
    auth.login("agent1")
    response = register(client)
    worker_id = worker_id_from(response)
    receipts = []
    for _ in range(2):
        code = bill_code_from(issue_bill(client, worker_id, 1))
        amount = amount_of_bill(client, code)
        response = client.post("/collect", data=dict(collect_form(client, code), amount=str(amount)))
        receipts.append(receipt_from(response))
    first, second = receipts
    response = ask(client, first)
    assert response.status_code == 409
    assert "Hanya pembayaran terakhir" in response.get_data(as_text=True)
    assert second in response.get_data(as_text=True)
    assert state(app, first)["reversals"] == []
    # Reversing the latest moves paid-through back by its months only.
    ask(client, second)
    [reversal_id] = state(app, second)["ids"]
    relogin(client, auth, "supervisor1")
    assert client.post(f"/reversals/{reversal_id}/approve",
                       data={"csrf_token": token(client)}).status_code == 303
    after = state(app, first)
    assert after["paid_through"] == after["first_month"]
    # Now the first is the latest valid one and can be reversed in turn.
    relogin(client, auth, "agent1")
    assert ask(client, first).status_code == 303


def test_money_already_deposited_cannot_be_reversed_in_the_app(app, client, auth):
    auth.login("agent1")
    number, amount = paid_receipt(client)
    html = client.get("/").get_data(as_text=True)
    client.post("/deposits", data={"csrf_token": form_key(html, "csrf_token"),
                                   "idempotency_key": form_key(html), "amount": str(amount),
                                   "reference": "TRF-1"})
    ask(client, number)
    [reversal_id] = state(app, number)["ids"]
    relogin(client, auth, "supervisor1")
    with app.app_context():
        deposit_id = db.session.scalar(select(Deposit.id))
    assert client.post(f"/deposits/{deposit_id}/verify",
                       data={"csrf_token": token(client)}).status_code == 303
    before = state(app, number)
    response = client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token(client)})
    assert response.status_code == 409
    assert "sudah disetor" in response.get_data(as_text=True)
    assert "mengembalikan uang" in response.get_data(as_text=True)
    assert state(app, number) == before  # nothing changed


def test_approval_cancels_a_code_issued_after_the_payment(app, client, auth):
    auth.login("agent1")
    response = register(client)
    worker_id = worker_id_from(response)
    code = bill_code_from(issue_bill(client, worker_id, 1))
    amount = amount_of_bill(client, code)
    number = receipt_from(client.post("/collect", data=dict(collect_form(client, code), amount=str(amount))))
    next_code = bill_code_from(issue_bill(client, worker_id, 1))
    ask(client, number)
    [reversal_id] = state(app, number)["ids"]
    relogin(client, auth, "supervisor1")
    client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token(client)})
    with app.app_context():
        assert db.session.scalar(select(Bill.status).where(Bill.code == next_code)) == "cancelled"
    relogin(client, auth, "agent1")
    # The worker can be billed again from the month that is unpaid once more.
    again = bill_code_from(issue_bill(client, worker_id, 1))
    with app.app_context():
        bill = db.session.scalars(select(Bill).where(Bill.code == again)).one()
        worker = db.session.get(Worker, worker_id)
        assert bill.first_month == worker.first_month


def test_paid_through_after():
    assert reversal_rules.paid_through_after(date(2026, 5, 1), date(2026, 1, 1)) == date(2026, 4, 1)
    assert reversal_rules.paid_through_after(date(2026, 5, 1), date(2026, 5, 1)) is None
    assert reversal_rules.paid_through_after(date(2027, 1, 1), date(2026, 11, 1)) == date(2026, 12, 1)


def test_supervisor_decides_from_the_receipt_page(app, client, auth):
    auth.login("agent1")
    number, _ = paid_receipt(client)
    ask(client, number)
    [reversal_id] = state(app, number)["ids"]
    relogin(client, auth, "supervisor1")
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    approve = one(slip, f'form[method="post"][action="/reversals/{reversal_id}/approve"]')
    assert field_value(approve, "next") == f"/receipts/{number}"
    assert not has(slip, f'form[action="/receipts/{number}/reversal"]')  # no request form for a supervisor
    response = client.post(f"/reversals/{reversal_id}/approve",
                           data={"csrf_token": token(client), "next": f"/receipts/{number}"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/receipts/{number}")
    assert "DIBATALKAN" in client.get(f"/receipts/{number}").get_data(as_text=True)
