"""Finding 13: a new member is a NIK never registered before (Perdir 13/PERDIR.02/042022). A
lapsed member who registers again is covered again, but earns no acquisition bonus and does not
restart the 15% window: its member months count from its first registration."""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from helpers import nik_for
from perisai.commands import Actor, books
from perisai.commands.billing import issue_bill
from perisai.commands.collecting import collect
from perisai.commands.registration import register_worker
from perisai.domain.checklist import Registration
from perisai.domain.clock import local_today, utcnow
from perisai.domain.months import add_months, month_of
from perisai.extensions import db
from perisai.models import IncentiveTally, Membership, User, Worker
from perisai.queries import incentives

ZONE = "Asia/Jakarta"
NIK = nik_for(date(1988, 3, 9), "M", 731)


def _registration(programs: int = 3) -> Registration:
    return Registration(NIK, "Budi Lama", date(1988, 3, 9), "M", "081299990000",
                        "Jl. Lama 1, Bandung", "pedagang", None, 1_000_000, programs,
                        "Siti Lama", "istri")


def _agent(username: str) -> tuple[User, Actor]:
    agent = db.session.scalars(select(User).where(User.username == username)).one()
    return agent, Actor(agent.id, agent.username, "127.0.0.1")


@pytest.mark.both_backends
def test_a_lapsed_member_registered_again_is_no_new_member_and_keeps_its_months(app, backend):
    today = local_today(ZONE)
    this_month = month_of(today)
    with app.app_context():
        agent, actor = _agent("agent1")
        worker = register_worker(db.session, _registration(), agent=agent, actor=actor, today=today)
        worker_id = worker.id
        # Make it an old member: registered 30 months ago, paid for 10 months, lapsed since.
        first = add_months(this_month, -30)
        db.session.execute(update(Worker).where(Worker.id == worker_id).values(
            first_month=first, paid_through=add_months(first, 9),
            registered_at=utcnow() - timedelta(days=31 * 30)))
        db.session.execute(update(Membership).where(Membership.worker_id == worker_id).values(
            first_month=first, registered_at=utcnow() - timedelta(days=31 * 30)))
        db.session.commit()
        before = incentives.monthly_incentive(db.session, agent.id, today, ZONE)

        agent, actor = _agent("agent1")
        again = register_worker(db.session, _registration(2), agent=agent, actor=actor, today=today)
        assert again.id == worker_id and again.first_month == this_month  # covered again
        after = incentives.monthly_incentive(db.session, agent.id, today, ZONE)
        # Not a new member: neither the count towards the bonus nor its programs move.
        assert (after.new_members, after.new_three_programs, after.new_two_programs) == \
            (before.new_members, before.new_three_programs, before.new_two_programs)

        agent, actor = _agent("agent1")
        bill = issue_bill(db.session, worker_id, 1, agent=agent, actor=actor, today=today)
        agent, actor = _agent("agent1")
        collect(db.session, code=bill.code, amount=bill.amount, idempotency_key=uuid.uuid4().hex,
                agent=agent, actor=actor, today=today)
        # This month is the member's 31st, counted from the first registration: 5%, not 15%.
        assert books.member_since(db.session, worker_id) == first
        indexes = set(db.session.scalars(select(IncentiveTally.member_month).where(
            IncentiveTally.agent_id == agent.id, IncentiveTally.month == this_month)))
        assert 31 in indexes
        month = incentives.monthly_incentive(db.session, agent.id, today, ZONE)
        assert month.late_base - before.late_base == bill.amount
        assert month.early_base == before.early_base
        # (The agent months are off only where this test moved the registration back.)
        report = books.verify_books(db.session)
        assert (report.ledger, report.tallies) == ([], [])
