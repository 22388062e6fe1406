"""CSV reports: rows, masking, branch isolation, audited full NIK (a POST only), bad dates,
streaming memory."""
from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select

from conftest import Auth, csrf_token
from markup import every, has, one, text_of
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, issue_bill, receipt_from,
                     register, worker_id_from)
from perisai.domain.clock import local_today, utcnow
from perisai.extensions import db
from perisai.models import AuditEvent, Bill, Collection, Deposit, Reversal, User, Worker
from perisai.commands import books
from perisai.queries.reports import collections_query, period_in


def logged_in(app, username: str):
    client = app.test_client()
    Auth(client).login(username)
    return client


def today_range() -> str:
    today = local_today("Asia/Jakarta")
    return f"from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def collect_months(client, worker_id: int, times: int) -> list[tuple[str, int]]:
    """Pay `times` one-month bills in a row; (receipt, amount) of each."""
    paid = []
    for _ in range(times):
        code = bill_code_from(issue_bill(client, worker_id, 1))
        amount = amount_of_bill(client, code)
        response = client.post("/collect", data=dict(collect_form(client, code), amount=str(amount)))
        assert response.status_code == 303, response.get_data(as_text=True)
        paid.append((receipt_from(response), amount))
    return paid


def verified_deposit(app, username: str, amount: int, reference: str) -> None:
    """What the deposits feature does when a supervisor verifies: a deposit and its ledger entry."""
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == username)).one()
        supervisor = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
        deposit = Deposit(agent_id=agent.id, branch_id=agent.branch_id, amount=amount,
                          reference=reference, idempotency_key=f"test-{reference}-key-0000",
                          status="verified", decided_by_id=supervisor.id, decided_at=utcnow())
        db.session.add(deposit)
        db.session.flush()
        books.on_deposit_verified(db.session, deposit, at=utcnow())
        db.session.commit()


def approved_reversal(app, receipt: str) -> None:
    with app.app_context():
        collection = db.session.scalars(select(Collection).where(Collection.receipt_number == receipt)).one()
        supervisor = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
        db.session.add(Reversal(collection_id=collection.id, branch_id=collection.branch_id,
                                requested_by_id=collection.agent_id, reason="salah kode",
                                status="approved", decided_by_id=supervisor.id, decided_at=utcnow()))
        books._post(db.session, agent_id=collection.agent_id, branch_id=collection.branch_id,
                    kind="reversal", amount=-collection.amount, collection_id=collection.id)
        db.session.commit()


@pytest.fixture
def paid(app, client, auth):
    """agent1 took four payments from one worker: the first and third are deposited, the second
    reversed, the fourth still in hand."""
    auth.login("agent1")
    worker_id = worker_id_from(register(client))
    receipts = collect_months(client, worker_id, 4)
    auth.logout()
    approved_reversal(app, receipts[1][0])
    verified_deposit(app, "agent1", receipts[0][1], "TRF-0001")
    verified_deposit(app, "agent1", receipts[2][1], "TRF-0002")
    return worker_id, receipts


def test_supervisor_gets_one_row_per_collection_with_masked_nik(app, client, auth, paid):
    worker_id, receipts = paid
    auth.login("supervisor1")
    response = client.get(f"/reports/collections.csv?{today_range()}")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    assert rows[0] == ["kuitansi", "waktu (WIB)", "agen", "nomor_peserta", "nik", "bulan", "jumlah",
                       "status", "referensi_setoran", "sampai_di_server (WIB)", "terlambat"]
    body = rows[1:]
    assert [row[0] for row in body] == [number for number, _ in receipts]
    with app.app_context():
        worker = db.session.get(Worker, worker_id)
        member, first_month = worker.member_number, worker.first_month
        first = db.session.scalars(select(Collection).where(Collection.receipt_number == receipts[0][0])).one()
        local = first.collected_at + timedelta(hours=7)  # WIB
    assert body[0][1] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert all(row[2] == "agent1" and row[3] == member for row in body)
    assert all(row[4] == "************" + VALID["nik"][-4:] for row in body)
    assert VALID["nik"] not in response.get_data(as_text=True)
    assert body[0][5] == f"{first_month:%Y-%m}"
    assert [int(row[6]) for row in body] == [amount for _, amount in receipts]
    assert [row[7] for row in body] == ["sah", "dibatalkan", "sah", "sah"]
    # FIFO: the first deposit covered the first payment, the second the third; the reversed one
    # and the one still in hand have none.
    assert [row[8] for row in body] == ["TRF-0001", "", "TRF-0002", ""]
    assert [row[10] for row in body] == ["tidak"] * 4  # recorded online, as they were taken


def test_fifo_reference_is_the_deposit_that_covered_the_last_rupiah(app, client, auth):
    auth.login("agent1")
    worker_id = worker_id_from(register(client))
    receipts = collect_months(client, worker_id, 3)
    auth.logout()
    a, b, c = (amount for _, amount in receipts)
    verified_deposit(app, "agent1", a + b // 2, "PART-1")  # all of the first, half the second
    verified_deposit(app, "agent1", b - b // 2 + c, "PART-2")  # the rest
    auth.login("supervisor1")
    body = rows_of(client.get(f"/reports/collections.csv?{today_range()}"))[1:]
    assert [row[8] for row in body] == ["PART-1", "PART-2", "PART-2"]


def test_branch_isolation(app, client, auth, paid):
    auth.login("supervisor2")
    rows = rows_of(client.get(f"/reports/collections.csv?{today_range()}&branch=BDG01"))
    assert rows[0][1] == "waktu (WITA)"
    assert rows[1:] == []  # Makassar had no payments; Bandung's are not shown
    client = logged_in(app, "agent1")
    assert client.get(f"/reports/collections.csv?{today_range()}").status_code == 403
    assert client.get("/reports/agents.csv?month=2026-11").status_code == 403


@pytest.mark.csrf
def test_supervisor_never_gets_full_nik_and_admin_full_nik_is_audited(app, client, auth, paid):
    def audited():
        with app.app_context():
            events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "report.full_nik")).all()
            db.session.remove()
            return events

    auth.login("supervisor1")
    body = client.get(f"/reports/collections.csv?{today_range()}").get_data(as_text=True)
    assert VALID["nik"] not in body and "************" in body
    # The full export is a POST, for an admin only.
    day_from, day_to = (part.split("=")[1] for part in today_range().split("&"))
    form = {"branch": "BDG01", "from": day_from, "to": day_to}
    refused = client.post("/reports/collections.csv", data=dict(form, csrf_token=csrf_token(client, "/reports")))
    assert refused.status_code == 403 and VALID["nik"] not in refused.get_data(as_text=True)

    client = logged_in(app, "admin")
    assert audited() == []
    masked = rows_of(client.get(f"/reports/collections.csv?{today_range()}&branch=BDG01"))
    assert len(masked) == 5 and all(row[4].startswith("****") for row in masked[1:])
    assert audited() == []

    token = csrf_token(client, "/reports")
    # Without a valid token nothing is sent and nothing is written.
    forged = client.post("/reports/collections.csv", data=dict(form, csrf_token="forged"))
    assert forged.status_code == 400 and VALID["nik"] not in forged.get_data(as_text=True)
    assert audited() == []
    full = client.post("/reports/collections.csv", data=dict(form, csrf_token=token))
    assert "attachment" in full.headers["Content-Disposition"]
    full_rows = rows_of(full)
    assert full_rows[0] == masked[0]
    assert [row[:4] + row[5:] for row in full_rows] == [row[:4] + row[5:] for row in masked]
    assert all(row[4] == VALID["nik"] for row in full_rows[1:])
    events = audited()
    assert len(events) == 1 and events[0].actor == "admin" and events[0].object_id == "BDG01"
    assert day_from in events[0].after and day_to in events[0].after
    # Bad input on the POST: a message, nothing audited.
    bad = client.post("/reports/collections.csv", data=dict(form, csrf_token=token, to="2020-01-01"))
    assert bad.status_code == 422 and "tidak boleh sebelum" in bad.get_data(as_text=True)
    no_branch = client.post("/reports/collections.csv", data=dict(form, csrf_token=token, branch="NOPE"))
    assert no_branch.status_code == 422
    assert len(audited()) == 1
    missing_branch = client.get(f"/reports/collections.csv?{today_range()}")
    assert missing_branch.status_code == 422 and "branch=BDG01" in missing_branch.get_data(as_text=True)


@pytest.mark.parametrize("username", ["admin", "supervisor1"])
def test_full_nik_by_get_is_refused_and_writes_nothing(app, paid, username):
    """The old `?full_nik=1` link: a 400 that points at the form, no full NIK, no audit event."""
    client = logged_in(app, username)
    with app.app_context():
        before = db.session.query(AuditEvent).count()
        db.session.remove()
    for value in ("1", "0", ""):
        response = client.get(f"/reports/collections.csv?{today_range()}&branch=BDG01&full_nik={value}")
        body = response.get_data(as_text=True)
        assert response.status_code == 400, body
        assert "NIK lengkap tidak bisa diunduh lewat tautan" in body and "Unduh dengan NIK lengkap" in body
        assert VALID["nik"] not in body and response.mimetype == "text/html"
    with app.app_context():
        assert db.session.query(AuditEvent).count() == before
        db.session.remove()


@pytest.mark.parametrize("query, message", [
    ("from=2026-13-01&to=2026-11-30", "TTTT-BB-HH"),
    ("from=2026-11-01", "TTTT-BB-HH"),
    ("from=01-11-2026&to=2026-11-30", "TTTT-BB-HH"),
    ("from=2026-11-30&to=2026-11-01", "tidak boleh sebelum"),
    ("from=2024-01-01&to=2026-11-01", "paling panjang"),
])
def test_bad_dates_are_422_with_a_message(client, auth, query, message):
    auth.login("supervisor1")
    response = client.get(f"/reports/collections.csv?{query}")
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)


def test_agent_summary_for_a_month(app, client, auth, paid):
    _, receipts = paid
    month = local_today("Asia/Jakarta").strftime("%Y-%m")
    auth.login("supervisor1")
    rows = rows_of(client.get(f"/reports/agents.csv?month={month}"))
    header, body = rows[0], {row[0]: row for row in rows[1:]}
    assert header[:4] == ["agen", "nama", "pendaftaran", "penerimaan"]
    assert set(body) == {"agent1", "agent2"}
    amounts = [amount for _, amount in receipts]
    agent1 = body["agent1"]
    # the demo seed registered two workers for agent1 this month, the test one more
    assert agent1[2] == "3"
    assert agent1[3:] == ["4", str(sum(amounts)), str(amounts[1]), "2",
                          str(amounts[0] + amounts[2]), str(amounts[3])]
    assert body["agent2"][3:] == ["0", "0", "0", "0", "0", "0"]
    bad = client.get("/reports/agents.csv?month=2026-13")
    assert bad.status_code == 422 and "TTTT-BB" in bad.get_data(as_text=True)


def test_report_links_are_on_the_reports_page(app, client, auth):
    auth.login("supervisor1")
    html = client.get("/reports").get_data(as_text=True)
    forms = {(form.get("method", "get").lower(), form["action"]) for form in every(html, "form")}
    assert {("get", "/reports/collections.csv"), ("get", "/reports/agents.csv")} <= forms
    assert "full_nik" not in html and "NIK lengkap" not in html
    assert ("post", "/reports/collections.csv") not in forms
    # The admin also gets the full-NIK form: a POST (with the CSRF token), not a link or a checkbox.
    admin = logged_in(app, "admin").get("/reports").get_data(as_text=True)
    assert "full_nik" not in admin
    form = one(admin, 'form[method="post"][action="/reports/collections.csv"]')
    assert has(form, '[name="csrf_token"]') and has(form, '[name="branch"]')
    assert has(form, '[name="from"]') and has(form, '[name="to"]')
    assert "Unduh dengan NIK lengkap" in text_of(form)


# --- a big branch -------------------------------------------------------------------------

def _bulk_collections(app, count: int) -> None:
    """`count` paid bills and collections over 500 workers, inserted directly in batches."""
    with app.app_context():
        agents = db.session.scalars(select(User).where(User.username.in_(["agent1", "agent2"]))
                                    .order_by(User.username)).all()
        branch_id = agents[0].branch_id
        now = utcnow()
        workers = [dict(nik=f"3273011708{n:06d}", full_name=f"Pekerja {n}", name_key=f"pekerja {n}",
                        birth_date=date(1985, 8, 17), sex="M", phone="0812", address="Bandung",
                        occupation="pedagang", declared_income=1_000_000, programs=2,
                        member_number=f"{70000000000 + n}", agent_id=agents[n % 2].id,
                        branch_id=branch_id, registered_at=now, first_month=date(2020, 1, 1),
                        doc_ktp=True, doc_kk=True, consent_at=now) for n in range(500)]
        db.session.execute(insert(Worker), workers)
        ids = db.session.scalars(select(Worker.id).where(Worker.name_key.like("pekerja %"))
                                 .order_by(Worker.id)).all()
        start = now - timedelta(hours=12)
        for offset in range(0, count, 5000):
            bills, collections = [], []
            for i in range(offset, min(offset + 5000, count)):
                worker_id, agent = ids[i % 500], agents[i % 2]
                at = start + timedelta(seconds=i)
                month = date(2020 + i // 6000, 1, 1)
                bills.append(dict(code=f"8{i:011d}", worker_id=worker_id, agent_id=agent.id,
                                  branch_id=branch_id, months=1, first_month=month, last_month=month,
                                  amount=16_800, breakdown="[]", status="paid", created_at=at,
                                  expires_at=at + timedelta(days=7), closed_at=at))
            db.session.execute(insert(Bill), bills)
            bill_ids = db.session.scalars(select(Bill.id).where(Bill.code >= f"8{offset:011d}",
                                                                Bill.code < f"8{offset + 5000:011d}")
                                          .order_by(Bill.code)).all()
            for i, bill_id in zip(range(offset, offset + 5000), bill_ids):
                at = start + timedelta(seconds=i)
                collections.append(dict(receipt_number=f"9{i:011d}", bill_id=bill_id,
                                        idempotency_key=f"bulk-key-{i:012d}", agent_id=agents[i % 2].id,
                                        branch_id=branch_id, worker_id=ids[i % 500], amount=16_800,
                                        months=1, first_month=date(2020, 1, 1),
                                        last_month=date(2020, 1, 1), collected_at=at))
            db.session.execute(insert(Collection), collections)
        db.session.commit()


@pytest.mark.slow
@pytest.mark.both_backends
def test_50000_collections_stream_in_bounded_memory(app, client, auth, backend):
    _bulk_collections(app, 50_000)
    auth.login("supervisor1")
    tracemalloc.start()
    response = client.get(f"/reports/collections.csv?{today_range()}", buffered=False)
    assert response.status_code == 200
    size = lines = 0
    for chunk in response.iter_encoded():
        size += len(chunk)
        lines += chunk.count(b"\n")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    response.close()
    assert lines == 50_001

    # For comparison: what holding the same rows at once takes.
    with app.app_context():
        branch_id = db.session.scalar(select(User.branch_id).where(User.username == "supervisor1"))
        first, last = (date.fromisoformat(day) for day in
                       today_range().replace("from=", "").replace("to=", "").split("&"))
        period = period_in(first, last, "Asia/Jakarta")
        tracemalloc.start()
        loaded = db.session.execute(collections_query(branch_id, period)).all()
        _, loading_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(loaded) == 50_000
        del loaded
    # The stream holds one batch of rows and one 64 KB chunk, a small fraction of what the
    # loaded rows take (and less than the CSV it sends).
    assert peak < loading_peak / 8, (peak, loading_peak)
    assert peak < size, (peak, size)
