"""Issue 3 over HTTP: payment codes, cash collection, slips, public checks, the agent dashboard."""
import html as html_lib
import re
from datetime import timedelta

import pytest
from sqlalchemy import event as sa_event, func, select

from conftest import Auth, csrf_token
from markup import field_value, has, link_targets, one, text_of
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, figure_cards, issue_bill,
                     public_slip_url, receipt_from, register, worker_id_from)
from perisai.domain.clock import local_day_start_utc, local_today, utcnow
from perisai.domain.codes import grouped, is_well_formed
from perisai.domain.inputs import is_form_key
from perisai.domain.months import add_months, month_of
from perisai.domain.text import month_label
from perisai.extensions import db
from perisai.models import AgentAccount, AuditEvent, Bill, Collection, LedgerEntry, Worker
from perisai.commands import collecting
from perisai.links import receipt_from_token, token_for
from test_domain_rates import book_from_seed

HX = {"HX-Request": "true"}
BOOK = book_from_seed()
NOT_FOUND = "Tidak ditemukan. Periksa lagi nomor dan tanggal lahir."


def today():
    return local_today("Asia/Jakarta")


def this_month():
    return month_of(today())


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def is_full_page(body: str) -> bool:
    return body.lstrip().lower().startswith("<!doctype html>")


def login_client(app, username: str):
    client = app.test_client()
    assert Auth(client).login(username).status_code == 303
    return client


def expected_amount(first, months, *, income=1_000_000, programs=3, transport=False) -> int:
    return sum(line.total for line in BOOK.price(first, months, income=income, programs=programs,
                                                 transport=transport))


def update_worker(app, worker_id, **values):
    with app.app_context():
        worker = db.session.get(Worker, worker_id)
        for name, value in values.items():
            setattr(worker, name, value)
        db.session.commit()


def load(app, model, **where):
    with app.app_context():
        query = select(model)
        for column, value in where.items():
            query = query.where(getattr(model, column) == value)
        rows = db.session.scalars(query).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def count(app, model, **where) -> int:
    return len(load(app, model, **where))


def money_state(app):
    """Everything a collection writes, to prove a refused one wrote nothing."""
    with app.app_context():
        return (db.session.scalar(select(func.count(Collection.id))),
                db.session.scalar(select(func.count(LedgerEntry.id))),
                db.session.scalar(select(func.count(AuditEvent.id))),
                tuple(db.session.execute(select(AgentAccount.agent_id, AgentAccount.cash_on_hand)
                                         .order_by(AgentAccount.agent_id)).all()),
                tuple(db.session.execute(select(Worker.id, Worker.paid_through)
                                         .order_by(Worker.id)).all()),
                tuple(db.session.execute(select(Bill.id, Bill.status).order_by(Bill.id)).all()))


@pytest.fixture
def agent(client, auth):
    assert auth.login("agent1").status_code == 303
    return client


@pytest.fixture
def worker(agent):
    response = register(agent)
    assert response.status_code == 303
    return worker_id_from(response)


@pytest.fixture
def bill(agent, worker):
    """A 3-month code for Rina (agent1, BDG01)."""
    response = issue_bill(agent, worker, 3)
    assert response.status_code == 303
    return bill_code_from(response)


def pay(client, bill_code, amount=None, form=None, **form_changes):
    """Post the confirm form the server rendered (or `form`, rendered earlier)."""
    form = dict(form or collect_form(client, bill_code))
    form["amount"] = str(amount if amount is not None else amount_of_bill(client, bill_code))
    form.update(form_changes)
    return client.post("/collect", data=form), form


# ---------------------------------------------------------------- payment codes

@pytest.mark.parametrize("months", [1, 3, 6, 12])
def test_issue_bill_for_each_allowed_length(app, agent, worker, months):
    response = issue_bill(agent, worker, months)
    assert response.status_code == 303
    code = bill_code_from(response)
    assert len(code) == 12 and is_well_formed(code, 12)
    [saved] = load(app, Bill, code=code)
    assert saved.months == months and saved.status == "open"
    assert saved.first_month == this_month()
    assert saved.last_month == add_months(this_month(), months - 1)
    assert saved.amount == expected_amount(this_month(), months)
    assert saved.expires_at - saved.created_at == timedelta(days=7)
    page = text(agent.get(f"/bills/{code}"))
    assert amount_of_bill(agent, code) == saved.amount
    assert grouped(code) in page and "Belum dibayar" in page
    assert page.count("JKK Rp") == months  # one breakdown line per month
    for i in range(months):
        assert month_label(add_months(this_month(), i)) in page
    assert "************0007" in page and VALID["nik"] not in page


def test_bill_page_and_fragment(agent, bill):
    page = agent.get(f"/bills/{bill}")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    assert is_full_page(text(page))
    fragment = agent.get(f"/bills/{bill}", headers=HX)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    body = text(fragment)
    assert not is_full_page(body) and grouped(bill) in text_of(one(body, "#bill"))


def test_issue_bill_with_htmx_answers_with_the_code_and_its_cash_form_in_place(app, agent, worker):
    """One round trip and no new screen: the worker page's months card is replaced by the new
    code, its amount and the cash form (issue 13); a plain form still gets 303 to the code."""
    token = csrf_token(agent, f"/workers/{worker}")
    response = agent.post(f"/workers/{worker}/bills", data={"months": "1", "csrf_token": token},
                          headers=HX)
    assert response.status_code == 200
    [saved] = load(app, Bill, worker_id=worker)
    assert "HX-Push-Url" not in response.headers and "HX-Redirect" not in response.headers
    assert "HX-Request" in response.headers["Vary"]
    body = text(response)
    assert not is_full_page(body) and body.lstrip().startswith('<section class="card" id="billing">')
    assert grouped(saved.code) in text_of(one(body, "#billing .code"))
    cash = one(body, "#billing form.take-cash")
    assert cash["action"] == "/collect"
    assert field_value(cash, "code") == saved.code and is_form_key(field_value(cash, "idempotency_key"))
    assert one(cash, 'input[name="amount"]')


@pytest.mark.parametrize("months", ["2", "0", "-1", "24", "abc", "", "1.0", "1" * 5_000_000])
def test_bad_months_value_is_422(app, agent, worker, months):
    token = csrf_token(agent, f"/workers/{worker}")
    response = agent.post(f"/workers/{worker}/bills", data={"months": months, "csrf_token": token})
    assert response.status_code == 422
    body = text(response)
    assert "Pilih 1, 3, 6 atau 12 bulan." in body
    assert len(body) < 100_000
    assert count(app, Bill, worker_id=worker) == 0


@pytest.mark.csrf
def test_bill_without_csrf_token_is_refused(app, agent, worker):
    response = agent.post(f"/workers/{worker}/bills", data={"months": "1"})
    assert response.status_code == 400
    assert count(app, Bill, worker_id=worker) == 0


def test_new_bill_replaces_the_open_one(app, agent, worker):
    first = bill_code_from(issue_bill(agent, worker, 1))
    old_form = collect_form(agent, first)  # the confirm form was open on the phone
    second = bill_code_from(issue_bill(agent, worker, 3))
    assert first != second
    states = {b.code: b.status for b in load(app, Bill, worker_id=worker)}
    assert states == {first: "replaced", second: "open"}
    assert "Diganti kode baru" in text(agent.get(f"/bills/{first}"))
    # The replaced code cannot be paid any more.
    before = money_state(app)
    response, _ = pay(agent, first, amount=expected_amount(this_month(), 1), form=old_form)
    assert response.status_code == 409
    assert "tidak berlaku" in text(response)
    assert money_state(app) == before


@pytest.mark.both_backends
def test_bill_of_seven_million_or_more_is_refused(app, agent):
    response = register(agent, declared_income="20.700.000")
    worker = worker_id_from(response)
    would_be = expected_amount(this_month(), 12, income=20_700_000)
    assert would_be >= 7_000_000  # the case this test is about
    response = issue_bill(agent, worker, 12)
    assert response.status_code == 422
    body = text(response)
    assert "terlalu besar" in body and "Rp7.000.000" in body
    assert f"Rp{would_be:,}".replace(",", ".") in body
    assert count(app, Bill, worker_id=worker) == 0
    # A shorter bill for the same worker is fine.
    assert issue_bill(agent, worker, 6).status_code == 303


@pytest.mark.both_backends
def test_lapsed_worker_gets_no_bill(app, agent, worker):
    update_worker(app, worker, first_month=add_months(this_month(), -6), paid_through=None)
    page = text(agent.get(f"/workers/{worker}"))
    assert "Nonaktif" in page and "mendaftar ulang" in page
    assert not has(page, f'form[action="/workers/{worker}/bills"]')
    response = issue_bill(agent, worker, 1)
    assert response.status_code == 409
    assert "mendaftar ulang" in text(response)
    assert count(app, Bill, worker_id=worker) == 0


def test_lapsed_after_paying_is_also_refused(app, agent, worker):
    update_worker(app, worker, first_month=add_months(this_month(), -12),
                  paid_through=add_months(this_month(), -6))
    assert issue_bill(agent, worker, 3).status_code == 409
    assert count(app, Bill, worker_id=worker) == 0


def test_bill_starts_with_the_arrears(app, agent, worker):
    first = add_months(this_month(), -3)
    update_worker(app, worker, first_month=first, paid_through=add_months(this_month(), -2))
    code = bill_code_from(issue_bill(agent, worker, 3))
    [saved] = load(app, Bill, code=code)
    assert saved.first_month == add_months(this_month(), -1)
    assert saved.amount == expected_amount(add_months(this_month(), -1), 3)


def test_a_code_made_before_a_lapse_cannot_be_paid_after_it(app, agent, worker, bill):
    update_worker(app, worker, first_month=add_months(this_month(), -6))
    with app.app_context():
        db.session.execute(Bill.__table__.update().where(Bill.code == bill).values(
            first_month=add_months(this_month(), -6)))
        db.session.commit()
    before = money_state(app)
    response, _ = pay(agent, bill)
    assert response.status_code == 409 and "mendaftar ulang" in text(response)
    assert money_state(app) == before


def test_bill_page_scope(app, bill):
    assert login_client(app, "supervisor1").get(f"/bills/{bill}").status_code == 200
    for username in ("agent2", "agent3", "supervisor2"):  # agent2: same branch, not the owner
        response = login_client(app, username).get(f"/bills/{bill}")
        assert response.status_code == 404
        assert "Rina" not in text(response)
    assert login_client(app, "admin").get(f"/bills/{bill}").status_code == 403


@pytest.mark.parametrize("code", ["000000000000", "abc", "1" * 5000])
def test_unknown_bill_is_404(agent, code):
    response = agent.get(f"/bills/{code}")
    assert response.status_code == 404
    assert "1" * 100 not in response.get_data(as_text=True)


@pytest.mark.parametrize("username, status", [("agent2", 404), ("agent3", 404),
                                              ("supervisor1", 403)])
def test_only_the_owner_agent_issues_bills(app, worker, username, status):
    client = login_client(app, username)
    token = csrf_token(client, "/cek")
    response = client.post(f"/workers/{worker}/bills", data={"months": "1", "csrf_token": token})
    assert response.status_code == status
    assert count(app, Bill, worker_id=worker) == 0


# ---------------------------------------------------------------- collect: looking a code up

def test_collect_page_and_fragment(agent):
    page = agent.get("/collect")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    body = text(page)
    lookup = one(body, 'form:has(input[name="code"])')
    assert is_full_page(body) and lookup.get("method", "get").lower() == "get"
    fragment = agent.get("/collect", headers=HX)
    fbody = text(fragment)
    assert fragment.status_code == 200 and "HX-Request" in fragment.headers["Vary"]
    assert not is_full_page(fbody) and fbody.lstrip().startswith('<div id="collect">')


def test_collect_shows_the_bill_with_masked_nik_and_a_fresh_key(agent, bill):
    for headers in ({}, HX):
        response = agent.get(f"/collect?code={bill}", headers=headers)
        assert response.status_code == 200
        body = text(response)
        assert "Rina Marlina" in body and "************0007" in body
        assert VALID["nik"] not in body and "081234567890" not in body
        assert field_value(body, "code", within="form:has([name=idempotency_key])") == bill
        assert f"Rp{amount_of_bill(agent, bill):,}".replace(",", ".") in body
    keys = {collect_form(agent, bill)["idempotency_key"] for _ in range(3)}
    assert len(keys) == 3  # the server renders a fresh key each time
    grouped_lookup = text(agent.get("/collect", query_string={"code": grouped(bill)}))
    assert "Rina Marlina" in grouped_lookup


def mistype(code: str) -> list[str]:
    digit = str((int(code[5]) + 1) % 10)
    typos = [code[:5] + digit + code[6:]]
    for i in range(len(code) - 1):
        if code[i] != code[i + 1]:
            typos.append(code[:i] + code[i + 1] + code[i] + code[i + 2:])
            break
    return typos


def test_mistyped_code_is_caught_by_the_check_digit(agent, bill):
    for typo in mistype(bill):
        response = agent.get(f"/collect?code={typo}")
        assert response.status_code == 422
        body = text(response)
        assert "angka pemeriksa tidak cocok" in body
        assert "Rina" not in body


@pytest.mark.parametrize("typed, message", [
    ("ABCDEFGHIJKL", "Kode bayar hanya berisi angka."),
    ("12345", "Kode bayar harus 12 angka (yang diisi 5)."),
    ("１２３４５６７８９０１２", "Kode bayar hanya berisi angka."),
    ("x" * 5000, "Kode bayar"),
])
def test_malformed_code_is_422(agent, typed, message):
    response = agent.get("/collect", query_string={"code": typed})
    assert response.status_code == 422
    body = text(response)
    assert message in body
    assert "x" * 100 not in body


def test_well_formed_unknown_code_is_404(agent):
    from perisai.domain.codes import with_check_digit
    response = agent.get(f"/collect?code={with_check_digit('12345678901')}")
    assert response.status_code == 404
    assert "Kode bayar tidak dikenal" in text(response)


@pytest.mark.parametrize("username, reason", [("agent3", "cabang lain"), ("agent2", "agen lain")])
def test_only_the_owner_agent_can_see_or_collect_the_code(app, bill, username, reason):
    other = login_client(app, username)
    response = other.get(f"/collect?code={bill}")
    assert response.status_code == 409
    body = text(response)
    assert reason in body and "Rina" not in body and "0007" not in body
    before = money_state(app)
    form = {"csrf_token": csrf_token(other, "/collect"), "idempotency_key": "k" * 24}
    response = other.post("/collect", data=dict(form, code=bill, amount="110400"))
    assert response.status_code == 409 and reason in text(response)
    # What is wrong with the code is said before what is wrong with the amount.
    response = other.post("/collect", data=dict(form, code=bill, amount="abc"))
    assert response.status_code == 409 and reason in text(response)
    assert "Rina" not in text(response)
    assert money_state(app) == before


def test_a_key_used_for_one_code_never_answers_for_another(app, agent, worker, bill):
    response, form = pay(agent, bill)
    assert response.status_code == 303
    first_receipt = receipt_from(response)
    other = register(agent, **dict(VALID, nik="3273015208950008", full_name="Sari Dewi"))
    second = bill_code_from(issue_bill(agent, worker_id_from(other), 1))
    before = money_state(app)
    # The same idempotency key, sent with another code (a form reused by hand or a bad client).
    response, _ = pay(agent, second, form=dict(form, code=second))
    assert response.status_code == 409 and "sudah dipakai" in text(response)
    # Issue 10: the agent is told which payment the form recorded (its own), and nothing else.
    assert one(response, "#paid dl").get_text(" ").count(first_receipt) == 1
    assert money_state(app) == before
    [open_bill] = load(app, Bill, code=second)
    assert open_bill.status == "open"


# ---------------------------------------------------------------- collect: recording cash

@pytest.mark.both_backends
def test_collect_records_cash_and_advances_paid_through(app, agent, worker, bill):
    amount = amount_of_bill(agent, bill)
    response, form = pay(agent, bill)
    assert response.status_code == 303
    number = receipt_from(response)
    assert len(number) == 12 and is_well_formed(number, 12)
    [collection] = load(app, Collection, receipt_number=number)
    assert collection.amount == amount and collection.idempotency_key == form["idempotency_key"]
    [rina] = load(app, Worker, id=worker)
    assert rina.paid_through == add_months(this_month(), 2)
    [saved] = load(app, Bill, code=bill)
    assert saved.status == "paid"
    page = text(agent.get(f"/workers/{worker}"))
    assert "Aktif" in page and month_label(add_months(this_month(), 2)) in page
    assert number in page
    # The next code starts after the paid months.
    next_code = bill_code_from(issue_bill(agent, worker, 1))
    [later] = load(app, Bill, code=next_code)
    assert later.first_month == add_months(this_month(), 3)


@pytest.mark.both_backends
def test_a_receipt_number_already_taken_is_drawn_again(app, agent, worker, bill, monkeypatch):
    """Receipt numbers are not looked up before use: the unique constraint refuses one that is
    taken, and the payment is made again, whole, with another number (three draws at most)."""
    taken = paid_receipt_for(agent, worker_nik="3273015208950015", full_name="Sri Wahyuni")
    real = collecting.random_number
    draws = iter([taken, taken])
    monkeypatch.setattr(collecting, "random_number", lambda length: next(draws, None)
                        or real(length))
    amount = amount_of_bill(agent, bill)
    response, _ = pay(agent, bill)
    assert response.status_code == 303
    number = receipt_from(response)
    assert number != taken and next(draws, None) is None  # both taken draws were refused
    [collection] = load(app, Collection, bill_id=load(app, Bill, code=bill)[0].id)
    assert (collection.receipt_number, collection.amount) == (number, amount)
    assert len(load(app, Collection, receipt_number=taken)) == 1
    assert len(load(app, LedgerEntry, collection_id=collection.id)) == 1


@pytest.mark.both_backends
def test_three_taken_receipt_numbers_refuse_the_payment_and_write_nothing(
        app, agent, worker, bill, monkeypatch):
    taken = paid_receipt_for(agent, worker_nik="3273015208950015", full_name="Sri Wahyuni")
    monkeypatch.setattr(collecting, "random_number", lambda length: taken)
    cash = load(app, AgentAccount, agent_id=load(app, Collection, receipt_number=taken)[0]
                .agent_id)[0].cash_on_hand
    response, _ = pay(agent, bill)
    assert response.status_code == 500
    [saved] = load(app, Bill, code=bill)
    assert saved.status == "open" and load(app, Collection, bill_id=saved.id) == []
    assert load(app, AgentAccount, agent_id=saved.agent_id)[0].cash_on_hand == cash


def paid_receipt_for(client, *, worker_nik: str, full_name: str) -> str:
    """Another worker registered, billed and paid: its receipt number."""
    response = register(client, nik=worker_nik, full_name=full_name)
    assert response.status_code == 303, response.get_data(as_text=True)
    code = bill_code_from(issue_bill(client, worker_id_from(response), 1))
    response, _ = pay(client, code)
    assert response.status_code == 303
    return receipt_from(response)


@pytest.mark.both_backends
def test_a_payment_reads_nothing_after_its_commit_to_send_the_agent_to_the_slip(
        app, agent, bill, backend):
    """The redirect needs only the receipt number, which the payment knows: no statement runs
    once the payment is committed (one ran to read the collection back)."""
    with app.app_context():
        engine = db.engine
    seen = []

    def statement(conn, cursor, sql, parameters, context, executemany):
        seen.append(sql)

    def committed(conn):
        seen.append("COMMIT")

    form = dict(collect_form(agent, bill), amount=str(amount_of_bill(agent, bill)))
    sa_event.listen(engine, "before_cursor_execute", statement)
    sa_event.listen(engine, "commit", committed)
    try:
        response = agent.post("/collect", data=form)
    finally:
        sa_event.remove(engine, "before_cursor_execute", statement)
        sa_event.remove(engine, "commit", committed)
    assert response.status_code == 303
    number = receipt_from(response)
    [collection] = load(app, Collection, receipt_number=number)
    assert collection.amount == int(form["amount"])
    last_commit = len(seen) - 1 - seen[::-1].index("COMMIT")
    assert any("INSERT INTO collections" in sql for sql in seen[:last_commit])
    assert seen[last_commit + 1:] == []


def test_collect_with_htmx_answers_with_the_slip(app, agent, bill):
    form = collect_form(agent, bill)
    response = agent.post("/collect", data=dict(form, amount=str(amount_of_bill(agent, bill))),
                          headers=HX)
    assert response.status_code == 200
    [collection] = load(app, Collection)
    assert response.headers["HX-Push-Url"].endswith(f"/receipts/{collection.receipt_number}")
    body = text(response)
    assert not is_full_page(body) and collection.receipt_number in body and "SAH" in body


def test_amount_with_dots_and_rp_is_accepted(app, agent, bill):
    amount = amount_of_bill(agent, bill)
    response, _ = pay(agent, bill, amount="Rp " + f"{amount:,}".replace(",", "."))
    assert response.status_code == 303


@pytest.mark.parametrize("delta", [-1, 1, -100, 100_000])
def test_wrong_amount_is_422_and_nothing_recorded(app, agent, bill, delta):
    amount = amount_of_bill(agent, bill)
    before = money_state(app)
    response, form = pay(agent, bill, amount=amount + delta)
    assert response.status_code == 422
    body = text(response)
    assert "Jumlah uang harus sama dengan tagihan" in body
    assert f"Rp{amount:,}".replace(",", ".") in body
    assert money_state(app) == before
    # The confirm form is still there with the same key, so the agent can correct the amount.
    assert field_value(body, "idempotency_key") == form["idempotency_key"]


@pytest.mark.parametrize("typed", ["abc", "", "-36800", "36,800", "9" * 30, "1" * 5_000_000])
def test_unreadable_amount_is_422(app, agent, bill, typed):
    before = money_state(app)
    response, _ = pay(agent, bill, amount=typed)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert len(body) < 100_000
    # The bill is shown again beside the error, so the agent can type the amount again.
    amount = amount_of_bill(agent, bill)
    assert f"Rp{amount:,}".replace(",", ".") in text(response)
    assert money_state(app) == before


def test_huge_code_in_post_is_422(app, agent, bill):
    before = money_state(app)
    response, _ = pay(agent, bill, code="7" * 5_000_000, amount="36800")
    assert response.status_code == 422
    assert len(response.get_data()) < 100_000
    assert money_state(app) == before


@pytest.mark.parametrize("key", ["", "short", "x" * 65, "bad key with spaces!!", "k" * 5_000_000])
def test_bad_idempotency_key_is_refused(app, agent, bill, key):
    before = money_state(app)
    response, _ = pay(agent, bill, idempotency_key=key)
    assert response.status_code == 422
    assert "Muat ulang halaman" in text(response)
    assert len(response.get_data()) < 100_000
    assert money_state(app) == before


@pytest.mark.both_backends
def test_expired_code_is_409_and_nothing_recorded(app, agent, bill):
    form = collect_form(agent, bill)  # rendered while the code was still valid
    with app.app_context():
        db.session.execute(Bill.__table__.update().where(Bill.code == bill).values(
            expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    page = text(agent.get(f"/collect?code={bill}"))
    assert "Kedaluwarsa" in page and "Uang sudah diterima, catat" not in page
    before = money_state(app)
    response = agent.post("/collect", data=dict(form, amount=str(amount_of_bill(agent, bill))))
    assert response.status_code == 409
    assert "kedaluwarsa" in text(response)
    assert money_state(app) == before


@pytest.mark.both_backends
def test_same_key_twice_returns_the_same_receipt(app, agent, bill):
    first, form = pay(agent, bill)
    assert first.status_code == 303
    again = agent.post("/collect", data=form)
    assert again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert count(app, Collection) == 1
    with app.app_context():
        account = db.session.get(AgentAccount, load(app, Collection)[0].agent_id)
        assert account.cash_on_hand == amount_of_bill(agent, bill)


@pytest.mark.both_backends
def test_different_key_for_a_paid_bill_shows_sudah_dibayar(app, agent, bill):
    # Two confirm forms were rendered (two tabs, a reload): each has its own key.
    other_forms = [collect_form(agent, bill), collect_form(agent, bill)]
    first, _ = pay(agent, bill)
    number = receipt_from(first)
    before = money_state(app)
    response, _ = pay(agent, bill, form=other_forms[0])
    assert response.status_code == 409
    body = text(response)
    assert "Sudah dibayar" in body and number in body
    assert f"/receipts/{number}" in link_targets(body)
    assert money_state(app) == before
    fragment = agent.post("/collect", data=dict(other_forms[1],
                                                amount=str(amount_of_bill(agent, bill))), headers=HX)
    assert fragment.status_code == 409 and has(fragment, "#paid")
    assert not is_full_page(text(fragment))


def test_paid_code_shows_no_confirm_form(agent, bill):
    pay(agent, bill)
    page = text(agent.get(f"/collect?code={bill}"))
    assert "Lunas" in page and "Uang sudah diterima, catat" not in page


def test_supervisor_cannot_collect(app, bill):
    client = login_client(app, "supervisor1")
    assert client.get("/collect").status_code == 403
    token = csrf_token(client, "/cek")
    before = money_state(app)
    response = client.post("/collect", data={"code": bill, "amount": "1", "csrf_token": token,
                                             "idempotency_key": "k" * 20})
    assert response.status_code == 403
    assert money_state(app) == before


@pytest.mark.csrf
def test_collect_without_csrf_token_is_refused(app, agent, bill):
    form = collect_form(agent, bill)
    del form["csrf_token"]
    before = money_state(app)
    response = agent.post("/collect", data=dict(form, amount=str(amount_of_bill(agent, bill))))
    assert response.status_code == 400
    assert money_state(app) == before


# ---------------------------------------------------------------- receipts and slips

@pytest.fixture
def paid(agent, bill):
    response, _ = pay(agent, bill)
    assert response.status_code == 303
    return receipt_from(response)


def slip_url(client, number) -> str:
    html = client.get(f"/receipts/{number}").get_data(as_text=True)
    return public_slip_url(html).replace("http://perisai.test", "")


def test_receipt_page_for_the_agent(app, agent, worker, paid):
    for headers in ({}, HX):
        response = agent.get(f"/receipts/{paid}", headers=headers)
        assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
        body = text(response)
        assert is_full_page(body) is (headers == {})
        assert paid in body and "SAH" in body and "Rina Marlina" in body
        assert "************0007" in body and VALID["nik"] not in body
        [rina] = load(app, Worker, id=worker)
        assert rina.member_number in body
        assert "Siti Aminah" in body and "Kantor Cabang Bandung Suci" in body
        assert "<svg" in body and "JKK, JKM, JHT" in body
        assert "wa.me" in body or "whatsapp" in body.lower()


def test_receipt_scope(app, paid):
    assert login_client(app, "supervisor1").get(f"/receipts/{paid}").status_code == 200
    for username in ("agent2", "agent3", "supervisor2"):
        response = login_client(app, username).get(f"/receipts/{paid}")
        assert response.status_code == 404, username
        assert "Rina" not in text(response)


def test_public_slip_is_sah_for_anyone(app, agent, paid):
    url = slip_url(agent, paid)
    assert url.startswith("/s/")
    token = url[len("/s/"):]
    assert paid not in token  # signed and encoded, not the bare number
    [collection] = load(app, Collection, receipt_number=paid)
    response = app.test_client().get(url)
    assert response.status_code == 200
    body = text(response)
    assert "SAH" in body and paid in body and "************0007" in body
    assert "tidak sah" not in body


@pytest.mark.parametrize("alter", [
    lambda t: "forged",
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: ("B" if t[0] != "B" else "C") + t[1:],
    lambda t: t + "x",
    lambda t: t.split(".")[0],
    lambda t: "x" * 5000,
])
def test_forged_or_altered_token_is_tidak_sah(app, agent, paid, alter):
    token = slip_url(agent, paid)[len("/s/"):]
    response = app.test_client().get(f"/s/{alter(token)}")
    assert response.status_code == 404
    body = text(response)
    assert "tidak sah" in body
    assert paid not in body and "Rina" not in body


def test_every_one_character_change_of_a_token_is_refused():
    # Unpadded base64 has spare bits in its last character: without the canonical check some
    # edits of it decode to the same signature and would still verify.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."
    for receipt in ("740425254437", "100000000009", "999999999994"):
        token = token_for(receipt, "a-secret")
        assert receipt_from_token(token, "a-secret", []) == receipt
        for position in range(len(token)):
            for char in alphabet:
                altered = token[:position] + char + token[position + 1:]
                if altered != token:
                    assert receipt_from_token(altered, "a-secret", []) is None, (position, char)


def test_token_signed_with_another_key_is_tidak_sah(app, paid):
    response = app.test_client().get(f"/s/{token_for(paid, 'some-other-secret')}")
    assert response.status_code == 404 and "tidak sah" in text(response)


def verify(client, receipt, birth):
    return client.get("/verify", query_string={"receipt": receipt, "birth_date": birth})


def status(client, member, birth):
    return client.get("/status", query_string={"member": member, "birth_date": birth})


def neutral(body: str) -> str:
    """The answer without the echoed inputs and per-request tokens."""
    body = re.sub(r'value="[^"]*"', 'value=""', body)
    return re.sub(r'"X-CSRFToken": "[^"]*"', "", body)


@pytest.mark.both_backends
def test_verify_receipt(app, paid):
    public = app.test_client()
    good = verify(public, paid, VALID["birth_date"])
    assert good.status_code == 200
    body = text(good)
    assert "SAH" in body and paid in body and "************0007" in body
    assert verify(public, grouped(paid), VALID["birth_date"]).status_code == 200
    answers = [verify(public, paid, "1995-08-13"),         # wrong birth date
               verify(public, "123456789018", VALID["birth_date"]),  # well-formed, unknown
               verify(public, paid[:-1] + str((int(paid[-1]) + 1) % 10), VALID["birth_date"]),
               verify(public, "abc", VALID["birth_date"]),
               verify(public, paid, "1995-02-31"),
               verify(public, "9" * 5000, "x" * 5000)]
    assert {r.status_code for r in answers} == {404}
    bodies = {neutral(r.get_data(as_text=True)) for r in answers}
    assert len(bodies) == 1
    assert NOT_FOUND in text(answers[0]) and "Rina" not in text(answers[0])
    assert "9" * 100 not in text(answers[-1])


@pytest.mark.both_backends
def test_status_by_member_number(app, agent, worker, paid):
    [rina] = load(app, Worker, id=worker)
    public = app.test_client()
    good = status(public, rina.member_number, VALID["birth_date"])
    assert good.status_code == 200
    body = text(good)
    assert "Aktif" in body and month_label(add_months(this_month(), 2)) in body
    assert "Rina Marlina" not in body and "R*** M******" in body
    other = rina.member_number[:-1] + str((int(rina.member_number[-1]) + 1) % 10)
    from perisai.domain.codes import with_check_digit
    answers = [status(public, rina.member_number, "1995-08-13"),
               status(public, with_check_digit("1234567890"), VALID["birth_date"]),
               status(public, other, VALID["birth_date"]),
               status(public, "abc", ""),
               status(public, "9" * 5000, "x" * 5000)]
    assert {r.status_code for r in answers} == {404}
    assert len({neutral(r.get_data(as_text=True)) for r in answers}) == 1
    assert NOT_FOUND in text(answers[0])


def test_public_forms_render_without_query(app):
    public = app.test_client()
    for path in ("/verify", "/status"):
        response = public.get(path)
        assert response.status_code == 200 and has(response, 'form input[name="birth_date"]')


def personal_data_forms():
    nik, phone = VALID["nik"], "081234567890"
    return [nik, "3273 0152 0895 0007", phone, "0812 3456 7890", "6281234567890",
            "1995-08-12", "12-08-1995", "12/08/1995", "12 Agustus 1995", "12 Agu 1995",
            "1995/08/12", "12.08.1995"]


@pytest.mark.both_backends
def test_public_pages_never_show_nik_birth_date_or_phone(app, agent, worker, paid):
    [rina] = load(app, Worker, id=worker)
    url = slip_url(agent, paid)
    public = app.test_client()
    responses = {
        "slip": public.get(url),
        "verify": verify(public, paid, VALID["birth_date"]),
        "verify-wrong": verify(public, paid, "1995-08-13"),
        "status": status(public, rina.member_number, VALID["birth_date"]),
        "status-wrong": status(public, rina.member_number, "1995-08-13"),
        "slip-htmx": public.get(url, headers=HX),
    }
    assert responses["slip"].status_code == responses["verify"].status_code == 200
    assert responses["status"].status_code == 200
    for name, response in responses.items():
        body = response.get_data(as_text=True)
        plain = text(response)
        for secret in personal_data_forms():
            assert secret not in body and secret not in plain, (name, secret)


# ---------------------------------------------------------------- agent dashboard

def figures(body: str) -> dict:
    cards = figure_cards(body)
    paid_count = re.search(r"(\d+) pembayaran", body)
    return {"today": cards.get("Diterima hari ini"), "cash": cards.get("Uang tunai di tangan"),
            "new": cards.get("Peserta baru bulan ini"),
            "count": int(paid_count.group(1)) if paid_count else None}


@pytest.mark.both_backends
def test_agent_dashboard_figures(app, agent, worker, paid):
    amount = load(app, Collection, receipt_number=paid)[0].amount
    rupiah = f"Rp{amount:,}".replace(",", ".")
    # Asep (agent1's demo worker: ojek, Rp2.000.000, 3 programs) is two months behind.
    [asep] = load(app, Worker, nik="3273011708850001")
    update_worker(app, asep.id, first_month=add_months(this_month(), -6),
                  paid_through=add_months(this_month(), -2))
    with app.app_context():
        registered = db.session.scalar(select(func.count(Worker.id)).where(
            Worker.agent_id == asep.agent_id,
            Worker.registered_at >= local_day_start_utc(this_month(), "Asia/Jakarta")))
    response = agent.get("/")
    assert response.status_code == 200
    body = text(response)
    shown = figures(body)
    assert shown["today"] == rupiah and shown["count"] == 1
    assert shown["cash"] == rupiah
    assert shown["new"] == str(registered)
    # The member in arrears is listed with what is due, linking to the worker.
    from perisai.domain.status import membership_status
    behind = membership_status(asep.first_month, add_months(this_month(), -2), today())
    due = expected_amount(behind.first_unpaid, behind.overdue_months, income=2_000_000,
                          transport=True)
    row = one(body, f'tr:has(a[href="/workers/{asep.id}"])')
    assert "Asep Saepudin" in text_of(row)
    assert f"Rp{due:,}".replace(",", ".") in text_of(row)
    assert "Menunggak" in text_of(row)
    # Rina paid this month and is not behind; agent2's worker is not on agent1's board.
    assert f"/workers/{worker}" not in link_targets(body)
    assert "Dadang" not in body


def test_dashboard_for_a_fresh_agent(app):
    body = text(login_client(app, "agent2").get("/"))
    shown = figures(body)
    assert shown["today"] == "Rp0" and shown["count"] == 0 and shown["cash"] == "Rp0"


# ---------------------------------------------------------------- the books after a story

@pytest.mark.both_backends
def test_audit_and_ledger_verify_after_a_story(app, agent, runner):
    worker = worker_id_from(register(agent))
    first = bill_code_from(issue_bill(agent, worker, 1))
    first_form = collect_form(agent, first)
    second = bill_code_from(issue_bill(agent, worker, 6))  # replaces the first
    assert pay(agent, second, amount=1)[0].status_code == 422
    response, form = pay(agent, second)
    assert response.status_code == 303
    assert agent.post("/collect", data=form).status_code == 303  # a retry
    assert pay(agent, first, form=first_form, amount=1)[0].status_code == 409  # replaced
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    result = runner.invoke(args=["ledger-verify"])
    assert result.exit_code == 0, result.output
    assert "consistent" in result.output.lower()
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action)).all()
        assert actions.count("collection.record") == 1
        assert actions.count("bill.issue") == 2
    # And the commands notice tampering.
    with app.app_context():
        db.session.execute(AuditEvent.__table__.update().where(
            AuditEvent.action == "collection.record").values(after='{"amount": 1}'))
        db.session.commit()
    result = runner.invoke(args=["audit-verify"])
    assert result.exit_code == 1 and "BROKEN" in result.output
