"""Supervisor pages over HTTP: per-agent rows with flags and sorting in a constant number of
queries, the agent statement, the branch home page."""
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, select, update

from conftest import csrf_token
from helpers import figure_cards, form_key, nik_for, paid_receipt, relogin
from markup import every, has, link_targets, one, text_of
from perisai.domain.clock import local_today, utcnow
from perisai.extensions import db
from perisai.models import AgentAccount, Branch, Collection, Deposit, LedgerEntry, User
from perisai.commands import SYSTEM, books
from perisai.commands.accounts import create_user
from perisai.domain import flags
from perisai.models import Reversal
from perisai.queries import supervision


def statements_for(app, client, path) -> tuple[list[str], str]:
    """The statements a GET of `path` ran (whitespace folded), and the page."""
    with app.app_context():
        engine = db.engine
    statements = []

    def remember(conn, cursor, statement, *_):
        statements.append(" ".join(statement.split()))
    event.listen(engine, "before_cursor_execute", remember)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert response.status_code == 200
    return statements, response.get_data(as_text=True)


def token(client):
    return csrf_token(client, "/")


def declare(client, amount, reference):
    html = client.get("/").get_data(as_text=True)
    response = client.post("/deposits", data={"csrf_token": form_key(html, "csrf_token"),
                                              "idempotency_key": form_key(html),
                                              "amount": str(amount), "reference": reference})
    assert response.status_code == 303, response.get_data(as_text=True)


def amounts(text):
    return [int(sign + digits.replace(".", "")) for sign, digits in re.findall(r"(-?)Rp([\d.]+)", text)]


def row_order(html):
    """The usernames of the agents' table, top to bottom."""
    return [row["id"].removeprefix("agent-") for row in every(html, 'tr[id^="agent-"]')]


def row_of(html, username):
    return one(html, f'tr[id="agent-{username}"]')


def flags_of(row) -> set[str]:
    """The flags an agent's row shows as badges (class flag-<name>)."""
    return {name.removeprefix("flag-") for badge in row.select(".badge")
            for name in badge["class"] if name.startswith("flag-")}


def statement_of(html):
    return one(html, "section#statement")


def statement_lines(statement):
    """The ledger lines of a statement, without its opening and closing balances."""
    return statement.select("tbody tr:not(.opening):not(.closing)")


def set_account(app, username, **values):
    with app.app_context():
        agent_id = db.session.scalar(select(User.id).where(User.username == username))
        db.session.execute(update(AgentAccount).where(AgentAccount.agent_id == agent_id).values(**values))
        db.session.commit()


def test_flags_and_worst_first(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    now = utcnow()
    # agent1: held for two days. agent2: nothing for four months (flag for deactivation).
    set_account(app, "agent1", oldest_undeposited_at=now - timedelta(days=2))
    set_account(app, "agent2", last_activity_at=now - timedelta(days=125))
    with app.app_context():
        db.session.execute(update(User).where(User.username == "agent2")
                           .values(created_at=now - timedelta(days=400)))
        db.session.commit()
    relogin(client, auth, "supervisor1")
    html = client.get("/supervisor/agents").get_data(as_text=True)
    agent1, agent2 = flags_of(row_of(html, "agent1")), flags_of(row_of(html, "agent2"))
    assert agent1 == {"held"} and agent2 == {"inactive"}
    assert "2 hari" in text_of(row_of(html, "agent1"))
    assert set(row_order(html)) == {"agent1", "agent2"}  # agent3 is of another branch
    assert "agent3" not in html

    # Over the branch's cash limit: two flags now, so agent1 comes first.
    with app.app_context():
        db.session.execute(update(Branch).where(Branch.code == "BDG01").values(cash_limit=amount - 1))
        db.session.commit()
    html = client.get("/supervisor/agents").get_data(as_text=True)
    assert flags_of(row_of(html, "agent1")) == {"held", "over_limit"}
    assert row_order(html) == ["agent1", "agent2"]
    # Sorted by name, then by registrations this month (agent1 registered one worker).
    assert row_order(client.get("/supervisor/agents?sort=name").get_data(as_text=True)) == ["agent2", "agent1"]
    assert row_order(client.get("/supervisor/agents?sort=registrations").get_data(as_text=True))[0] == "agent1"
    # An unknown sort falls back to worst first.
    assert row_order(client.get("/supervisor/agents?sort=drop%20table").get_data(as_text=True)) == ["agent1", "agent2"]


def test_row_figures_for_this_month(app, client, auth):
    auth.login("agent1")
    _, first = paid_receipt(client, months=3)
    _, second = paid_receipt(client, nik="3273015208950015", full_name="Sri Wahyuni")
    relogin(client, auth, "supervisor1")
    row = row_of(client.get("/supervisor/agents").get_data(as_text=True), "agent1")
    cells = row.select("td.num")
    total = f"Rp{first + second:,}".replace(",", ".")
    assert text_of(cells[0]).startswith(total)  # cash on hand, then how long it has been held
    assert text_of(cells[1]).startswith(total)  # collected this month
    # the demo seed registered 2 workers for agent1 this month; the test 2 more.
    assert text_of(one(cells[1], ".registrations")) == "4"
    assert text_of(one(cells[1], ".collections")) == "2"
    # everything it ever collected (the demo's earlier payments too), less reversals
    with app.app_context():
        account = db.session.scalars(select(AgentAccount).join(User, User.id == AgentAccount.agent_id)
                                     .where(User.username == "agent1")).one()
        lifetime = account.total_collected - account.total_reversed
    assert lifetime >= first + second
    assert re.search(r"total (Rp[\d.]+)$", text_of(cells[1])).group(1) == \
        f"Rp{lifetime:,}".replace(",", ".")


def test_agents_page_uses_a_constant_number_of_queries(app, client, auth):
    def count_queries(path):
        return len(statements_for(app, client, path)[0])

    auth.login("agent1")
    _, amount = paid_receipt(client)
    declare(client, 1000, "TRF-A")
    relogin(client, auth, "supervisor1")
    client.get("/supervisor/agents")  # warm up
    few = count_queries("/supervisor/agents")
    home_few = count_queries("/supervisor")
    with app.app_context():
        for i in range(6):
            user = create_user(db.session, username=f"agentx{i}", full_name=f"Agen X{i}", role="agent",
                               branch_code="BDG01", password="password-123", actor=SYSTEM)
            db.session.execute(update(AgentAccount).where(AgentAccount.agent_id == user.id).values(
                cash_on_hand=1000 * i, total_collected=1000 * i,
                oldest_undeposited_at=utcnow() - timedelta(hours=i * 10)))
            db.session.add(Deposit(agent_id=user.id, branch_id=user.branch_id, amount=500,
                                   reference=f"TRF-X{i}", idempotency_key=f"key-for-agentx-{i:04d}",
                                   status="pending"))
            db.session.commit()  # the next create_user opens its own transaction
    many = count_queries("/supervisor/agents")
    html = client.get("/supervisor/agents").get_data(as_text=True)
    assert len(row_order(html)) == 8 and text_of(one(html, "#pending-deposits-count")) == "7"
    assert many == few
    assert count_queries("/supervisor") == home_few
    assert "TRF-X5" in client.get("/supervisor").get_data(as_text=True)


@pytest.mark.both_backends
def test_statement_balances(app, client, auth):
    auth.login("agent1")
    number_a, a = paid_receipt(client)
    number_b, b = paid_receipt(client, nik="3273015208950015", full_name="Sri Wahyuni")
    declare(client, a, "TRF-S1")
    client.post(f"/receipts/{number_b}/reversal", data={"csrf_token": token(client), "reason": "salah"})
    relogin(client, auth, "supervisor1")
    with app.app_context():
        deposit_id = db.session.scalar(select(Deposit.id))
        reversal_id = db.session.scalar(select(Reversal.id))
    client.post(f"/deposits/{deposit_id}/verify", data={"csrf_token": token(client)})
    client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token(client)})
    statement = statement_of(client.get("/supervisor/agents/agent1").get_data(as_text=True))
    assert "Saldo awal" in text_of(one(statement, "tr.opening"))
    assert "Saldo akhir" in text_of(one(statement, "tr.closing"))
    assert {f"/receipts/{number_a}", f"/receipts/{number_b}"} <= set(link_targets(statement))
    assert "TRF-S1" in text_of(statement)
    rows = [text_of(row) for row in statement_lines(statement)]
    balances = [amounts(r)[-1] for r in rows]
    moves = [amounts(r)[0] for r in rows]
    assert moves == [a, b, -a, -b]
    assert balances == [a, a + b, b, 0]

    # Move the first collection into last month: it becomes the opening balance.
    with app.app_context():
        first = db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).first()
        first.created_at = first.created_at - timedelta(days=40)
        db.session.commit()
        today = local_today("Asia/Jakarta")
        entries = supervision.statement(db.session, first.agent_id, today.replace(day=1), today,
                                        "Asia/Jakarta")
        assert entries.opening == a
        assert [line.amount for line in entries.lines] == [b, -a, -b]
        assert entries.closing == 0 == entries.opening + sum(line.amount for line in entries.lines)
        whole = supervision.statement(db.session, first.agent_id, today - timedelta(days=60), today,
                                      "Asia/Jakarta")
        assert whole.opening == 0 and len(whole.lines) == 4 and whole.closing == 0
        assert (whole.money_in, whole.money_out) == (a + b, a + b)
    earlier = (local_today("Asia/Jakarta") - timedelta(days=60)).isoformat()
    this_month = statement_of(client.get("/supervisor/agents/agent1").get_data(as_text=True))
    assert number_a not in text_of(this_month) and number_b in text_of(this_month)
    assert amounts(text_of(one(this_month, "tr.opening"))) == [a]
    earlier_page = client.get(f"/supervisor/agents/agent1?from={earlier}").get_data(as_text=True)
    assert number_a in text_of(statement_of(earlier_page))


def test_statement_period_errors_and_other_branch(app, client, auth):
    auth.login("supervisor1")
    for query in ("from=kemarin", "from=2026-05-10&to=2026-05-01", "from=2020-01-01&to=2026-01-01"):
        response = client.get(f"/supervisor/agents/agent1?{query}")
        assert response.status_code == 422, query
        assert has(response, ".flash.error")
    response = client.get("/supervisor/agents/agent1?from=2026-13-01",
                          headers={"HX-Request": "true"})
    assert response.status_code == 422
    assert response.get_data(as_text=True).startswith('<section id="statement">')
    assert client.get("/supervisor/agents/agent3").status_code == 404
    assert client.get("/supervisor/agents/supervisor1").status_code == 404
    assert client.get("/supervisor/agents/nobody").status_code == 404
    fragment = client.get("/supervisor/agents/agent1?from=2026-01-01&to=2026-01-31",
                          headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert body.startswith('<section id="statement">') and "01-01-2026 – 31-01-2026" in body
    assert "HX-Request" in fragment.headers["Vary"]


def test_agent_page_htmx_sort_gives_the_table_only(app, client, auth):
    auth.login("supervisor1")
    response = client.get("/supervisor/agents?sort=cash", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert html.startswith('<section id="agents">') and "<html" not in html
    full = client.get("/supervisor/agents?sort=cash").get_data(as_text=True)
    assert "<html" in full and has(full, "main #queue-summary") and not has(full, "main #queue")


def test_supervisor_home_shows_totals_and_the_queue(app, client, auth):
    auth.login("agent1")
    number, amount = paid_receipt(client)
    declare(client, amount, "TRF-H1")
    client.post(f"/receipts/{number}/reversal", data={"csrf_token": token(client), "reason": "salah"})
    relogin(client, auth, "supervisor1")
    response = client.get("/")  # `/` is the supervisor's dashboard itself, as /supervisor
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert figure_cards(html) == figure_cards(client.get("/supervisor").get_data(as_text=True))
    figure = f"Rp{amount:,}".replace(",", ".")
    labels = figure_cards(html)
    assert labels["Uang tunai di semua agen"] == figure
    assert labels["Diterima hari ini"] == figure
    assert labels["Diterima bulan ini"] == figure
    assert labels["Menunggu tindakan"] == "2"
    assert "TRF-H1" in html and number in html
    actions = [form["action"] for form in every(html, 'form[method="post"]')]
    assert any(action.startswith("/deposits/") for action in actions), actions
    assert any(action.startswith("/reversals/") for action in actions), actions
    # Deciding from the home page returns there.
    with app.app_context():
        deposit_id = db.session.scalar(select(Deposit.id))
    response = client.post(f"/deposits/{deposit_id}/verify",
                           data={"csrf_token": token(client), "next": "/supervisor"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/supervisor")
    response = client.post(f"/deposits/{deposit_id}/verify",
                           data={"csrf_token": token(client), "next": "https://evil.example/"})
    assert response.status_code == 409


def test_flags_as_plain_values():
    now = datetime(2026, 11, 22, 12, 0)
    base = dict(cash_limit=2_000_000, now=now, inactive_before=datetime(2026, 8, 22),
                created_at=datetime(2026, 1, 1))
    assert flags.agent_flags(cash_on_hand=0, oldest_undeposited_at=None,
                                   last_activity_at=now, **base) == ()
    assert flags.agent_flags(cash_on_hand=10, oldest_undeposited_at=now - timedelta(hours=24),
                                   last_activity_at=now, **base) == ()
    assert flags.agent_flags(cash_on_hand=10, oldest_undeposited_at=now - timedelta(hours=25),
                                   last_activity_at=now, **base) == ("held",)
    assert flags.agent_flags(cash_on_hand=2_000_001, oldest_undeposited_at=now,
                                   last_activity_at=now, **base) == ("over_limit",)
    assert flags.agent_flags(cash_on_hand=0, oldest_undeposited_at=None,
                                   last_activity_at=None, **base) == ("inactive",)
    assert flags.agent_flags(cash_on_hand=0, oldest_undeposited_at=None,
                                   last_activity_at=datetime(2026, 8, 21), **base) == ("inactive",)
    assert flags.agent_flags(cash_on_hand=0, oldest_undeposited_at=None,
                                   last_activity_at=datetime(2026, 8, 23), **base) == ()
    assert flags.agent_flags(cash_on_hand=0, oldest_undeposited_at=None,
                                   last_activity_at=None, active=False, **base) == ()
    # A new agent is not "inactive" before it has had three months.
    assert flags.agent_flags(cash_on_hand=0, oldest_undeposited_at=None, last_activity_at=None,
                                   **dict(base, created_at=datetime(2026, 10, 1))) == ()
    assert flags.inactive_threshold(date(2026, 5, 31), "Asia/Jakarta") == datetime(2026, 2, 27, 17, 0)


@pytest.mark.both_backends
def test_statement_comes_in_pages_that_carry_the_balance(app, client, auth, monkeypatch):
    """A busy agent's month is paged; each page starts from the balance the one before ended
    on, and the last one ends on the period's closing balance."""
    auth.login("agent1")
    paid = [paid_receipt(client, nik=nik_for(date(1995, 8, 12), "F", serial),
                         full_name=f"Pekerja {'ABCDE'[serial - 11]}") for serial in range(11, 16)]
    with app.app_context():
        agent_id = db.session.scalar(select(User.id).where(User.username == "agent1"))
        today = local_today("Asia/Jakarta")
        period = (agent_id, today.replace(day=1), today, "Asia/Jakarta")
        whole = supervision.statement(db.session, *period)
        count = -(-whole.entries // 2)
        pages = [supervision.statement(db.session, *period, page=n, per_page=2)
                 for n in range(1, count + 1)]
        # Past the last page: the last one; before the first: the first.
        beyond = supervision.statement(db.session, *period, page=count + 5, per_page=2)
        before = supervision.statement(db.session, *period, page=0, per_page=2)
        # A period without an entry (before the agent's first): no line, and nothing on hand.
        empty = supervision.statement(db.session, agent_id, date(2020, 1, 1), date(2020, 1, 31),
                                      "Asia/Jakarta")
    assert (beyond.page, beyond.lines, beyond.page_opening) == \
        (count, pages[-1].lines, pages[-1].page_opening)
    assert (before.page, before.lines) == (1, pages[0].lines)
    assert (empty.lines, empty.entries, empty.pages, empty.money_in) == ([], 0, 1, 0)
    assert empty.opening == empty.closing == 0
    assert whole.entries == len(whole.lines) >= len(paid) and whole.pages == 1
    assert {p.pages for p in pages} == {count} and count >= 3
    assert pages[0].page_opening == whole.opening
    for before, after in zip(pages, pages[1:]):
        assert after.page_opening == before.page_closing
    assert [line for p in pages for line in p.lines] == whole.lines
    assert pages[-1].page_closing == whole.closing == pages[0].closing
    assert {receipt for receipt, _ in paid} <= {line.receipt_number for line in whole.lines}

    relogin(client, auth, "supervisor1")
    monkeypatch.setattr(supervision, "STATEMENT_LINES", 2)
    first = client.get("/supervisor/agents/agent1").get_data(as_text=True)
    assert "Saldo awal" in first and "Saldo akhir" not in first
    assert f"Halaman 1 / {count}" in first and "page=2" in first
    last = client.get(f"/supervisor/agents/agent1?page={count}").get_data(as_text=True)
    assert "Saldo akhir" in last and "Saldo awal" not in last and "Saldo dari halaman" in last


@pytest.mark.both_backends
def test_agent_months_follow_registrations_collections_and_reversals(app, client, auth, runner):
    """The supervisor's month figures come from `agent_months`, kept in each registration's,
    collection's and reversal's transaction: they equal a recount, a rebuild gives the same
    rows, and `ledger-verify` catches a tampered one."""
    from perisai.models import AgentMonth

    def month_row():
        with app.app_context():
            agent_id = db.session.scalar(select(User.id).where(User.username == "agent1"))
            row = db.session.get(AgentMonth, (agent_id, branch_id, month))
            return (row.registrations, row.collections, row.collected) if row else (0, 0, 0)

    with app.app_context():
        branch_id = db.session.scalar(select(User.branch_id).where(User.username == "agent1"))
    month = local_today("Asia/Jakarta").replace(day=1)
    before = month_row()
    auth.login("agent1")
    number_a, a = paid_receipt(client, nik=nik_for(date(1995, 8, 12), "F", 21),
                               full_name="Pekerja Satu")
    number_b, b = paid_receipt(client, nik=nik_for(date(1995, 8, 12), "F", 22),
                               full_name="Pekerja Dua")
    assert month_row() == (before[0] + 2, before[1] + 2, before[2] + a + b)
    client.post(f"/receipts/{number_b}/reversal", data={"csrf_token": token(client),
                                                        "reason": "salah orang"})
    relogin(client, auth, "supervisor1")
    with app.app_context():
        reversal_id = db.session.scalar(select(Reversal.id))
    client.post(f"/reversals/{reversal_id}/approve", data={"csrf_token": token(client)})
    assert month_row() == (before[0] + 2, before[1] + 1, before[2] + a)
    page = client.get("/supervisor/agents?sort=name").get_data(as_text=True)
    row = text_of(row_of(page, "agent1"))
    assert f"{before[1] + 1}" in row and f"Rp{before[2] + a:,}".replace(",", ".") in row
    with app.app_context():
        assert books.verify_books(db.session).months == []
        kept = set(db.session.execute(select(AgentMonth.agent_id, AgentMonth.branch_id,
                                             AgentMonth.month, AgentMonth.registrations,
                                             AgentMonth.collections, AgentMonth.collected)).all())
        books.rebuild_agent_months(db.session)
        db.session.commit()
        assert set(db.session.execute(select(
            AgentMonth.agent_id, AgentMonth.branch_id, AgentMonth.month, AgentMonth.registrations,
            AgentMonth.collections, AgentMonth.collected)).all()) == kept
        db.session.execute(update(AgentMonth).where(AgentMonth.branch_id == branch_id)
                           .values(collections=AgentMonth.collections + 1))
        db.session.commit()
    result = runner.invoke(args=["ledger-verify"])
    assert result.exit_code == 1 and "recounted" in result.output


@pytest.mark.both_backends
def test_one_agents_page_asks_only_for_what_it_shows(app, client, auth):
    """One agent's page: the agent, its row, queue counts and whether it has late collections
    or waiting deposits in one statement; the late list, and the deposits with their near
    duplicates, only when there are some; the incentive schemes once."""
    def reads(statements, table):
        return [s for s in statements if s.startswith(f"SELECT {table}.")]

    auth.login("supervisor1")
    client.get("/supervisor/agents/agent1")  # warm up
    quiet, html = statements_for(app, client, "/supervisor/agents/agent1")
    quiet = [s for s in quiet if s != "BEGIN"]
    # The login, the agent, its flags, the schemes, the statement, the incentives.
    assert len(quiet) == 6
    assert len(reads(quiet, "incentive_schemes")) == 1
    assert reads(quiet, "deposits") == [] and not has(html, "#late")

    relogin(client, auth, "agent1")
    number, _ = paid_receipt(client)
    declare(client, 1000, "TRF-Q1")
    with app.app_context():  # recorded half an hour after the cash was taken (offline)
        collection = db.session.scalars(select(Collection)
                                        .where(Collection.receipt_number == number)).one()
        collection.received_at = collection.collected_at
        collection.collected_at -= timedelta(minutes=30)
        db.session.commit()
    relogin(client, auth, "supervisor1")
    busy, html = statements_for(app, client, "/supervisor/agents/agent1")
    busy = [s for s in busy if s != "BEGIN"]
    # Then also: the late list; the waiting deposits with the agent's others beside them.
    assert len(busy) == 8 and len(reads(busy, "deposits")) == 1
    assert number in text_of(one(html, "#late")) and "TRF-Q1" in html
