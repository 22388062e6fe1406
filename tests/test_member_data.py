"""After registration (issue 12, items 1-5): the data update and its history, the change of heir
that waits for a supervisor, the digital card, the status by NIK and the program page."""
from __future__ import annotations

import gzip
import re
import sys
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from helpers import (VALID, amount_of_bill, bill_code_from, issue_bill, nik_for, paid_receipt,
                     public_slip_url, register, relogin, worker_id_from)
from markup import definitions, every, field_value, has, one, parse, text_of
from perisai.domain import clock
from perisai.extensions import db
from perisai.models import AuditEvent, Heir, HeirChange, Worker, WorkerChange

EDIT = {"phone": "0812 3456 7890", "address": "Jl. Dago 100, Bandung", "occupation": "pedagang",
        "occupation2": "", "declared_income": "1.000.000", "programs": "3",
        "heir_name": "Asep Marlina", "heir_relation": "suami"}  # = helpers.VALID's data


@pytest.fixture
def registered(client, auth):
    assert auth.login("agent1").status_code == 303
    response = register(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return worker_id_from(response)


def edit(client, worker_id: int, **changes):
    return client.post(f"/workers/{worker_id}/edit", data=dict(EDIT, **changes))


def rows(app, model, **where):
    with app.app_context():
        query = select(model).filter_by(**where)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


def history(page) -> list[list[str]]:
    """Each line of the data history: what, from, to, who (and when)."""
    return [[text_of(line.select_one(part)) for part in (".what", ".from", ".to", ".who")]
            for line in every(page, "#history li")]


# --- data update --------------------------------------------------------------------------------

def test_the_edit_form_shows_the_data_in_force(client, registered):
    page = parse(client.get(f"/workers/{registered}/edit"))
    assert field_value(page, "phone") == "0812 3456 7890".replace(" ", "")
    assert field_value(page, "address") == EDIT["address"]
    assert field_value(page, "occupation") == "pedagang"
    assert field_value(page, "declared_income") == "1000000"
    assert field_value(page, "programs") == "3"
    assert field_value(page, "heir_name") == "Asep Marlina"
    assert field_value(page, "heir_relation") == "suami"
    assert field_value(page, "nik") is None  # the identity on the KTP is not editable


def test_an_update_keeps_every_change_and_the_worker_page_shows_it(app, client, registered):
    response = edit(client, registered, phone="+62 813-1111-2222", address="Jl. Braga 5, Bandung",
                    declared_income="2.500.000")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/workers/{registered}")
    changes = rows(app, WorkerChange, worker_id=registered)
    assert {(c.field, c.old_value, c.new_value) for c in changes} == {
        ("phone", "081234567890", "081311112222"),
        ("address", "Jl. Dago 100, Bandung", "Jl. Braga 5, Bandung"),
        ("declared_income", "1000000", "2500000")}
    page = parse(client.get(f"/workers/{registered}"))
    facts = definitions(page)
    assert facts["HP"] == "081311112222" and facts["Penghasilan"] == "Rp2.500.000"
    lines = history(page)
    assert len(lines) == 3
    by_what = {line[0]: line for line in lines}
    assert by_what["Penghasilan sebulan"][1:3] == ["Rp1.000.000", "Rp2.500.000"]
    assert by_what["Nomor HP"][1:3] == ["081234567890", "081311112222"]
    assert all(line[3].startswith("Siti Aminah") for line in lines), lines  # who, and when
    assert all(re.search(r"\d\d-\d\d-\d{4} \d\d\.\d\d WIB", line[3]) for line in lines)
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.update")).one()
        assert event.object_id == str(registered) and "2500000" in event.after


def test_sending_the_same_data_again_records_nothing(app, client, registered):
    assert edit(client, registered).status_code == 303
    assert rows(app, WorkerChange, worker_id=registered) == []
    assert rows(app, HeirChange, worker_id=registered) == []
    assert not has(client.get(f"/workers/{registered}"), "#history")


@pytest.mark.parametrize("field, value, item", [
    ("phone", "12345", "Nomor HP aktif"),
    ("phone", "", "Nomor HP aktif"),
    ("address", "ab", "Alamat"),
    ("occupation", "astronot", "Pekerjaan dipilih"),
    ("declared_income", "900.000", "Penghasilan sebulan sesuai aturan"),
    ("declared_income", "1.050.000", "Penghasilan sebulan sesuai aturan"),
    ("programs", "4", "Program dipilih"),
    ("heir_name", "4sep", "Ahli waris"),
    ("heir_relation", "tetangga", "Ahli waris"),
])
def test_an_invalid_update_is_refused_with_the_registration_rules(app, client, registered, field,
                                                                  value, item):
    response = edit(client, registered, **{field: value})
    assert response.status_code == 422
    problems = [text_of(li) for li in every(response, "#problems li")]
    assert len(problems) == 1 and problems[0].startswith(item), problems
    assert rows(app, WorkerChange, worker_id=registered) == []
    assert rows(app, HeirChange, worker_id=registered) == []


def test_an_update_without_the_second_occupation_keeps_it(app, client, registered):
    assert edit(client, registered, occupation2="kurir").status_code == 303
    contract_fields = {name: value for name, value in EDIT.items() if name != "occupation2"}
    response = client.post(f"/workers/{registered}/edit",
                           data=dict(contract_fields, address="Jl. Riau 9, Bandung"))
    assert response.status_code == 303
    with app.app_context():
        worker = db.session.get(Worker, registered)
        assert (worker.occupation2, worker.address) == ("kurir", "Jl. Riau 9, Bandung")
        db.session.remove()


def test_an_htmx_update_answers_with_the_worker_page(client, registered):
    response = client.post(f"/workers/{registered}/edit", data=dict(EDIT, address="Jl. Riau 9, Bandung"),
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"/workers/{registered}"
    assert definitions(response)["Alamat"] == "Jl. Riau 9, Bandung"
    refused = client.post(f"/workers/{registered}/edit", data=dict(EDIT, phone="x"),
                          headers={"HX-Request": "true"})
    assert refused.status_code == 422 and has(refused, "#problems")


# --- prices from the new data ----------------------------------------------------------------

class PinnedClock:
    def __init__(self, instant: datetime):
        self.instant = instant

    def __call__(self) -> datetime:
        return self.instant


@pytest.fixture
def december_2026(monkeypatch):
    """The app's clock at 3 December 2026, 10:00 WIB (the discounts of PP 50/2025 run then)."""
    real = clock.utcnow
    pinned = PinnedClock(datetime(2026, 12, 3, 3, 0))
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("perisai") and \
                getattr(module, "utcnow", None) is real:
            monkeypatch.setattr(module, "utcnow", pinned)
    return pinned


def month_price(month: date, *, income: int, programs: int, transport: bool) -> int:
    """DESIGN §2, written out: JKK 1%, JKM Rp6.800, JHT 2%; 50% off JKK and JKM in April-December
    2026 for everyone and January 2026-March 2027 for transport workers."""
    jkk, jkm, jht = income // 100, 6_800, (income * 2 // 100 if programs == 3 else 0)
    discounted = date(2026, 4, 1) <= month <= date(2026, 12, 1) or (
        transport and date(2026, 1, 1) <= month <= date(2027, 3, 1))
    if discounted:
        jkk, jkm = jkk // 2, jkm // 2
    return jkk + jkm + jht


def bill_price(first: date, months: int, **data) -> int:
    return sum(month_price(date(first.year + (first.month - 1 + i) // 12,
                                (first.month - 1 + i) % 12 + 1, 1), **data) for i in range(months))


def test_new_codes_use_the_new_data_and_an_open_code_keeps_its_amount(client, registered,
                                                                      december_2026):
    december = date(2026, 12, 1)
    open_code = bill_code_from(issue_bill(client, registered, 6))
    assert amount_of_bill(client, open_code) == bill_price(
        december, 6, income=1_000_000, programs=3, transport=False)
    assert edit(client, registered, declared_income="2.000.000", programs="2").status_code == 303
    assert amount_of_bill(client, open_code) == bill_price(
        december, 6, income=1_000_000, programs=3, transport=False)  # 180.400, kept
    new_code = bill_code_from(issue_bill(client, registered, 6))
    assert amount_of_bill(client, new_code) == bill_price(
        december, 6, income=2_000_000, programs=2, transport=False) == 10_000 + 3_400 + 5 * 26_800


@pytest.mark.parametrize("months, before, after", [
    # December 2026 is discounted for everyone: a 1-month code does not move.
    (1, 8_400, 8_400),
    # January-March 2027 only for transport: the edge of the discount moves by three months.
    (3, 8_400 + 2 * 16_800, 3 * 8_400),
    (6, 8_400 + 5 * 16_800, 4 * 8_400 + 2 * 16_800),
    (12, 8_400 + 11 * 16_800, 4 * 8_400 + 8 * 16_800),
])
def test_a_change_to_a_transport_occupation_moves_the_discount_edge(client, registered,
                                                                    december_2026, months,
                                                                    before, after):
    assert edit(client, registered, programs="2").status_code == 303
    code = bill_code_from(issue_bill(client, registered, months))
    assert amount_of_bill(client, code) == before
    assert edit(client, registered, programs="2", occupation="ojek").status_code == 303
    assert amount_of_bill(client, code) == before  # the open code keeps its amount
    code = bill_code_from(issue_bill(client, registered, months))
    assert amount_of_bill(client, code) == after
    # A transport occupation as the second one counts as well; back to none, back to the price.
    assert edit(client, registered, programs="2", occupation="petani",
                occupation2="kurir").status_code == 303
    assert amount_of_bill(client, bill_code_from(issue_bill(client, registered, months))) == after
    assert edit(client, registered, programs="2", occupation="petani").status_code == 303
    assert amount_of_bill(client, bill_code_from(issue_bill(client, registered, months))) == before


# --- a change of heir needs a second person --------------------------------------------------

def heir_facts(page) -> tuple[str, bool]:
    heir = one(page, "#heir")
    return text_of(heir), has(heir, "#pending-heir")


def test_a_change_of_heir_waits_for_the_branch_supervisor(app, client, auth, registered):
    assert edit(client, registered, heir_name="Nur Aini", heir_relation="anak").status_code == 303
    assert [(h.name, h.relation) for h in rows(app, Heir, worker_id=registered)] == [
        ("Asep Marlina", "suami")]  # unchanged until a supervisor approves
    shown, pending = heir_facts(client.get(f"/workers/{registered}"))
    assert pending and shown.startswith("Asep Marlina (suami)") and "Nur Aini (anak)" in shown
    assert "menunggu persetujuan" in shown
    change = rows(app, HeirChange, worker_id=registered)[0]
    # The agent who asked cannot decide it, nor can a supervisor of another branch.
    assert client.post(f"/heir-changes/{change.id}/approve", data={"note": "x"}).status_code == 403
    relogin(client, auth, "supervisor2")
    assert client.post(f"/heir-changes/{change.id}/approve", data={"note": "x"}).status_code == 404
    relogin(client, auth, "supervisor1")
    queue = client.get("/supervisor")
    item = one(queue, f"#heir-change-{change.id}")
    assert definitions(item)["Diganti menjadi"] == "Nur Aini (anak)"
    assert has(queue, f"#queue #heir-change-{change.id}")
    response = client.post(f"/heir-changes/{change.id}/approve",
                           data={"note": "Dikonfirmasi lewat telepon", "next": "/supervisor"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/supervisor")
    assert [(h.name, h.relation) for h in rows(app, Heir, worker_id=registered)] == [
        ("Nur Aini", "anak")]
    decided = rows(app, HeirChange, id=change.id)[0]
    assert decided.status == "approved" and decided.decision_note == "Dikonfirmasi lewat telepon"
    page = client.get(f"/workers/{registered}")
    shown, pending = heir_facts(page)
    assert shown == "Nur Aini (anak)" and not pending
    assert history(page) == [["Ahli waris", "Asep Marlina (suami)", "Nur Aini (anak)",
                              history(page)[0][3]]]
    assert re.match(r"Siti Aminah, disetujui Dewi Lestari, \d\d-\d\d-\d{4} \d\d\.\d\d WIB$", history(page)[0][3])
    again = client.post(f"/heir-changes/{change.id}/reject", data={"note": "x"})
    assert again.status_code == 409
    assert not has(client.get("/supervisor"), f"#heir-change-{change.id}")


def test_a_rejected_change_of_heir_leaves_the_heir(app, client, auth, registered):
    assert edit(client, registered, heir_name="Siti Aminah", heir_relation="lainnya").status_code == 303
    change = rows(app, HeirChange, worker_id=registered)[0]
    relogin(client, auth, "supervisor1")
    response = client.post(f"/heir-changes/{change.id}/reject",
                           data={"note": "Pekerja tidak mengenal nama ini"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    item = one(response, f"#heir-change-{change.id}")
    assert "Ditolak" in definitions(item)["Status"] and not has(item, "form")
    assert [(h.name, h.relation) for h in rows(app, Heir, worker_id=registered)] == [
        ("Asep Marlina", "suami")]
    assert rows(app, WorkerChange, worker_id=registered) == []
    page = client.get(f"/workers/{registered}")
    shown, pending = heir_facts(page)
    assert shown == "Asep Marlina (suami)" and not pending
    request = [text_of(cell) for cell in one(page, "#heir-requests tbody tr").select("td")]
    assert request[0].startswith("Siti Aminah (lainnya)") and request[1].startswith("Ditolak")
    assert request[2] == "Pekerja tidak mengenal nama ini"


def test_asking_again_withdraws_the_waiting_request(app, client, auth, registered):
    assert edit(client, registered, heir_name="Nur Aini", heir_relation="anak").status_code == 303
    first = rows(app, HeirChange, worker_id=registered)[0]
    # The edit form offers the heir asked for; sending it unchanged asks nothing new.
    assert field_value(client.get(f"/workers/{registered}/edit"), "heir_name") == "Nur Aini"
    assert edit(client, registered, heir_name="Nur Aini", heir_relation="anak").status_code == 303
    assert len(rows(app, HeirChange, worker_id=registered)) == 1
    assert edit(client, registered, heir_name="Nur Aini Putri", heir_relation="anak").status_code == 303
    states = {c.id: c.status for c in rows(app, HeirChange, worker_id=registered)}
    assert states[first.id] == "withdrawn" and sorted(states.values()) == ["pending", "withdrawn"]
    relogin(client, auth, "supervisor1")
    assert client.post(f"/heir-changes/{first.id}/approve", data={}).status_code == 409
    # Back to the heir in force: nothing waits any more.
    relogin(client, auth, "agent1")
    assert edit(client, registered).status_code == 303
    assert {c.status for c in rows(app, HeirChange, worker_id=registered)} == {"withdrawn"}


def test_the_supervisor_decides_from_the_worker_page_too(app, client, auth, registered):
    assert edit(client, registered, heir_name="Nur Aini", heir_relation="anak").status_code == 303
    change = rows(app, HeirChange, worker_id=registered)[0]
    relogin(client, auth, "supervisor1")
    page = client.get(f"/workers/{registered}")
    assert field_value(one(page, f"#heir-change-{change.id}"), "next") == f"/workers/{registered}"
    response = client.post(f"/heir-changes/{change.id}/approve",
                           data={"next": f"/workers/{registered}"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/workers/{registered}")


@pytest.mark.both_backends
def test_the_database_keeps_one_pending_change_and_maker_apart_from_checker(app, client, registered):
    from sqlalchemy.exc import IntegrityError
    assert edit(client, registered, heir_name="Nur Aini", heir_relation="anak").status_code == 303
    with app.app_context():
        change = db.session.scalars(select(HeirChange)).one()
        db.session.add(HeirChange(worker_id=change.worker_id, branch_id=change.branch_id,
                                  old_name="a", old_relation="anak", new_name="b",
                                  new_relation="anak", requested_by_id=change.requested_by_id,
                                  status="pending"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        change = db.session.scalars(select(HeirChange)).one()
        change.decided_by_id = change.requested_by_id
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.remove()


# --- the digital card ---------------------------------------------------------------------------

def card_path(client, worker_id: int) -> str:
    href = one(client.get(f"/workers/{worker_id}"), "a#card-link")["href"]
    assert re.match(r"http://perisai\.test/card/[\w.-]+$", href), href
    return href.removeprefix("http://perisai.test")


def test_the_card_shows_the_member_and_a_qr_to_itself(app, client, auth, registered):
    path = card_path(client, registered)
    auth.logout()
    page = client.get(path)
    assert page.status_code == 200
    facts = definitions(one(page, "#member-card"))
    with app.app_context():
        worker = db.session.get(Worker, registered)
        number, nik = worker.member_number, worker.nik
    assert facts["Nama"] == "Rina Marlina" and facts["No. peserta"] == number
    assert facts["NIK"].endswith(nik[-4:]) and nik not in page.get_data(as_text=True)
    assert facts["Program"] == "JKK, JKM, JHT" and facts["Cabang"] == "Kantor Cabang Bandung Suci"
    assert re.fullmatch(r"\d\d-\d\d-\d{4}", facts["Terdaftar"])
    assert facts["Status"].startswith("Menunggu pembayaran pertama")  # registered, not paid yet
    assert has(page, "#member-card .qr svg")
    # Print on the 58 mm printer, or on A4 to cut out; share.
    assert has(page, "button[data-print]")
    assert one(page, 'a[href*="size=a4"]')["href"].endswith("?size=a4")
    assert has(client.get(path + "?size=a4"), ".sheet-a4 #member-card")
    assert one(page, "a[data-share]")["data-share"] == "http://perisai.test" + path


def test_the_card_is_shared_by_whatsapp_with_the_workers_number(client, registered):
    link = one(client.get(f"/workers/{registered}"), "a#card-share")["href"]
    assert link.startswith("https://wa.me/6281234567890?text=")
    assert "%2Fcard%2F" in link


def test_a_forged_or_slip_token_opens_no_card(client, registered):
    path = card_path(client, registered)
    token = path.split("/card/", 1)[1]
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    assert client.get(f"/card/{tampered}").status_code == 404
    assert client.get("/card/not-a-token").status_code == 404
    receipt, _ = paid_receipt(client, nik=nik_for(date(1990, 3, 4), "M", 321), sex="M",
                              birth_date="1990-03-04", full_name="Budi Santoso")
    slip_token = public_slip_url(client.get(f"/receipts/{receipt}")).split("/s/", 1)[1]
    assert client.get(f"/card/{slip_token}").status_code == 404  # another salt


def test_the_slip_links_the_card_and_prints_the_program_line(client, auth):
    assert auth.login("agent1").status_code == 303
    receipt, _ = paid_receipt(client)
    slip_url = public_slip_url(client.get(f"/receipts/{receipt}"))
    auth.logout()
    slip = client.get(slip_url.removeprefix("http://perisai.test"))
    card = one(slip, "a.card-link")["href"]
    assert client.get(card.removeprefix("http://perisai.test")).status_code == 200
    line = text_of(one(slip, ".slip .program-line"))
    assert "/program" in line and "175" in line


# --- the status by NIK ------------------------------------------------------------------------

def test_the_status_by_nik_shows_the_last_4_digits_only(app, client, auth, registered):
    with app.app_context():
        number = db.session.get(Worker, registered).member_number
    auth.logout()
    response = client.get(f"/status?nik={VALID['nik']}&birth_date={VALID['birth_date']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert number not in html and number not in html.replace(" ", "")
    result = one(response, "#status-result")
    facts = definitions(result)
    assert facts["No. peserta"] == "•" * 7 + number[-4:]
    assert facts["Agen"] == "Siti Aminah" and facts["Cabang"] == "Kantor Cabang Bandung Suci"
    assert facts["Nama"] == "R*** M******"
    assert "kantor cabang" in text_of(one(result, "#full-number-help"))
    assert VALID["nik"] not in html and VALID["birth_date"] not in html  # not printed back


def test_a_wrong_birth_date_and_an_unknown_nik_answer_alike(client, auth, registered):
    auth.logout()
    client.get("/cek")  # shows (and so clears) the logout message
    wrong_birth = client.get(f"/status?nik={VALID['nik']}&birth_date=1995-08-13")
    unknown = client.get(f"/status?nik={nik_for(date(1995, 8, 12), 'F', 9999)}&birth_date=1995-08-12")
    no_birth = client.get(f"/status?nik={VALID['nik']}&birth_date=")
    assert wrong_birth.status_code == unknown.status_code == no_birth.status_code == 404
    # The same page, byte for byte, but for the CSRF token (signed with the time of the request).
    same = [re.sub(r'"X-CSRFToken": "[^"]+"|name="csrf_token" value="[^"]+"', "TOKEN",
                   response.get_data(as_text=True)) for response in (wrong_birth, unknown, no_birth)]
    assert same[0] == same[1] == same[2]
    assert not has(wrong_birth, "#status-result")
    bad = client.get("/status?nik=12345&birth_date=1995-08-12")
    assert bad.status_code == 422 and "12345" not in bad.get_data(as_text=True)


def test_the_status_by_member_number_is_unchanged(app, client, auth, registered):
    with app.app_context():
        number = db.session.get(Worker, registered).member_number
    auth.logout()
    response = client.get(f"/status?member={number}&birth_date={VALID['birth_date']}")
    assert response.status_code == 200
    assert definitions(one(response, "#status-result"))["No. peserta"] == number


# --- what the programs cover ------------------------------------------------------------------

def test_the_program_page_is_small_and_names_the_channels(client):
    response = client.get("/program")
    assert response.status_code == 200
    body = response.get_data()
    assert len(gzip.compress(body)) <= 8 * 1024
    page = parse(response)
    for section in ("#jkk", "#jkm", "#jht", "#accident", "#death", "#contacts"):
        assert has(page, section), section
    contacts = text_of(one(page, "#contacts"))
    assert "175" in contacts and "JMO" in contacts and "care@bpjsketenagakerjaan.go.id" in contacts
    assert "Pengkinian Data" in text_of(one(page, "#accident"))


@pytest.mark.parametrize("path", ["/cek", "/verify", "/status", "/sponsored", "/program", "/login"])
def test_every_public_page_links_the_program_page(client, path):
    assert one(client.get(path), "a#program-link")["href"] == "/program"


def test_public_pages_with_a_token_link_the_program_page(client, auth, registered):
    card = card_path(client, registered)
    auth.logout()
    assert one(client.get(card), "a#program-link")["href"] == "/program"
