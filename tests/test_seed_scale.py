"""`python -m bench.seed` fills a scratch database whose money adds up, whose audit chain holds
and whose rows the app can use; it refuses a database with real users."""
from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, text as sql_text

from conftest import csrf_token
from helpers import figure_cards
from markup import every, link_targets, text_of
from perisai.domain.clock import local_today
from perisai.domain.codes import BILL_CODE_LENGTH, MEMBER_NUMBER_LENGTH, is_well_formed
from perisai.domain.deposits import reference_key
from perisai.domain.status import membership_status
from perisai.extensions import db
from perisai.models import (AgentAccount, AgentMonth, AuditEvent, Bill, Branch, Collection,
                            Deposit, Heir, IncentiveTally, LedgerEntry, Membership, User, Worker)
from bench.seed import GENERATED, NumberSpace, SeedError, _agents_branches, _Table, main

WORKERS, COLLECTIONS, AGENTS = 300, 1_000, 12


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


def _seed(database_url, capsys, *args) -> tuple[int, str]:
    # The audit events are keyed with the app's key: the seeder runs with the test app's.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SECRET_KEY", "test-secret-key")
        env.delenv("AUDIT_KEY", raising=False)
        code = main(["--database-url", database_url, *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _counts():
    session = db.session
    return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (Branch, User, Worker, Membership, Heir, Bill, Collection, Deposit,
                          LedgerEntry, AgentAccount, AuditEvent, IncentiveTally, AgentMonth)}


def _verified(app, runner):
    for command in ("ledger-verify", "audit-verify"):
        result = _cli(app, runner, [command])
        assert result.exit_code == 0, result.output


def _keys(backend: str) -> set:
    """PostgreSQL's primary, unique and foreign keys as the catalogue holds them (with whether
    they were checked)."""
    if backend != "postgresql":
        return set()
    return set(db.session.execute(sql_text(
        "SELECT conrelid::regclass::text, contype, conname, pg_get_constraintdef(oid), "
        "convalidated FROM pg_constraint WHERE contype IN ('p', 'u', 'f')")).all())


@pytest.mark.both_backends
def test_seed_counts_books_and_audit_summary(app, runner, database_url, capsys, backend):
    with app.app_context():
        before = _counts()
        keys = _keys(backend)
        db.session.rollback()
    code, output = _seed(database_url, capsys, "--workers", str(WORKERS), "--collections",
                         str(COLLECTIONS), "--agents", str(AGENTS), "--password", "bench-pass-1")
    assert code == 0, output
    assert "300 workers" in output
    with app.app_context():
        # The keys dropped for the load are back, the same, and every row was checked.
        assert _keys(backend) == keys
        assert backend == "sqlite" or (
            sum(row[1] == "f" for row in keys) > 40 and sum(row[1] == "p" for row in keys) > 20
            and all(row[4] for row in keys))

    with app.app_context():
        after = _counts()
        grown = {name: after[name] - before[name] for name in after}
        assert grown["branches"] == 5
        assert grown["users"] == AGENTS + 5 + 1  # agents, a supervisor per branch, an admin
        assert grown["workers"] == WORKERS and grown["heirs"] == WORKERS
        assert grown["collections"] == COLLECTIONS
        assert grown["agent_accounts"] == AGENTS
        assert grown["memberships"] == WORKERS
        assert grown["incentive_tallies"] > 0 and grown["agent_months"] > 0
        # --audit summary (the default): one event per batch, naming the rows it wrote.
        session = db.session
        events = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "seed.batch").order_by(AuditEvent.id)).all()
        assert len(events) == grown["audit_events"] >= 1
        assert '"branches":[5,' in events[0].after and '"workers":[300,' in events[1].after
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
        # Each deposit carries its bank reference's key, as a declaration in the app stores it.
        references = session.execute(select(Deposit.reference, Deposit.reference_key)).all()
        assert references and all(key == reference_key(reference)
                                  for reference, key in references)
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

    _verified(app, runner)

    code, output = _seed(database_url, capsys, "--workers", "5", "--collections", "5")
    assert code == 1
    assert "already holds seed data" in output


@pytest.mark.both_backends
def test_seed_full_audit_writes_the_events_of_real_use(app, runner, database_url, capsys):
    with app.app_context():
        before = _counts()
    code, output = _seed(database_url, capsys, "--workers", "80", "--collections", "200",
                         "--agents", "6", "--audit", "full", "--password", "bench-pass-1")
    assert code == 0, output
    with app.app_context():
        grown = {name: count - before[name] for name, count in _counts().items()}
        actions = dict(db.session.execute(select(AuditEvent.action, func.count()).where(
            AuditEvent.id > before["audit_events"]).group_by(AuditEvent.action)).all())
    assert actions["worker.register"] == 80
    assert actions["collection.record"] == 200
    assert actions["bill.issue"] == grown["bills"]
    with app.app_context():
        verified = db.session.scalar(select(func.count()).select_from(Deposit).where(
            Deposit.status == "verified"))
    assert actions["deposit.verify"] == verified > 0
    assert actions["deposit.declare"] == grown["deposits"]
    assert actions["user.create"] == 6 + 5 + 1 and actions["branch.create"] == 5
    assert "seed.batch" not in actions
    _verified(app, runner)


def test_seed_refuses_a_database_with_real_users(app, runner, database_url, capsys):
    result = _cli(app, runner, ["create-user", "real.agent", "--role", "agent", "--branch",
                                "BDG01", "--password", "a-real-password-1"])
    assert result.exit_code == 0, result.output
    code, output = _seed(database_url, capsys, "--workers", "5", "--collections", "5")
    assert code == 1
    assert "1 user account(s) besides the demo ones" in output
    with app.app_context():
        assert not db.session.scalar(select(func.count()).select_from(User).where(
            User.username.like("scale.%")))


def test_seed_without_a_password_prints_a_random_one(app, client, database_url, capsys):
    code, output = _seed(database_url, capsys, "--workers", "20", "--collections", "30",
                         "--agents", "5")
    assert code == 0, output
    password = output.rsplit("password: ", 1)[1].strip()
    assert len(password) >= 16 and password != "perisai-bench"
    refused = client.post("/login", data={"username": "scale.sup1", "password": "perisai-bench"})
    assert refused.status_code != 303
    response = client.post("/login", data={"username": "scale.sup1", "password": password})
    assert response.status_code == 303


def test_columns_come_from_the_models():
    """A column the generator does not know is written with its default, or NULL; a required
    one without a default stops the load with its name; a generated one the model lost too."""
    def columns(names=GENERATED["deposits"]):
        return [sa.Column(name, sa.Integer) for name in names]
    table = sa.Table("deposits", sa.MetaData(), *columns(),
                     sa.Column("channel", sa.String(10), default="bank"),
                     sa.Column("matched", sa.Boolean, default=False),
                     sa.Column("reference_note", sa.String(20)),
                     sa.Column("stamped", sa.String(20), server_default="x"))
    writer = _Table(table, "postgresql")
    assert writer.columns == [*GENERATED["deposits"], "channel", "matched", "reference_note"]
    row = tuple(range(len(GENERATED["deposits"])))
    assert list(writer.rows([row])) == [row + ("bank", False, None)]
    assert _Table(table, "sqlite").extra == ("bank", 0, None)
    required = sa.Table("deposits", sa.MetaData(), *columns(),
                        sa.Column("taken_at", sa.DateTime, nullable=False))
    with pytest.raises(SeedError, match="deposits.taken_at is required"):
        _Table(required, "sqlite")
    lost = sa.Table("deposits", sa.MetaData(), *columns(GENERATED["deposits"][:-1]))
    with pytest.raises(SeedError, match="no longer have"):
        _Table(lost, "sqlite")


@pytest.mark.both_backends
def test_seeded_agent_and_supervisor_use_the_app(app, client, runner, database_url, capsys):
    code, output = _seed(database_url, capsys, "--workers", "60", "--collections", "150",
                         "--agents", "5", "--password", "scale-pass-123")
    assert code == 0, output
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
    # The app's own events follow the seeded ones on the same chain.
    _verified(app, runner)


def test_supervisor_agents_page_comes_in_pages(app, client, database_url, capsys):
    """A branch of 210 agents: 50 per page, the page number clamped, the sort kept."""
    code, output = _seed(database_url, capsys, "--workers", "400", "--collections", "800",
                         "--agents", "210", "--branches", "1", "--password", "bench-pass-1")
    assert code == 0, output
    response = client.post("/login", data={"username": "scale.sup1", "password": "bench-pass-1",
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


def test_branch_list_goes_past_the_five_named_branches():
    """A national-scale database needs thousands of branches: numbered ones follow the five,
    each with a regency code of its own, so NIKs never collide across branches."""
    from bench.seed import BRANCHES, MAX_BRANCHES, branch_list
    branches = branch_list(MAX_BRANCHES)
    assert branches[:5] == list(BRANCHES)
    assert len({code for code, *_ in branches}) == MAX_BRANCHES
    regencies = [regency for *_, regions in branches for regency in regions]
    assert len(set(regencies)) == len(regencies)
    assert all(len(r) == 4 and r.isdigit() and 11 <= int(r[:2]) <= 94 for r in regencies)
    assert branches[5][0] == "KC0006" and branches[-1][0] == "KC2000"
    with pytest.raises(SeedError):
        branch_list(MAX_BRANCHES + 1)


@pytest.mark.both_backends
def test_more_branches_than_the_named_five(app, runner, database_url, capsys):
    code, output = _seed(database_url, capsys, "--workers", "200", "--collections", "400",
                         "--agents", "16", "--branches", "8", "--password", "bench-pass-1")
    assert code == 0, output
    with app.app_context():
        session = db.session
        seeded = session.scalars(select(Branch).where(Branch.code.like("KC%"))).all()
        assert sorted(b.code for b in seeded) == ["KC0006", "KC0007", "KC0008"]
        homes = _agents_branches(16, 8, 20251122)
        for index, branch in enumerate(seeded, start=5):
            niks = session.scalars(select(Worker.nik).where(Worker.branch_id == branch.id)).all()
            agents = session.scalar(select(func.count(User.id)).where(
                User.branch_id == branch.id, User.role == "agent"))
            assert agents == homes.count(index)
            # A branch's members carry its own regency code (a branch may have no agent).
            assert len({nik[:4] for nik in niks}) == (1 if agents else 0)
    _verified(app, runner)


def test_agents_spread_evenly_over_five_branches_and_unevenly_over_more():
    assert _agents_branches(2000, 5, 1) == [n % 5 for n in range(2000)]  # the 1 M database's
    homes = _agents_branches(20_000, 2_000, 20251122)
    sizes = sorted(Counter(homes).values())
    assert len(homes) == 20_000 and set(homes) <= set(range(2_000))
    assert sizes[-1] > 10 * (20_000 / 2_000)  # a big branch, as real ones are
    assert _agents_branches(20_000, 2_000, 20251122) == homes  # the same every time
