"""The age of the oldest undeposited rupiah: deposits take the oldest cash first, reversals take
their own collection out."""
import secrets
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from helpers import nik_for
from perisai.domain.checklist import Registration
from perisai.domain.clock import local_today
from perisai.extensions import db
from perisai.models import AgentAccount, User
from perisai.commands import Actor, books
from perisai.commands import deposits as deposit_service
from perisai.commands import reversals as reversal_service
from perisai.commands.billing import issue_bill
from perisai.commands.collecting import collect
from perisai.commands.registration import register_worker
from perisai.domain import DomainError
from perisai.domain.deposits import parse_amount


@pytest.mark.both_backends
def test_oldest_undeposited_is_first_in_first_out(app):
    with app.app_context():
        s = db.session
        agent = s.scalars(select(User).where(User.username == "agent2")).one()
        supervisor = s.scalars(select(User).where(User.username == "supervisor1")).one()
        agent_id, supervisor_id = agent.id, supervisor.id
        as_agent, as_supervisor = Actor(agent_id, "agent2"), Actor(supervisor_id, "supervisor1")
        today = local_today("Asia/Jakarta")
        start = datetime(2026, 11, 1, 1, 0)
        times, amounts, receipts = [], [], []
        for i in range(3):
            worker = register_worker(s, Registration(
                nik_for(date(1992, 3, 4), "F", 700 + i), f"Ibu {i}", date(1992, 3, 4), "F",
                "081234560001", "Jl. Uji 2", "pedagang", None, 1_000_000, 3, "Ahli", "suami"),
                agent=s.get(User, agent_id), actor=as_agent, today=today)
            bill = issue_bill(s, worker.id, 1, agent=s.get(User, agent_id), actor=as_agent, today=today)
            at = start + timedelta(hours=10 * i)
            collection, _ = collect(s, code=bill.code, amount=bill.amount,
                                    idempotency_key=secrets.token_urlsafe(24), agent=s.get(User, agent_id),
                                    actor=as_agent, today=today, now=at)
            times.append(at)
            amounts.append(collection.amount)
            receipts.append(collection.receipt_number)

        def account():
            s.expire_all()
            return s.get(AgentAccount, agent_id)

        assert account().oldest_undeposited_at == times[0]
        # A deposit of a little more than the first collection: the oldest cash left is the second.
        deposit, _ = deposit_service.declare(s, agent=s.get(User, agent_id), amount=amounts[0] + 1,
                                             reference="TRF-F1", note=None,
                                             idempotency_key=secrets.token_urlsafe(24), actor=as_agent)
        assert account().oldest_undeposited_at == times[0]  # declared is not verified
        deposit_service.verify(s, deposit.id, supervisor=s.get(User, supervisor_id), actor=as_supervisor)
        assert account().oldest_undeposited_at == times[1]
        # Reversing the newest collection leaves the second as the oldest.
        reversal = reversal_service.request_reversal(s, receipts[2], agent=s.get(User, agent_id),
                                                     reason="salah", actor=as_agent)
        reversal_service.approve(s, reversal.id, supervisor=s.get(User, supervisor_id), actor=as_supervisor)
        assert account().oldest_undeposited_at == times[1]
        assert account().cash_on_hand == amounts[1] - 1
        # Everything deposited: no age at all.
        rest, _ = deposit_service.declare(s, agent=s.get(User, agent_id), amount=amounts[1] - 1,
                                          reference="TRF-F2", note=None,
                                          idempotency_key=secrets.token_urlsafe(24), actor=as_agent)
        deposit_service.verify(s, rest.id, supervisor=s.get(User, supervisor_id), actor=as_supervisor)
        final = account()
        assert (final.cash_on_hand, final.oldest_undeposited_at) == (0, None)
        assert (final.total_collected, final.total_reversed, final.total_deposited) == \
            (sum(amounts), amounts[2], amounts[0] + amounts[1])
        assert books.verify_books(s).ledger == []


@pytest.mark.parametrize("typed, amount", [("500000", 500_000), ("500.000", 500_000),
                                           ("Rp 500.000", 500_000), ("Rp500.000", 500_000), ("1", 1)])
def test_deposit_amount_parsing(typed, amount):
    assert parse_amount(typed) == amount


@pytest.mark.parametrize("typed", ["", "0", "-1", "-500.000", "abc", "1,5", "١٢٣", "9" * 13, "00"])
def test_deposit_amount_refused(typed):
    with pytest.raises(DomainError):
        parse_amount(typed)
