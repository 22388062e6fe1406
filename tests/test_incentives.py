"""Incentives: the rules as a table of cases, then the month's figure from real collections and
registrations, shown on the agent's dashboard and the supervisor's agent page."""
import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import delete, event, select, update

from helpers import (amount_of_bill, bill_code_from, collect_form, form_key, issue_bill, nik_for,
                     receipt_from, register, relogin, worker_id_from)
from markup import one, text_of
from perisai.domain.checklist import Registration
from perisai.domain.clock import local_day_start_utc, local_today
from perisai.domain.months import add_months, month_of
from perisai.extensions import db
from perisai.models import (AgentAccount, AgentMonth, Bill, Collection, IncentiveScheme, IncentiveTally,
                            Reversal, User, Worker)
from perisai.commands import Actor, books
from perisai.commands.registration import register_worker
from perisai.domain import incentives as rules
from perisai.domain.incentives import Scheme
from perisai.queries import incentives

DEFAULT = Scheme(early_percent=15, early_until_month=24, late_percent=5, late_until_month=60,
                 bonus_three_programs=15_000, bonus_two_programs=10_000, bonus_min_new_members=25)


@pytest.mark.parametrize("first_month, month, index", [
    (date(2026, 1, 1), date(2026, 1, 1), 1),
    (date(2026, 1, 1), date(2026, 2, 1), 2),
    (date(2024, 12, 1), date(2026, 11, 1), 24),
    (date(2024, 11, 1), date(2026, 11, 1), 25),
    (date(2021, 12, 1), date(2026, 11, 1), 60),
    (date(2021, 11, 1), date(2026, 11, 1), 61),
])
def test_member_month_index(first_month, month, index):
    assert rules.member_month_index(first_month, month) == index


@pytest.mark.parametrize("covered, expected", [
    ([], 0),
    ([(1, 36_800)], 5_520),                       # 15% in month 1
    ([(24, 36_800)], 5_520),                      # still 15% in month 24
    ([(25, 36_800)], 1_840),                      # 5% from month 25
    ([(60, 36_800)], 1_840),                      # ...to month 60
    ([(61, 36_800)], 0),                          # nothing after month 60
    ([(1, 16_801)], 2_520),                       # 2.520,15 rounded down
    ([(1, 16_801), (1, 16_801)], 5_040),          # 5.040,30: rounded once, on the total
    ([(24, 18_400), (25, 36_800), (61, 99_999)], 4_600),  # a bill across the boundaries
    ([(1, 7)], 1),                                # 1,05 → 1
    ([(30, 19)], 0),                              # 0,95 → 0
])
def test_contribution_part(covered, expected):
    assert rules.contribution_part(covered, DEFAULT) == expected


@pytest.mark.parametrize("programs, expected", [
    ([], 0),
    ([3] * 24, 0),                                # one short of the threshold: no bonus at all
    ([3] * 25, 25 * 15_000),
    ([2] * 25, 25 * 10_000),
    ([3] * 10 + [2] * 15, 10 * 15_000 + 15 * 10_000),
    ([3] * 13 + [2] * 17, 13 * 15_000 + 17 * 10_000),
])
def test_acquisition_bonus(programs, expected):
    assert rules.acquisition_bonus(programs, DEFAULT) == expected


def test_compute_splits_bases_and_totals():
    result = rules.compute(date(2026, 11, 20), [(24, 18_400), (25, 36_800), (61, 5_000)],
                                [3] * 20 + [2] * 5, DEFAULT)
    assert result.month == date(2026, 11, 1)
    assert (result.early_base, result.late_base) == (18_400, 36_800)
    assert result.contribution_part == 4_600
    assert (result.new_members, result.new_three_programs, result.new_two_programs) == (25, 20, 5)
    assert result.bonus_qualifies and result.bonus == 20 * 15_000 + 5 * 10_000
    assert result.total == 4_600 + 350_000
    short = rules.compute(date(2026, 11, 1), [], [3] * 21, DEFAULT)
    assert (short.bonus, short.members_short_of_bonus, short.total) == (0, 4, 0)


def test_rates_come_from_the_database(app):
    with app.app_context():
        assert incentives.scheme_for(db.session, date(2026, 11, 1)) == DEFAULT
        db.session.add(IncentiveScheme(effective_from=date(2027, 1, 1), early_percent=20,
                                       early_until_month=12, late_percent=2, late_until_month=48,
                                       bonus_three_programs=20_000, bonus_two_programs=12_000,
                                       bonus_min_new_members=10, source="test"))
        db.session.commit()
        assert incentives.scheme_for(db.session, date(2026, 12, 1)) == DEFAULT
        newer = incentives.scheme_for(db.session, date(2027, 3, 1))
        assert (newer.early_percent, newer.bonus_min_new_members) == (20, 10)
        assert incentives.scheme_for(db.session, date(2010, 1, 1)) is None


def test_schemes_are_read_once_until_something_is_written(app):
    """A page reads the schemes twice (bonus bursts, incentives): the second time comes from
    the session's copy, which a scheme added, flushed, committed or rolled back replaces."""
    with app.app_context():
        engine = db.engine
        statements = []

        def remember(conn, cursor, statement, *_):
            statements.append(statement)
        event.listen(engine, "before_cursor_execute", remember)
        try:
            assert incentives.scheme_for(db.session, date(2027, 3, 1)) == DEFAULT
            assert incentives.scheme_for(db.session, date(2027, 3, 1)) == DEFAULT
            assert sum("incentive_schemes" in s for s in statements) == 1
            db.session.add(IncentiveScheme(effective_from=date(2027, 1, 1), early_percent=20,
                                           early_until_month=12, late_percent=2,
                                           late_until_month=48, bonus_three_programs=20_000,
                                           bonus_two_programs=12_000, bonus_min_new_members=10,
                                           source="test"))
            # Not flushed yet: seen as a query would see it.
            assert incentives.scheme_for(db.session, date(2027, 3, 1)).early_percent == 20
            db.session.rollback()
            assert incentives.scheme_for(db.session, date(2027, 3, 1)) == DEFAULT
        finally:
            event.remove(engine, "before_cursor_execute", remember)


def _bill_and_collect(client, worker_id, months):
    code = bill_code_from(issue_bill(client, worker_id, months))
    amount = amount_of_bill(client, code)
    response = client.post("/collect", data=dict(collect_form(client, code), amount=str(amount)))
    assert response.status_code == 303, response.get_data(as_text=True)
    return code, receipt_from(response)


def _lines(app, code):
    with app.app_context():
        breakdown = db.session.scalar(select(Bill.breakdown).where(Bill.code == code))
    return [(date.fromisoformat(line["month"]), line["jkk"] + line["jkm"] + line["jht"])
            for line in json.loads(breakdown)]


def _move_first_month(app, worker_id, months_back):
    """Make a member older: its first month `months_back` months ago, paid up to last month."""
    this_month = month_of(local_today("Asia/Jakarta"))
    with app.app_context():
        db.session.execute(update(Worker).where(Worker.id == worker_id).values(
            first_month=add_months(this_month, -months_back),
            paid_through=add_months(this_month, -1)))
        db.session.commit()
    return add_months(this_month, -months_back)


@pytest.mark.both_backends
def test_month_incentive_from_collections(app, client, auth):
    auth.login("agent1")
    this_month = month_of(local_today("Asia/Jakarta"))
    # A: a new member, first month → 15%.
    a = worker_id_from(register(client))
    code_a, _ = _bill_and_collect(client, a, 1)
    # B: a member in its 31st month → 5% on each of three months.
    b = worker_id_from(register(client, nik="3273015208950015", full_name="Sri Wahyuni"))
    first_b = _move_first_month(app, b, 30)
    code_b, _ = _bill_and_collect(client, b, 3)
    # D: across the boundary, months 24, 25, 26.
    d = worker_id_from(register(client, nik="3273015208950023", full_name="Dewi Sartika"))
    first_d = _move_first_month(app, d, 23)
    code_d, _ = _bill_and_collect(client, d, 3)
    # C: collected, then reversed with a supervisor's approval → does not count.
    c = worker_id_from(register(client, nik="3273015208950031", full_name="Nani Wijaya"))
    _, receipt_c = _bill_and_collect(client, c, 12)
    html = client.get(f"/receipts/{receipt_c}").get_data(as_text=True)
    client.post(f"/receipts/{receipt_c}/reversal",
                data={"csrf_token": form_key(html, "csrf_token"), "reason": "salah orang"})

    covered = [(1, amount) for _, amount in _lines(app, code_a)]
    covered += [(rules.member_month_index(first_b, month), amount)
                for month, amount in _lines(app, code_b)]
    covered += [(rules.member_month_index(first_d, month), amount)
                for month, amount in _lines(app, code_d)]
    assert [index for index, _ in covered] == [1, 31, 32, 33, 24, 25, 26]
    early = sum(amount for index, amount in covered if index <= 24)
    late = sum(amount for index, amount in covered if index > 24)
    expected = (early * 15 + late * 5) // 100

    relogin(client, auth, "supervisor1")
    with app.app_context():
        reversal_id = db.session.scalar(select(Reversal.id))
        agent_id = db.session.scalar(select(User.id).where(User.username == "agent1"))
        before = incentives.monthly_incentive(db.session, agent_id, this_month, "Asia/Jakarta")
    html = client.get("/supervisor").get_data(as_text=True)
    client.post(f"/reversals/{reversal_id}/approve",
                data={"csrf_token": form_key(html, "csrf_token")})
    with app.app_context():
        result = incentives.monthly_incentive(db.session, agent_id, this_month, "Asia/Jakarta")
    assert before.contribution_part > expected  # C counted while only requested
    assert (result.early_base, result.late_base) == (early, late)
    assert result.contribution_part == expected
    # agent1 registered 2 demo members + 4 here this month: far from 25, no bonus.
    assert (result.new_members, result.bonus, result.total) == (6, 0, expected)
    shown = f"Rp{expected:,}".replace(",", ".")
    page = client.get("/supervisor/agents/agent1").get_data(as_text=True)
    assert "Insentif" in page and shown in page
    relogin(client, auth, "agent1")
    board = client.get("/").get_data(as_text=True)
    card = one(board, "#incentive")
    assert text_of(one(card, "b")) == shown
    assert "Insentif bulan ini (perkiraan)" in text_of(card) and "kurang 19" in text_of(card)


def test_acquisition_bonus_from_the_25th_new_member(app):
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
        agent_id = agent.id
        today = local_today("Asia/Jakarta")

        def add(serial, programs):
            person = db.session.get(User, agent_id)
            register_worker(db.session, Registration(
                nik_for(date(1990, 1, 1), "M", serial), f"Pekerja {serial}", date(1990, 1, 1), "M",
                "081234560000", "Jl. Contoh 1", "pedagang", None, 1_000_000, programs,
                "Ahli Waris", "istri"), agent=person, actor=Actor(agent_id, "agent1"), today=today)

        # The demo seed gave agent1 two members this month: one with 3, one with 2 programs.
        for serial in range(100, 113):
            add(serial, 3)
        for serial in range(200, 209):
            add(serial, 2)
        month = incentives.monthly_incentive(db.session, agent_id, today, "Asia/Jakarta")
        assert (month.new_members, month.bonus, month.members_short_of_bonus) == (24, 0, 1)
        add(209, 2)
        month = incentives.monthly_incentive(db.session, agent_id, today, "Asia/Jakarta")
        assert (month.new_members, month.new_three_programs, month.new_two_programs) == (25, 14, 11)
        assert month.bonus == 14 * 15_000 + 11 * 10_000
        assert month.total == month.contribution_part + month.bonus
        # Last month had none of them.
        previous = incentives.monthly_incentive(db.session, agent_id,
                                                add_months(month_of(today), -1), "Asia/Jakarta")
        assert (previous.new_members, previous.total) == (0, 0)


@pytest.mark.both_backends
def test_several_months_at_once_match_month_by_month(app, client, auth):
    """The supervisor's page asks for two months in one go: the same figures as one by one,
    with each collection counted in the month it was made in (branch time)."""
    auth.login("agent1")
    this_month = month_of(local_today("Asia/Jakarta"))
    last_month = add_months(this_month, -1)
    a = worker_id_from(register(client))
    _, receipt_a = _bill_and_collect(client, a, 3)
    b = worker_id_from(register(client, nik="3273015208950015", full_name="Sri Wahyuni"))
    _move_first_month(app, b, 23)  # months 24, 25, 26: straddles the 15% / 5% boundary
    _bill_and_collect(client, b, 3)
    with app.app_context():
        agent_id = db.session.scalar(select(User.id).where(User.username == "agent1"))
        # Collection A was made on the last evening of last month, Jakarta time.
        evening = local_day_start_utc(this_month, "Asia/Jakarta") - timedelta(hours=2)
        db.session.execute(update(Collection).where(Collection.receipt_number == receipt_a)
                           .values(collected_at=evening))
        books.rebuild_tallies(db.session)  # as history would have kept them
        db.session.commit()
        one_by_one = [incentives.monthly_incentive(db.session, agent_id, month, "Asia/Jakarta")
                      for month in (last_month, this_month)]
        together = incentives.monthly_incentives(db.session, agent_id, last_month, 2,
                                                 "Asia/Jakarta")
    assert together == one_by_one
    assert one_by_one[0].early_base > 0 and one_by_one[0].late_base == 0
    assert one_by_one[1].early_base > 0 and one_by_one[1].late_base > 0


@pytest.mark.both_backends
def test_tallies_follow_collections_and_reversals(app, client, auth, runner):
    """The running tallies equal a recount after payments and an approved reversal, a
    rebuild gives the same rows, and `ledger-verify` catches a tampered tally."""
    auth.login("agent1")
    a = worker_id_from(register(client))
    _bill_and_collect(client, a, 12)
    b = worker_id_from(register(client, nik="3273015208950015", full_name="Sri Wahyuni"))
    _move_first_month(app, b, 23)
    _, receipt_b = _bill_and_collect(client, b, 3)
    with app.app_context():
        agent_id = db.session.scalar(select(User.id).where(User.username == "agent1"))
        this_month = month_of(local_today("Asia/Jakarta"))
        rows = dict(db.session.execute(
            select(IncentiveTally.member_month, IncentiveTally.amount)
            .where(IncentiveTally.agent_id == agent_id, IncentiveTally.month == this_month)).all())
        # Worker B paid its member months 24, 25 and 26 (one month's contribution each).
        assert {24, 25, 26} <= set(rows) and rows[1] > 0
        assert books.verify_books(db.session).tallies == []
    html = client.get(f"/receipts/{receipt_b}").get_data(as_text=True)
    client.post(f"/receipts/{receipt_b}/reversal",
                data={"csrf_token": form_key(html, "csrf_token"), "reason": "salah orang"})
    relogin(client, auth, "supervisor1")
    with app.app_context():
        reversal_id = db.session.scalar(select(Reversal.id))
    html = client.get("/supervisor").get_data(as_text=True)
    response = client.post(f"/reversals/{reversal_id}/approve",
                           data={"csrf_token": form_key(html, "csrf_token")})
    assert response.status_code == 303
    with app.app_context():
        kept = set(db.session.execute(select(IncentiveTally.agent_id, IncentiveTally.month,
                                             IncentiveTally.member_month, IncentiveTally.amount)
                                      .where(IncentiveTally.amount > 0)).all())
        assert not any(row[2] in (25, 26) for row in kept if row[0] == agent_id)
        assert books.verify_books(db.session).tallies == []
        books.rebuild_tallies(db.session)
        db.session.commit()
        rebuilt = set(db.session.execute(select(IncentiveTally.agent_id, IncentiveTally.month,
                                                IncentiveTally.member_month, IncentiveTally.amount)
                                         ).all())
        assert rebuilt == kept
    assert runner.invoke(args=["ledger-verify"]).exit_code == 0
    with app.app_context():
        db.session.execute(update(IncentiveTally).where(IncentiveTally.agent_id == agent_id,
                                                        IncentiveTally.member_month == 1)
                           .values(amount=IncentiveTally.amount + 1))
        db.session.commit()
    result = runner.invoke(args=["ledger-verify"])
    assert result.exit_code == 1 and "member month 1: tally" in result.output


@pytest.mark.both_backends
def test_a_payment_adds_to_the_agents_books_in_one_statement_each(app, client, auth):
    """Whatever the months paid, a payment adds to the agent's tallies, month and day with one
    statement each (an upsert), and a second payment adds to the rows the first one made."""
    auth.login("agent1")
    a = worker_id_from(register(client))
    b = worker_id_from(register(client, nik="3273015208950015", full_name="Sri Wahyuni"))
    with app.app_context():
        engine = db.engine
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    code_a = bill_code_from(issue_bill(client, a, 12))
    form = dict(collect_form(client, code_a), amount=str(amount_of_bill(client, code_a)))
    event.listen(engine, "before_cursor_execute", remember)
    try:
        assert client.post("/collect", data=form).status_code == 303
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    for table in ("incentive_tallies", "agent_months", "agent_days"):
        touching = [s for s in statements if re.search(rf"\b{table}\b", s)]
        assert len(touching) == 1 and re.match(r"\s*INSERT\b.*\bON CONFLICT\b", touching[0],
                                                re.S | re.I), (table, touching)
    with app.app_context():
        agent_id = db.session.scalar(select(User.id).where(User.username == "agent1"))
        this_month = month_of(local_today("Asia/Jakarta"))

        def books_now():
            db.session.expire_all()
            tallies = dict(db.session.execute(
                select(IncentiveTally.member_month, IncentiveTally.amount)
                .where(IncentiveTally.agent_id == agent_id, IncentiveTally.month == this_month))
                .all())
            month = db.session.execute(
                select(AgentMonth.collections, AgentMonth.collected)
                .where(AgentMonth.agent_id == agent_id, AgentMonth.month == this_month)).one()
            return tallies, tuple(month)

        after_a, month_a = books_now()
    # Twelve member months, each its month's contribution.
    assert sorted(after_a) == list(range(1, 13))
    assert sum(after_a.values()) == sum(total for _, total in _lines(app, code_a))
    code_b, _ = _bill_and_collect(client, b, 1)
    with app.app_context():
        after_b, month_b = books_now()
        assert books.verify_books(db.session).tallies == []
    assert after_b[1] == after_a[1] + _lines(app, code_b)[0][1]
    assert {k: v for k, v in after_b.items() if k != 1} == {k: v for k, v in after_a.items()
                                                            if k != 1}
    assert month_b == (month_a[0] + 1, month_a[1] + amount_of_bill(client, code_b))


@pytest.mark.both_backends
def test_a_reversal_whose_books_are_missing_is_refused_whole(app, client, auth):
    """Taking a payment off the agent's books needs the rows it was added to: without them the
    approval is refused (a server error, said plainly) and nothing of it is written."""
    auth.login("agent1")
    worker_id = worker_id_from(register(client))
    _, receipt = _bill_and_collect(client, worker_id, 3)
    html = client.get(f"/receipts/{receipt}").get_data(as_text=True)
    client.post(f"/receipts/{receipt}/reversal",
                data={"csrf_token": form_key(html, "csrf_token"), "reason": "salah orang"})
    with app.app_context():
        agent_id = db.session.scalar(select(User.id).where(User.username == "agent1"))
        db.session.execute(delete(IncentiveTally).where(IncentiveTally.agent_id == agent_id))
        db.session.commit()
        cash = db.session.scalar(select(AgentAccount.cash_on_hand)
                                 .where(AgentAccount.agent_id == agent_id))
        reversal_id = db.session.scalar(select(Reversal.id))
    relogin(client, auth, "supervisor1")
    html = client.get("/supervisor").get_data(as_text=True)
    response = client.post(f"/reversals/{reversal_id}/approve",
                           data={"csrf_token": form_key(html, "csrf_token")})
    assert response.status_code == 500
    assert "Rekap agen tidak cocok dengan pembayaran ini." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Reversal, reversal_id).status == "pending"
        assert db.session.scalar(select(AgentAccount.cash_on_hand)
                                 .where(AgentAccount.agent_id == agent_id)) == cash
        assert db.session.scalar(select(AgentMonth.collections)
                                 .where(AgentMonth.agent_id == agent_id)) == 1
