"""`seed-scale` fills a database whose money adds up and whose rows the app can use."""
from __future__ import annotations


import pytest
from sqlalchemy import func, select
from stdnum import damm

from conftest import csrf_token
from helpers import figure_cards
from markup import every, link_targets, text_of
from perisai.domain.clock import local_today
from perisai.domain.codes import BILL_CODE_LENGTH, MEMBER_NUMBER_LENGTH, is_well_formed
from perisai.domain.status import membership_status
from perisai.extensions import db
from perisai.models import (AgentAccount, AuditEvent, Bill, Branch, Collection, Deposit, Heir,
                            LedgerEntry, User, Worker)
from perisai.services.scale import NumberSpace, damm_digit

WORKERS, COLLECTIONS, AGENTS = 300, 1_000, 12


def test_damm_digit_matches_stdnum():
    for body in (1, 9, 10, 12345, 1234567890, 98765432101, 10000000000, 99999999999):
        assert str(damm_digit(body)) == damm.calc_check_digit(str(body))


def test_number_space_gives_distinct_well_formed_numbers():
    space = NumberSpace(BILL_CODE_LENGTH, salt=42)
    numbers = [space(n) for n in range(20_000)]
    assert len(set(numbers)) == len(numbers)
    assert all(is_well_formed(number, BILL_CODE_LENGTH) for number in numbers)
    assert all(number[0] != "0" for number in numbers)


def _cli(app, runner, args):
    # `flask` itself pushes an app context; the test runner calls app.cli directly.
    with app.app_context():
        return runner.invoke(args=args)


def _counts():
    session = db.session
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Branch, User, Worker, Heir, Bill, Collection, Deposit, LedgerEntry,
                          AgentAccount, AuditEvent)}


@pytest.mark.both_backends
def test_seed_scale_counts_and_ledger(app, runner):
    with app.app_context():
        before = _counts()
    result = _cli(app, runner, ["seed-scale", "--workers", str(WORKERS), "--collections",
                                 str(COLLECTIONS), "--agents", str(AGENTS)])
    assert result.exit_code == 0, result.output
    assert "300 workers" in result.output

    with app.app_context():
        after = _counts()
        grown = {name: after[name] - before[name] for name in after}
        assert grown["branches"] == 5
        assert grown["users"] == AGENTS + 5  # agents and one supervisor per branch
        assert grown["workers"] == WORKERS and grown["heirs"] == WORKERS
        assert grown["collections"] == COLLECTIONS
        assert grown["agent_accounts"] == AGENTS
        assert grown["audit_events"] == 0
        # Every collection has its paid bill and its ledger entry; the other bills are open.
        session = db.session
        assert session.scalar(select(func.count()).select_from(Bill).where(
            Bill.status == "paid")) == after["collections"]
        assert grown["bills"] - COLLECTIONS == session.scalar(
            select(func.count()).select_from(Bill).where(Bill.status == "open"))
        assert session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.kind == "collection")) == after["collections"]
        verified = session.scalar(select(func.count()).select_from(Deposit).where(
            Deposit.status == "verified"))
        assert verified > 0
        assert session.scalar(select(func.count()).select_from(LedgerEntry).where(
            LedgerEntry.kind == "deposit")) == verified
        # Collections agree with their bills, and the accounts with the collections.
        mismatched = session.scalar(select(func.count()).select_from(Collection).join(
            Bill, Bill.id == Collection.bill_id).where(
            (Bill.amount != Collection.amount) | (Bill.worker_id != Collection.worker_id)
            | (Bill.last_month != Collection.last_month)))
        assert mismatched == 0
        collected = session.scalar(select(func.sum(Collection.amount)))
        assert session.scalar(select(func.sum(AgentAccount.total_collected))) == collected
        # A worker's paid-through month is the last month of its newest collection.
        newest = (select(Collection.worker_id, func.max(Collection.last_month).label("last"))
                  .group_by(Collection.worker_id).subquery())
        assert session.scalar(select(func.count()).select_from(Worker).join(
            newest, newest.c.worker_id == Worker.id).where(
            Worker.paid_through != newest.c.last)) == 0
        assert session.scalar(select(func.count()).select_from(Worker).where(
            Worker.paid_through.is_(None))) > 0  # some still await their first payment
        numbers = session.scalars(select(Worker.member_number)).all()
        assert all(is_well_formed(number, MEMBER_NUMBER_LENGTH) for number in numbers)

    for command in ("ledger-verify", "audit-verify"):
        result = _cli(app, runner, [command])
        assert result.exit_code == 0, result.output

    again = _cli(app, runner, ["seed-scale", "--workers", "5", "--collections", "5"])
    assert again.exit_code != 0
    assert "already holds seed-scale data" in again.output


@pytest.mark.both_backends
def test_seeded_agent_and_supervisor_use_the_app(app, client, runner):
    result = _cli(app, runner, ["seed-scale", "--workers", "60", "--collections", "150",
                                 "--agents", "5", "--password", "scale-pass-123"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "scale.agent0001")).one()
        today = local_today(agent.branch.timezone)
        worker = next(w for w in db.session.scalars(select(Worker).where(
            Worker.agent_id == agent.id, Worker.paid_through.is_not(None)))
            if membership_status(w.first_month, w.paid_through, today).can_bill)
        receipt = db.session.scalars(select(Collection.receipt_number).where(
            Collection.agent_id == agent.id)).first()
        worker_id = worker.id
    response = client.post("/login", data={"username": "scale.agent0001",
                                           "password": "scale-pass-123",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    for path in ("/", f"/workers/{worker_id}", "/workers?q=a", f"/receipts/{receipt}"):
        assert client.get(path).status_code == 200, path
    # A new code for a seeded worker is priced and issued by the normal service.
    response = client.post(f"/workers/{worker_id}/bills", data={
        "months": "1", "csrf_token": csrf_token(client, f"/workers/{worker_id}")})
    assert response.status_code == 303, response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    response = client.post("/login", data={"username": "scale.sup1", "password": "scale-pass-123",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    page = client.get("/supervisor/agents")
    assert page.status_code == 200
    assert "scale.agent0001" in page.get_data(as_text=True)
    result = _cli(app, runner, ["ledger-verify"])
    assert result.exit_code == 0, result.output


def test_supervisor_agents_page_comes_in_pages(app, client, runner):
    """A branch of 210 agents: 50 per page, the page number clamped, the sort kept."""
    result = _cli(app, runner, ["seed-scale", "--workers", "400", "--collections", "800",
                                "--agents", "210", "--branches", "1"])
    assert result.exit_code == 0, result.output
    response = client.post("/login", data={"username": "scale.sup1", "password": "perisai-bench",
                                           "csrf_token": csrf_token(client)})
    assert response.status_code == 303
    first = client.get("/supervisor/agents?sort=name").get_data(as_text=True)
    assert len(every(first, 'tr[id^="agent-"]')) == 50
    assert "Halaman 1/5" in first and "sort=name&amp;page=2" in first
    last = client.get("/supervisor/agents?sort=name&page=99").get_data(as_text=True)
    assert len(every(last, 'tr[id^="agent-"]')) == 10 and "Halaman 5/5" in last
    seen = set()
    for page in (1, 2, 3, 4, 5):
        html = client.get(f"/supervisor/agents?sort=name&page={page}").get_data(as_text=True)
        seen |= {row["id"] for row in every(html, 'tr[id^="agent-"]')}
    assert len(seen) == 210
    # The home page names the ten agents who most need attention and links to the rest.
    home = client.get("/supervisor").get_data(as_text=True)
    flagged = int(figure_cards(home)["Agen perlu perhatian"])
    assert flagged > 10
    heading = next(h for h in every(home, "h2") if text_of(h) == "Agen perlu perhatian")
    assert len(heading.find_next_sibling("ul").find_all("li")) == 10
    assert f"({flagged} perlu perhatian)" in home and "/supervisor/agents" in link_targets(home)
