"""The supervisor's agents are ranked, counted and added up in the database (`BranchAgents`);
the flags shown beside each agent come from `domain.flags.agent_flags`. The two must agree agent
by agent, for every sort, or the "worst first" list would hide an agent that needs attention."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from conftest import csrf_token
from markup import every, one, text_of

from perisai.domain.clock import local_today, utcnow
from perisai.extensions import db
from perisai.models import AgentAccount, Branch, Complaint, Deposit, User, Worker
from perisai.commands import SYSTEM
from perisai.commands.deposits import declare
from perisai.queries.supervision import (SORTS, BranchAgents, agent_row,
                                         agent_row_and_queue, queue_counts)
from bench.seed import main as seed

AGENTS = 40


def _far(moment):
    return moment or datetime.max


# The order of each sort as the page used to work it out in Python, from the rows shown.
PYTHON_ORDER = {
    "worst": lambda r: (-len(r.flags), -r.cash_on_hand, _far(r.oldest_undeposited_at),
                        r.agent.username),
    "cash": lambda r: (-r.cash_on_hand, r.agent.username),
    "age": lambda r: (_far(r.oldest_undeposited_at), r.agent.username),
    "collected": lambda r: (-r.collected_month, r.agent.username),
    "registrations": lambda r: (-r.registrations_month, r.agent.username),
    "name": lambda r: (r.agent.full_name.lower(), r.agent.username),
}


def _bench_branch(session) -> Branch:
    return session.scalars(select(User).where(User.username == "scale.sup1")).one().branch


@pytest.fixture
def branch(app, database_url, capsys, monkeypatch):
    """One bench branch of 40 agents, then every kind of flag given to a few of them."""
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.delenv("AUDIT_KEY", raising=False)
    assert seed(["--database-url", database_url, "--workers", "600", "--collections", "1500",
                 "--agents", str(AGENTS), "--branches", "1", "--password", "bench-pass-1"]) == 0
    capsys.readouterr()
    with app.app_context():
        session = db.session
        branch = _bench_branch(session)
        agents = session.scalars(select(User).where(User.role == "agent",
                                                    User.branch_id == branch.id)
                                 .order_by(User.id)).all()
        assert len(agents) == AGENTS
        now = utcnow()

        def account(agent, **values):
            # The account's own check holds: cash = collected - reversed - deposited.
            if "cash_on_hand" in values:
                values["total_collected"] = (values["cash_on_hand"] + AgentAccount.total_reversed
                                             + AgentAccount.total_deposited)
            session.execute(update(AgentAccount).where(AgentAccount.agent_id == agent.id)
                            .values(**values))

        # Over the cash limit, and holding it for days.
        account(agents[0], cash_on_hand=branch.cash_limit + 1,
                oldest_undeposited_at=now - timedelta(days=3))
        # Over the limit exactly at it (not over), held for 23 hours (not too long).
        account(agents[1], cash_on_hand=branch.cash_limit,
                oldest_undeposited_at=now - timedelta(hours=23))
        # Nothing in hand, an old "oldest" left behind: not held.
        account(agents[2], cash_on_hand=0, oldest_undeposited_at=now - timedelta(days=9))
        # Inactive for months; and one deactivated (not "inactive") who still holds cash.
        account(agents[3], last_activity_at=now - timedelta(days=200))
        account(agents[4], last_activity_at=now - timedelta(days=200), cash_on_hand=5_000,
                oldest_undeposited_at=now - timedelta(days=2))
        agents[4].active = False
        # A deactivated agent with nothing in hand leaves the list.
        account(agents[5], cash_on_hand=0)
        agents[5].active = False
        # Open complaints (an integrity flag) against two agents, one of them already flagged.
        for n, agent in enumerate((agents[6], agents[0])):
            worker = session.scalars(select(Worker).where(Worker.agent_id == agent.id)
                                     .limit(1)).first()
            if worker is None:
                worker = session.scalars(select(Worker).limit(1)).one()
            session.add(Complaint(ticket=f"T-TEST-{n}", worker_id=worker.id, agent_id=agent.id,
                                  branch_id=branch.id, message="Uang tidak disetor"))
        session.commit()
        return branch.id, [agent.username for agent in agents]


@pytest.mark.both_backends
def test_database_ranking_agrees_with_the_domain_flags(app, branch):
    branch_id, usernames = branch
    with app.app_context():
        session = db.session
        home = session.get(Branch, branch_id)
        agents = BranchAgents(session, home, local_today(home.timezone))
        everyone = agents.rows(limit=1000)
        flags = {row.agent.username: row.flags for row in everyone}
        # The fixture's cases, as the domain sees them.
        assert set(flags[usernames[0]]) == {"held", "over_limit", "complaints"}
        assert "held" not in flags[usernames[1]] and "over_limit" not in flags[usernames[1]]
        assert "held" not in flags[usernames[2]]
        assert "inactive" in flags[usernames[3]]
        assert "inactive" not in flags[usernames[4]] and "held" in flags[usernames[4]]
        assert usernames[5] not in flags
        assert "complaints" in flags[usernames[6]]

        assert agents.count() == len(everyone) == AGENTS - 1
        for sort in SORTS:
            ranked = agents.rows(sort, limit=1000)
            assert [r.agent.username for r in ranked] == \
                [r.agent.username for r in sorted(ranked, key=PYTHON_ORDER[sort])], sort
            # Pages cut the same order.
            pages = [r.agent.username for offset in range(0, AGENTS, 7)
                     for r in agents.rows(sort, offset=offset, limit=7)]
            assert pages == [r.agent.username for r in ranked], sort

        # A page with the number of pages in one statement; past the end, the last page.
        rows, page, pages = agents.page("name", 2, 7)
        assert (page, pages) == (2, 6)
        assert [r.agent.username for r in rows] == \
            [r.agent.username for r in agents.rows("name", offset=7, limit=7)]
        rows, page, pages = agents.page("name", 99, 7)
        assert (page, pages, len(rows)) == (6, 6, AGENTS - 1 - 35)

        flagged = [row for row in everyone if row.flags]
        assert len(flagged) >= 5
        assert [r.agent.username for r in agents.rows(limit=1000, flagged_only=True)] == \
            [r.agent.username for r in flagged]
        assert [r.agent.username for r in agents.rows(limit=3, flagged_only=True)] == \
            [r.agent.username for r in flagged[:3]]
        assert everyone[0].agent.username == usernames[0]  # the most flags

        totals = agents.totals(queue_counts(session, home.id))
        # The home's single statement gives the same figures, counts and flagged agents.
        overview, worst, counts = agents.overview(10)
        assert overview == totals and counts == queue_counts(session, home.id)
        assert [r.agent.username for r in worst] == [r.agent.username for r in flagged[:10]]
        assert totals.agents == len(everyone)
        assert totals.flagged_agents == len(flagged)
        assert totals.cash_on_hand == sum(row.cash_on_hand for row in everyone)
        assert totals.collected_month == sum(row.collected_month for row in everyone)
        assert totals.collected_month_count == sum(row.collections_month for row in everyone)

        # One agent's page reads its row and its queue's counts in one statement.
        today = local_today(home.timezone)
        waiting = 0
        for row in everyone:
            agent = session.get(User, row.agent.id)
            alone, queue = agent_row_and_queue(session, home, today, agent)
            assert queue == queue_counts(session, home.id, agent.id)
            assert alone.flags == agent_row(session, home, today, agent).flags
            assert queue["deposits_count"] == alone.pending_deposits == row.pending_deposits
            waiting += queue["deposits_count"]
        assert waiting == queue_counts(session, home.id)["deposits_count"] > 0


def _login_supervisor(client):
    assert client.post("/login", data={"username": "scale.sup1", "password": "bench-pass-1",
                                       "csrf_token": csrf_token(client)}).status_code == 303


@pytest.mark.both_backends
def test_home_names_the_worst_ten_and_counts_the_rest(app, client, branch):
    _, usernames = branch
    _login_supervisor(client)
    home = client.get("/supervisor").get_data(as_text=True)
    listed = every(home, "#flagged li")
    with app.app_context():
        session = db.session
        branch = _bench_branch(session)
        agents = BranchAgents(session, branch, local_today(branch.timezone))
        flagged = agents.rows(limit=1000, flagged_only=True)
    assert len(listed) == min(10, len(flagged))
    assert usernames[0] in home
    if len(flagged) > 10:
        assert f"({len(flagged)} perlu perhatian)" in home


@pytest.mark.both_backends
def test_home_shows_the_oldest_ten_deposits_and_the_way_to_every_one(app, client, branch):
    branch_id, usernames = branch
    with app.app_context():
        session = db.session
        before = queue_counts(session, branch_id)["deposits_count"]
        waiting_agents = select(Deposit.agent_id).where(Deposit.status == "pending")
        agents = session.scalars(select(User).join(AgentAccount).where(
            User.username.in_(usernames), AgentAccount.cash_on_hand >= 1_000,
            User.id.not_in(waiting_agents)).order_by(User.id)).all()
        assert len(agents) >= 13
        start = utcnow() - timedelta(hours=20)
        for n, agent in enumerate(agents[:13]):
            declare(session, agent=agent, amount=1_000, reference=f"TRF-Q-{n:03d}", note=None,
                    idempotency_key="", actor=SYSTEM,
                    now=start + timedelta(minutes=n))
        waiting = queue_counts(session, branch_id)
        assert waiting["deposits_count"] == before + 13
        oldest = [d.id for d in session.scalars(
            select(Deposit).where(Deposit.branch_id == branch_id, Deposit.status == "pending")
            .order_by(Deposit.declared_at, Deposit.id).limit(10))]
    _login_supervisor(client)
    home = client.get("/supervisor").get_data(as_text=True)
    shown = [int(item["id"].removeprefix("deposit-")) for item in every(home, "#queue .card[id^=deposit-]")]
    assert shown == oldest
    assert text_of(one(home, "#pending-deposits-count")) == str(waiting["deposits_count"])
    more = one(home, '#queue a[href="/supervisor?queue=all#queue"]')
    assert f"({waiting['deposits_count']} menunggu)" in text_of(more)
    whole = client.get("/supervisor?queue=all").get_data(as_text=True)
    assert len(every(whole, "#queue .card[id^=deposit-]")) == waiting["deposits_count"]
    assert not every(whole, '#queue a[href="/supervisor?queue=all#queue"]')
    # The totals count every waiting deposit, not only the ten shown.
    assert f"{waiting['deposits_count']} setoran" in text_of(one(home, "#stats"))


def test_home_reads_no_kind_of_the_queue_that_nothing_waits_in(app, client, auth):
    """The home's one statement counts the queue; a kind with nothing waiting is not read."""
    from sqlalchemy import event

    auth.login("supervisor1")
    seen = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        home = client.get("/supervisor")
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert home.status_code == 200
    with app.app_context():
        boss = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
        waiting = queue_counts(db.session, boss.branch_id)
    assert waiting["reversals_count"] == waiting["heir_changes_count"] == 0
    assert any(s.startswith("SELECT users.") for s in seen)  # the listener saw the page's reads
    assert not [s for s in seen if s.startswith(("SELECT reversals.", "SELECT heir_changes."))]
    page = home.get_data(as_text=True)
    assert "Tidak ada permintaan pembatalan." in page
    assert "Tidak ada perubahan ahli waris yang menunggu." in page
