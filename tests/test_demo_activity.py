"""`seed-demo-activity` (what `make run` seeds after `seed-demo`): the Bandung branch gets every
state a newcomer should see (members active, in arrears, lapsed and waiting for a first payment;
an agent holding cash for days and flagged; a deposit and a reversal waiting; verified deposits),
the books add up, and running it twice creates nothing twice."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from conftest import Auth
from helpers import figure_cards
from markup import every, one, parse, text_of
from perisai.domain.clock import local_today
from perisai.domain.status import membership_status
from perisai.extensions import db
from perisai.models import (AuditEvent, Collection, Deposit, LedgerEntry, Reversal, User,
                            Worker)
from perisai.queries import supervision
from test_cli import FIRST, cli, counts, empty_database_url, fresh_app  # noqa: F401 (fixtures)


def everything(app) -> dict[str, int]:
    with app.app_context():
        result = {model.__name__: db.session.scalar(select(func.count()).select_from(model))
                  for model in (Worker, Collection, Deposit, Reversal, LedgerEntry, AuditEvent)}
        db.session.remove()
    return result


@pytest.mark.both_backends
def test_seed_demo_activity_shows_every_state_and_runs_twice(fresh_app, cli):
    assert cli("init-db").exit_code == 0
    assert cli("seed-demo", "--password", FIRST).exit_code == 0
    first = cli("seed-demo-activity")
    assert first.exit_code == 0, first.output
    assert "Demo activity: 12 new" in first.output
    seeded = everything(fresh_app)

    second = cli("seed-demo-activity")
    assert second.exit_code == 0, second.output
    assert "0 new" in second.output
    assert everything(fresh_app) == seeded
    assert cli("ledger-verify").exit_code == 0
    assert cli("audit-verify").exit_code == 0

    with fresh_app.app_context():
        session = db.session
        supervisor = session.scalars(select(User).where(User.username == "supervisor1")).one()
        today = local_today(supervisor.branch.timezone)
        codes = {w.full_name: membership_status(w.first_month, w.paid_through, today).code
                 for w in session.scalars(select(Worker).where(
                     Worker.branch_id == supervisor.branch_id))}
        assert set(codes.values()) == {"active", "arrears", "lapsed", "awaiting"}, codes
        rows = {r.agent.username: r for r in supervision.BranchAgents(
            session, supervisor.branch, today).rows(limit=1000)}
        assert "held" in rows["agent2"].flags and rows["agent2"].cash_on_hand > 0
        assert rows["agent1"].flags == ()
        assert [d.agent.username for d in session.scalars(select(Deposit).where(
            Deposit.status == "pending"))] == ["agent1"]
        assert session.scalar(select(func.count()).select_from(Deposit).where(
            Deposit.status == "verified")) == 2
        assert session.scalar(select(func.count()).select_from(Reversal).where(
            Reversal.status == "pending")) == 1
        session.remove()

    # What the supervisor sees on the home.
    client = fresh_app.test_client()
    assert Auth(client).login("supervisor1", FIRST).status_code == 303
    home = parse(client.get("/supervisor"))
    cards = figure_cards(home)
    assert cards["Menunggu tindakan"] == "2" and cards["Agen perlu perhatian"] == "1"
    assert "Budi Santoso" in text_of(one(home, "#flagged"))
    assert len(every(home, "#queue .card")) == 2


@pytest.mark.both_backends
def test_seed_demo_activity_needs_the_demo_users_first(fresh_app, cli):
    assert cli("init-db").exit_code == 0
    result = cli("seed-demo-activity")
    assert result.exit_code != 0 and "seed-demo" in result.output
    assert counts(fresh_app)["workers"] == 0
