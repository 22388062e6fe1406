"""Finding 3: a reversal after the agent moved branch. The rule: the receipt's branch decides,
and the cash side is settled in that branch's books. An agent leaves a branch with empty hands
(its cash deposited and verified there), so a receipt from the old branch cannot be paid back
out of cash collected in the new one: the request (and, should one be pending, the approval) is
refused with a message naming the branch that refunds the worker, each branch's books keep
adding up, and `ledger-verify` catches books where they do not."""
from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import select, update

from helpers import nik_for
from perisai.commands import Actor, books
from perisai.commands import deposits as deposit_commands
from perisai.commands.accounts import move_agent
from perisai.commands.billing import issue_bill
from perisai.commands.collecting import collect
from perisai.commands.registration import register_worker
from perisai.commands.reversals import approve, request_reversal
from perisai.domain import Conflict
from perisai.domain.checklist import Registration
from perisai.domain.clock import local_today, utcnow
from perisai.extensions import db
from perisai.models import AgentAccount, Branch, Collection, LedgerEntry, Reversal, User


def _user(username: str) -> User:
    return db.session.scalars(select(User).where(User.username == username)).one()


def _actor(username: str) -> Actor:
    user = _user(username)
    return Actor(user.id, user.username, "127.0.0.1")


def _paid(serial: int, months: int) -> Collection:
    """A new member of agent1, in agent1's branch of the moment, paid for `months` months."""
    agent = _user("agent1")
    today = local_today(agent.branch.timezone)
    born = date(1980, 5, 20)
    worker = register_worker(db.session, Registration(
        nik_for(born, "M", serial), f"Pekerja {serial}", born, "M", "081234567000",
        "Jl. Contoh 2", "pedagang", None, 1_000_000, 3, "Ahli Waris", "istri"),
        agent=agent, actor=_actor("agent1"), today=today)
    bill = issue_bill(db.session, worker.id, months, agent=_user("agent1"),
                      actor=_actor("agent1"), today=today)
    collection, _ = collect(db.session, code=bill.code, amount=bill.amount,
                            idempotency_key=uuid.uuid4().hex, agent=_user("agent1"),
                            actor=_actor("agent1"), today=today)
    return collection


def _moved_agent_with_an_old_receipt():
    """agent1 collects in Bandung, deposits it all, moves to Makassar and collects more there.
    Returns (the Bandung receipt, its amount, agent1's cash, Bandung's id)."""
    old = _paid(801, 1)
    receipt, amount, bandung = old.receipt_number, old.amount, old.branch_id
    cash = db.session.get(AgentAccount, old.agent_id).cash_on_hand
    deposit, _ = deposit_commands.declare(db.session, agent=_user("agent1"), amount=cash,
                                          reference="BRI PINDAH 1", note=None,
                                          idempotency_key=uuid.uuid4().hex, actor=_actor("agent1"))
    deposit_commands.verify(db.session, deposit.id, supervisor=_user("supervisor1"),
                            actor=_actor("supervisor1"))
    move_agent(db.session, _user("agent1").id, "MKS01", actor=_actor("admin"))
    new = _paid(802, 12)  # in Makassar now, more cash than the old receipt
    assert new.branch_id != bandung and new.amount > amount
    return receipt, amount, new.amount, bandung


@pytest.mark.both_backends
def test_a_receipt_from_the_old_branch_is_not_refunded_from_the_new_branchs_cash(app, backend):
    with app.app_context():
        receipt, amount, cash, bandung = _moved_agent_with_an_old_receipt()
        with pytest.raises(Conflict) as refused:
            request_reversal(db.session, receipt, agent=_user("agent1"), reason="salah kode",
                             actor=_actor("agent1"))
        assert "Kantor Cabang Bandung" in refused.value.message
        assert "yang mengembalikan uang ke pekerja" in refused.value.message
        assert db.session.scalar(select(Reversal.id)) is None
        agent_id = _user("agent1").id
        assert db.session.get(AgentAccount, agent_id).cash_on_hand == cash
        assert books.cash_in_branch(db.session, agent_id, bandung) == 0
        assert books.verify_books(db.session).ok


@pytest.mark.both_backends
def test_a_pending_request_from_before_the_move_is_refused_at_approval(app, backend):
    """Should one be pending anyway (asked for before this rule), the old branch's supervisor
    cannot approve it out of the new branch's cash."""
    with app.app_context():
        receipt, amount, cash, bandung = _moved_agent_with_an_old_receipt()
        collection = db.session.scalars(select(Collection).where(
            Collection.receipt_number == receipt)).one()
        agent_id = _user("agent1").id
        db.session.add(Reversal(collection_id=collection.id, branch_id=collection.branch_id,
                                requested_by_id=agent_id, reason="salah kode",
                                requested_at=utcnow(), status="pending"))
        db.session.commit()
        reversal_id = db.session.scalar(select(Reversal.id))
        with pytest.raises(Conflict) as refused:
            approve(db.session, reversal_id, supervisor=_user("supervisor1"),
                    actor=_actor("supervisor1"))
        assert "Kantor Cabang Bandung" in refused.value.message
        assert db.session.get(Reversal, reversal_id).status == "pending"
        assert db.session.get(AgentAccount, agent_id).cash_on_hand == cash
        assert books.verify_books(db.session).ok


@pytest.mark.both_backends
def test_ledger_verify_catches_a_refund_settled_in_the_wrong_branchs_books(app, runner, backend):
    """The books the old code left: the Bandung receipt reversed out of the Makassar cash."""
    with app.app_context():
        receipt, amount, cash, bandung = _moved_agent_with_an_old_receipt()
        collection = db.session.scalars(select(Collection).where(
            Collection.receipt_number == receipt)).one()
        agent_id, collection_id = _user("agent1").id, collection.id
        db.session.add(LedgerEntry(agent_id=agent_id, branch_id=bandung, kind="reversal",
                                   amount=-amount, collection_id=collection_id,
                                   created_at=utcnow()))
        db.session.execute(update(AgentAccount).where(AgentAccount.agent_id == agent_id).values(
            cash_on_hand=AgentAccount.cash_on_hand - amount,
            total_reversed=AgentAccount.total_reversed + amount))
        db.session.commit()
        assert books.verify_books(db.session).ledger == []  # the agent's total still adds up
    result = runner.invoke(args=["ledger-verify"])
    assert result.exit_code == 1, result.output
    assert f"agent {agent_id} branch {bandung}: books do not add up (cash {-amount} in this branch" \
        in result.output

    # An entry moved to another branch than its receipt's is caught as well.
    with app.app_context():
        makassar = db.session.scalar(select(Branch.id).where(Branch.code == "MKS01"))
        db.session.execute(update(LedgerEntry).where(LedgerEntry.collection_id == collection_id,
                                                     LedgerEntry.kind == "reversal")
                           .values(branch_id=makassar))
        db.session.commit()
    result = runner.invoke(args=["ledger-verify"])
    assert result.exit_code == 1
    assert f"agent {agent_id} branch {makassar}: books do not add up" in result.output
    assert "1 entries settled here for another branch's receipt or deposit" in result.output
