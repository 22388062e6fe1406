"""Sponsored-premium list: CLI import and admin upload share one service; registering a listed
worker marks the sponsored months paid."""
from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import date

import pytest
from sqlalchemy import event, func, select

from conftest import csrf_token
from helpers import (amount_of_bill, bill_code_from, collect_form, issue_bill, nik_for, register,
                     worker_id_from)
from markup import definitions
from perisai.domain.clock import local_today
from perisai.domain.months import add_months, month_of
from perisai.extensions import db
from perisai.models import AgentAccount, AuditEvent, Collection, SponsoredEntry, User, Worker
from perisai.commands import SYSTEM
from perisai.commands.sponsored_import import import_sponsored

HEADER = "nik,sponsor_code,sponsor_name,programs,valid_from,valid_to\n"
NIK_A = "3273011708850101"  # born 17-08-1985, male
NIK_B = "3273014503900102"  # born 05-03-1990, female


def write(tmp_path, text: str, name: str = "list.csv", encoding: str = "utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def cli(app, runner, args):
    # `flask` itself pushes an app context; the test runner calls app.cli directly.
    with app.app_context():
        return runner.invoke(args=args)


def entries(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SponsoredEntry))


def import_events(app) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "sponsored.import")).all()


GOOD = (HEADER
        + f"{NIK_A},SG,Pemprov Jawa Barat,2,2025-11-01,2026-12-31\n"
        + f"{NIK_B},SD,\"Desa Sukamaju, Kab. Bandung\",3,2026-01-01,2026-06-30\n")


@pytest.mark.both_backends
def test_cli_imports_a_good_file_and_the_same_file_again_adds_nothing(app, runner, tmp_path, backend):
    path = write(tmp_path, "\ufeff" + GOOD)  # Excel's BOM is accepted
    result = cli(app, runner, ["import-sponsored", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 rows read: 2 added" in result.output
    with app.app_context():
        row = db.session.scalars(select(SponsoredEntry).where(SponsoredEntry.nik == NIK_B)).one()
        assert (row.sponsor_code, row.sponsor_name, row.programs) == ("SD", "Desa Sukamaju, Kab. Bandung", 3)
        assert (row.valid_from, row.valid_to) == (date(2026, 1, 1), date(2026, 6, 30))

    again = cli(app, runner, ["import-sponsored", str(path)])
    assert again.exit_code == 0, again.output
    assert "0 added, 2 already on the list" in again.output
    assert entries(app) == 2
    events = import_events(app)
    assert len(events) == 2
    assert '"added":2' in events[0].after and '"added":0' in events[1].after


@pytest.mark.both_backends
def test_a_new_period_for_a_listed_nik_is_added_and_repeats_in_a_file_count_once(app, runner, tmp_path, backend):
    cli(app, runner, ["import-sponsored", str(write(tmp_path, GOOD))])
    text = (HEADER + f"{NIK_A},SG,Pemprov Jawa Barat,2,2027-01-01,2027-12-31\n"
            + f"{NIK_A},SG,Pemprov Jawa Barat,2,2027-01-01,2027-12-31\n"
            + f"{NIK_A},SG,Pemprov Jawa Barat,2,2025-11-01,2026-12-31\n")
    result = cli(app, runner, ["import-sponsored", str(write(tmp_path, text, "b.csv"))])
    assert result.exit_code == 0, result.output
    assert "3 rows read: 1 added, 2 already" in result.output
    assert entries(app) == 3


@pytest.mark.both_backends
def test_bad_rows_are_listed_with_line_numbers_and_nothing_is_imported(app, runner, tmp_path, backend):
    text = (HEADER
            + f"{NIK_A},SG,Pemprov Jawa Barat,2,2025-11-01,2026-12-31\n"   # line 2: fine
            + "3273011708851,SG,Pemprov,2,2025-11-01,2026-12-31\n"         # line 3: short NIK
            + f"{NIK_B},XX,Pemprov,2,2025-11-01,2026-12-31\n"              # line 4: sponsor code
            + f"{NIK_B},SG,Pemprov,4,2025-11-01,2026-12-31\n"              # line 5: programs
            + f"{NIK_B},SG,Pemprov,2,2025-13-01,2026-12-31\n"              # line 6: date
            + f"{NIK_B},SG,Pemprov,2,2026-12-01,2026-01-31\n"              # line 7: order
            + f"{NIK_B},SG,Pemprov,2\n"                                    # line 8: columns
            + "9999999999999999,SG,Pemprov,2,2025-11-01,2026-12-31\n")     # line 9: region
    result = cli(app, runner, ["import-sponsored", str(write(tmp_path, text))])
    assert result.exit_code == 1
    out = result.output
    assert "7 baris salah; tidak ada yang diimpor" in out
    for line in (3, 4, 5, 6, 7, 8, 9):
        assert f"Baris {line}:" in out
    assert "Baris 2:" not in out
    assert "NIK harus 16 angka" in out and "sponsor_code 'XX'" in out
    assert "programs harus 2 atau 3" in out and "valid_to lebih awal" in out
    assert entries(app) == 0
    assert import_events(app) == []


def test_only_the_first_50_errors_are_listed_with_the_total(app, runner, tmp_path):
    text = HEADER + "".join(f"{NIK_A},ZZ,Pemprov,2,2025-11-01,2026-12-31\n" for _ in range(120))
    result = cli(app, runner, ["import-sponsored", str(write(tmp_path, text))])
    assert result.exit_code == 1
    assert "120 baris salah" in result.output and "70 kesalahan lain" in result.output
    assert result.output.count("Baris ") == 50
    assert "Baris 51:" in result.output and "Baris 52:" not in result.output


@pytest.mark.parametrize("header", [
    "nik,sponsor,sponsor_name,programs,valid_from,valid_to\n",
    "nik;sponsor_code;sponsor_name;programs;valid_from;valid_to\n",
    "sponsor_code,nik,sponsor_name,programs,valid_from,valid_to\n",
    "",
])
def test_a_wrong_header_is_refused_with_the_expected_one(app, runner, tmp_path, header):
    text = header + f"{NIK_A},SG,Pemprov,2,2025-11-01,2026-12-31\n" if header else ""
    result = cli(app, runner, ["import-sponsored", str(write(tmp_path, text))])
    assert result.exit_code == 1
    assert "nik,sponsor_code,sponsor_name,programs,valid_from,valid_to" in result.output
    assert entries(app) == 0


def test_a_latin1_file_is_refused_and_changes_nothing(app, runner, tmp_path):
    text = HEADER + f"{NIK_A},SG,Pemerintah Desa Cibeureum – Garüt,2,2025-11-01,2026-12-31\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes(text.replace("–", "-").encode("latin-1"))
    result = cli(app, runner, ["import-sponsored", str(path)])
    assert result.exit_code == 1
    assert "bukan teks UTF-8" in result.output
    assert entries(app) == 0 and import_events(app) == []


def _generated_rows(count: int):
    """`count` distinct valid NIKs: serials 1–9999 over consecutive birth dates."""
    born = date(1970, 1, 1).toordinal()
    for i in range(count):
        birth = date.fromordinal(born + i // 9999)
        yield f"{nik_for(birth, 'M', i % 9999 + 1)},SG,Pemprov Jawa Barat,2,2025-11-01,2026-12-31\n"


@pytest.mark.slow
def test_importing_200000_rows_stays_in_bounded_memory(app, tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(HEADER)
        handle.writelines(_generated_rows(200_000))
    size = path.stat().st_size

    # What holding the parsed file would cost, for comparison.
    tracemalloc.start()
    with path.open(newline="", encoding="utf-8") as handle:
        loaded = list(csv.reader(handle))
    _, loading_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del loaded

    with app.app_context():
        tracemalloc.start()
        with path.open("rb") as handle:
            result = import_sponsored(db.session, handle, actor=SYSTEM, source_name="big.csv")
        _, import_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert (result.rows, result.added) == (200_000, 200_000)
        assert db.session.scalar(select(func.count()).select_from(SponsoredEntry)) == 200_000
    # One batch of ~5,000 rows at a time: the peak does not grow with the file.
    assert import_peak < loading_peak / 4, (import_peak, loading_peak, size)


# --- admin upload -------------------------------------------------------------------------

def upload(client, content: bytes, name: str = "list.csv"):
    token = csrf_token(client, "/admin/sponsored")
    return client.post("/admin/sponsored", data={"csrf_token": token,
                                                 "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


@pytest.mark.both_backends
def test_admin_upload_imports_and_shows_counts(app, client, auth, backend):
    auth.login("admin")
    page = client.get("/admin/sponsored").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    response = upload(client, GOOD.encode())
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 baris dibaca: 2 baru" in page
    assert definitions(page)["Jumlah entri"] == "2"
    response = upload(client, GOOD.encode())
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 baris dibaca: 0 baru, 2 sudah ada, 0 diperbarui." in page
    assert entries(app) == 2


def test_admin_upload_with_bad_rows_is_422_with_line_numbers(app, client, auth):
    auth.login("admin")
    bad = GOOD + "3273011708851,SG,Pemprov,2,2025-11-01,2026-12-31\n"
    response = upload(client, bad.encode())
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Baris 4:" in html and "NIK harus 16 angka" in html
    assert entries(app) == 0


def test_admin_upload_wrong_encoding_header_or_missing_file_is_422(app, client, auth):
    auth.login("admin")
    assert "bukan teks UTF-8" in upload(client, (HEADER + f"{NIK_A},SG,Garüt,2,2025-11-01,2026-12-31\n")
                                        .encode("latin-1")).get_data(as_text=True)
    response = upload(client, b"a,b,c\n1,2,3\n")
    assert response.status_code == 422 and "Judul kolom salah" in response.get_data(as_text=True)
    token = csrf_token(client, "/admin/sponsored")
    response = client.post("/admin/sponsored", data={"csrf_token": token},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "Pilih berkas CSV" in response.get_data(as_text=True)
    assert entries(app) == 0


def test_only_admin_can_upload(client, auth):
    auth.login("supervisor1")
    assert client.get("/admin/sponsored").status_code == 403
    response = client.post("/admin/sponsored", data={"csrf_token": csrf_token(client, "/workers")})
    assert response.status_code == 403


# --- the public check and registration of listed workers -----------------------------------

def test_public_check_answers_from_imported_data(app, client, runner, tmp_path):
    cli(app, runner, ["import-sponsored", str(write(tmp_path, GOOD))])
    html = client.get(f"/sponsored?nik={NIK_A}").get_data(as_text=True)
    assert "Terdaftar sebagai penerima bantuan iuran" in html
    assert "Pemprov Jawa Barat (SG)" in html and "Desember 2026" in html
    html = client.get("/sponsored?nik=3273011708850999").get_data(as_text=True)
    assert "tidak ada dalam daftar" in html


def _list_worker(app, runner, tmp_path, nik: str, programs: int, first: date, last: date):
    text = HEADER + f"{nik},SG,Pemprov Jawa Barat,{programs},{first.isoformat()},{last.isoformat()}\n"
    result = cli(app, runner, ["import-sponsored", str(write(tmp_path, text, f"{nik}.csv"))])
    assert result.exit_code == 0, result.output


@pytest.mark.both_backends
def test_a_listed_two_program_worker_is_paid_by_the_sponsor_without_cash(app, client, auth, runner, tmp_path, backend):
    this_month = month_of(local_today("Asia/Jakarta"))
    nik = nik_for(date(1988, 4, 9), "M", 4321)
    _list_worker(app, runner, tmp_path, nik, 2, this_month, add_months(this_month, 5).replace(day=28))
    auth.login("agent1")
    response = register(client, nik=nik, birth_date="1988-04-09", sex="M", programs="2",
                        full_name="Ujang Sponsor")
    assert response.status_code == 303, response.get_data(as_text=True)
    worker_id = worker_id_from(response)
    page = client.get(f"/workers/{worker_id}").get_data(as_text=True)
    assert "Aktif" in page
    with app.app_context():
        worker = db.session.get(Worker, worker_id)
        assert worker.paid_through == add_months(this_month, 5)
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()
        assert db.session.get(AgentAccount, agent.id).cash_on_hand == 0
        assert db.session.scalar(select(func.count()).select_from(Collection).where(
            Collection.worker_id == worker_id)) == 0


@pytest.mark.both_backends
def test_a_listed_three_program_worker_pays_only_jht_for_sponsored_months(app, client, auth, runner, tmp_path, backend):
    this_month = month_of(local_today("Asia/Jakarta"))
    nik = nik_for(date(1979, 2, 3), "F", 4322)
    _list_worker(app, runner, tmp_path, nik, 2, this_month, add_months(this_month, 2))
    auth.login("agent1")
    response = register(client, nik=nik, birth_date="1979-02-03", sex="F", programs="3",
                        declared_income="1.000.000", occupation="pedagang", full_name="Imas Sponsor")
    assert response.status_code == 303, response.get_data(as_text=True)
    worker_id = worker_id_from(response)
    with app.app_context():
        assert db.session.get(Worker, worker_id).paid_through is None  # JHT is still owed
    response = issue_bill(client, worker_id, 3)
    assert response.status_code == 303, response.get_data(as_text=True)
    code = bill_code_from(response)
    # JHT is 2% of Rp1.000.000 = Rp20.000 a month; JKK and JKM are the sponsor's.
    assert amount_of_bill(client, code) == 3 * 20_000
    assert "JKK+JKM dibayar sponsor" in client.get(f"/bills/{code}").get_data(as_text=True)


def test_a_sponsor_that_also_pays_jht_covers_a_three_program_worker(app, client, auth, runner, tmp_path):
    this_month = month_of(local_today("Asia/Jakarta"))
    nik = nik_for(date(1983, 6, 7), "M", 4323)
    _list_worker(app, runner, tmp_path, nik, 3, this_month, add_months(this_month, 2))
    auth.login("agent1")
    response = register(client, nik=nik, birth_date="1983-06-07", sex="M", programs="3",
                        full_name="Odih Sponsor")
    assert response.status_code == 303, response.get_data(as_text=True)
    worker_id = worker_id_from(response)
    with app.app_context():
        assert db.session.get(Worker, worker_id).paid_through == add_months(this_month, 2)
    # The next bill starts after the sponsored run and is priced in full.
    response = issue_bill(client, worker_id, 1)
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(f"/bills/{bill_code_from(response)}").get_data(as_text=True)
    assert "dibayar sponsor" not in page


def test_admin_upload_may_be_larger_than_the_app_wide_limit(app, client, auth):
    """A big list is more than MAX_CONTENT_LENGTH (8 MB); only this upload may exceed it."""
    auth.login("admin")
    assert app.config["MAX_CONTENT_LENGTH"] < 9 * 1024 * 1024
    big = ("wrong,header\n" + "x" * 99 + "\n") * (9 * 1024 * 1024 // 113)
    response = upload(client, big.encode())
    assert response.status_code == 422  # read and refused for its header, not 413
    assert "Judul kolom salah" in response.get_data(as_text=True)
    token = csrf_token(client, "/admin")
    response = client.post("/admin/branches", data={"csrf_token": token, "name": "x" * (9 * 1024 * 1024)})
    assert response.status_code == 413  # everywhere else the limit holds


@pytest.mark.both_backends
def test_a_sponsor_run_right_after_the_paid_months_is_marked_at_the_payment(
        app, client, auth, runner, tmp_path, backend):
    """A worker listed from next month on pays this month in cash; the payment marks the
    sponsored months after it too. A worker never listed pays without the list being read."""
    this_month = month_of(local_today("Asia/Jakarta"))
    nik = nik_for(date(1986, 1, 5), "M", 4324)
    _list_worker(app, runner, tmp_path, nik, 2, add_months(this_month, 1),
                 add_months(this_month, 3))
    auth.login("agent1")
    response = register(client, nik=nik, birth_date="1986-01-05", sex="M", programs="2",
                        full_name="Asep Sponsor")
    assert response.status_code == 303, response.get_data(as_text=True)
    worker_id = worker_id_from(response)
    with app.app_context():  # this month is not the sponsor's: nothing is marked yet
        assert db.session.get(Worker, worker_id).paid_through is None
    paid = _pay(client, worker_id)
    assert paid["listed"] == 1
    with app.app_context():
        assert db.session.get(Worker, worker_id).paid_through == add_months(this_month, 3)

    response = register(client, nik=nik_for(date(1987, 2, 6), "M", 4325), birth_date="1987-02-06",
                        sex="M", programs="2", full_name="Ujang Tunai")
    assert response.status_code == 303, response.get_data(as_text=True)
    other = worker_id_from(response)
    assert _pay(client, other)["listed"] == 0
    with app.app_context():
        assert db.session.get(Worker, other).paid_through == this_month


def _pay(client, worker_id: int) -> dict:
    """Pay a one-month code for the worker: how many statements read the sponsor list then."""
    code = bill_code_from(issue_bill(client, worker_id, 1))
    form = dict(collect_form(client, code), amount=str(amount_of_bill(client, code)))
    with client.application.app_context():
        engine = db.engine
    reads = []

    def remember(conn, cursor, statement, *_):
        if statement.startswith("SELECT sponsored_entries."):
            reads.append(statement)
    event.listen(engine, "before_cursor_execute", remember)
    try:
        response = client.post("/collect", data=form)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    assert response.status_code == 303, response.get_data(as_text=True)
    return {"listed": len(reads)}
