"""Issue 13 over HTTP and in the domain: the birth date in three boxes, the notes next to each
registration field (with and without htmx), the months with their prices, the worker's phone."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from conftest import csrf_token
from helpers import VALID, amount_of_bill, bill_code_from, issue_bill, register, worker_id_from
from markup import every, field_value, one, parse, text_of
from perisai.domain.checklist import FORM_ORDER, check_registration, field_notes, reached_fields, summary
from perisai.domain.inputs import join_birth_date, whatsapp_number
from perisai.extensions import db
from perisai.models import Worker
from test_domain_rates import book_from_seed

HX = {"HX-Request": "true"}
TODAY = date(2026, 12, 3)


@pytest.mark.parametrize("parts, joined", [
    (("17", "8", "1985"), "1985-08-17"),
    (("5", "03", "1990"), "1990-03-05"),
    ((" 05 ", "3", "1990"), "1990-03-05"),
    (("", "", ""), ""),
    (("17", "8", ""), ""),          # still being typed: nothing to check yet
    (("17", "8", "85"), "?"),       # a two-digit year is refused, not guessed
    (("1a", "8", "1985"), "?"),
    (("١٧", "8", "1985"), "?"),     # digits of another script
    (("170", "8", "1985"), "?"),
])
def test_join_birth_date(parts, joined):
    assert join_birth_date(*parts) == joined


@pytest.mark.parametrize("phone, number", [
    ("0812 3456 7890", "6281234567890"), ("+62 812-3456-7890", "6281234567890"),
    ("081234567801", "6281234567801"), ("022 123456", None), ("", None), (None, None),
])
def test_whatsapp_number(phone, number):
    assert whatsapp_number(phone) == number


def _notes(raw: dict, submitted: bool = False):
    result = check_registration(raw, today=TODAY, rate_book=book_from_seed())
    return result, field_notes(result, raw, submitted), summary(result, raw, submitted)


def test_notes_say_nothing_about_fields_not_reached():
    result, notes, said = _notes({"nik": "327301520895"})
    assert [note.message for note in notes["nik"]][0].params == {"typed": 12}
    assert all(not notes[name] for name in FORM_ORDER if name != "nik")
    assert said.to_fix == [] and said.still_empty == len(result.problems) - 4  # 4 compare two fields


def test_a_field_passed_on_the_way_down_gets_its_note_but_tick_boxes_wait():
    raw = {"nik": VALID["nik"], "phone": "0812 3456 7890"}  # name, birth date, sex skipped
    assert reached_fields(raw, False) == {"nik", "full_name", "birth_date", "sex", "phone"}
    _, notes, said = _notes(raw)
    assert [str(n.message) for n in notes["full_name"]] == ["Isi nama lengkap sesuai KTP."]
    assert notes["doc_ktp"] == [] and notes["address"] == []
    assert {item.key for item, _ in said.to_fix} == {"full_name", "birth_date", "sex"}


def test_after_a_submit_every_field_is_reached_and_a_wrong_match_is_said_at_once():
    raw = dict(VALID, birth_date="1995-08-13", consent="")
    _, notes, said = _notes(raw)
    assert [n.state for n in notes["birth_date"]] == ["bad"]  # the NIK says the 12th
    assert notes["consent"] == []
    _, notes, said = _notes(raw, submitted=True)
    assert [n.state for n in notes["consent"]] == ["missing"]
    assert {item.key for item, _ in said.to_fix} == {"nik_birth_date", "consent"}


def test_registration_from_three_birth_date_boxes(app, client, auth):
    auth.login("agent1")
    data = {key: value for key, value in VALID.items() if key != "birth_date"}
    response = register(client, birth_date="", birth_day="12", birth_month="8", birth_year="1995",
                        **{k: v for k, v in data.items() if k != "nik"}, nik=VALID["nik"])
    assert response.status_code == 303, response.get_data(as_text=True)[:400]
    with app.app_context():
        worker = db.session.scalars(select(Worker).where(Worker.nik == VALID["nik"])).one()
        assert worker.birth_date == date(1995, 8, 12)
        db.session.remove()


def test_a_refused_registration_says_each_problem_under_its_field_without_javascript(client, auth):
    auth.login("agent1")
    response = register(client, birth_date="", birth_day="13", birth_month="08",
                        birth_year="1995", phone="12345", consent="")
    assert response.status_code == 422
    page = parse(response)
    assert "Tanggal lahir tidak cocok dengan NIK" in text_of(one(page, "#birth_date-msg"))
    assert "Nomor HP tidak seperti nomor seluler" in text_of(one(page, "#phone-msg"))
    assert "Bacakan pernyataan persetujuan" in text_of(one(page, "#consent-msg"))
    assert text_of(one(page, "#nik-msg")) == "" and text_of(one(page, "#address-msg")) == ""
    assert one(page, "#phone").get("aria-invalid") == "true"
    assert one(page, "#nik").get("aria-invalid") is None
    # The typed boxes come back as typed, and the summary by the button links to the fields.
    assert field_value(page, "birth_day") == "13" and field_value(page, "birth_year") == "1995"
    links = [a["href"] for a in every(page, "#checklist ul.to-fix a")]
    assert "#birth_day" in links and "#phone" in links and "#consent" in links


def test_the_live_check_sends_each_fields_note_out_of_band(client, auth):
    auth.login("agent1")
    token = csrf_token(client, "/workers/new")
    response = client.post("/workers/new/check", headers=HX, data={
        "csrf_token": token, "nik": VALID["nik"], "full_name": "Rina 2"})
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="checklist"')
    notes = {tag["id"]: tag for tag in every(body, "[hx-swap-oob]")}
    assert "full_name-msg" in notes and "Nama hanya boleh" in text_of(notes["full_name-msg"])
    assert text_of(notes["phone-msg"]) == "" and text_of(notes["consent-msg"]) == ""
    # Every note it sends has its place on the form (htmx would log a missing target).
    form = client.get("/workers/new").get_data(as_text=True)
    for note_id in notes:
        assert one(form, f"#{note_id}")


def test_the_months_show_the_price_each_code_would_have(app, client, auth):
    auth.login("agent1")
    worker = worker_id_from(register(client))
    page = parse(client.get(f"/workers/{worker}"))
    shown = {choice.find("input")["value"]: text_of(choice.find("b"))
             for choice in every(page, "#billing label.choice")}
    assert list(shown) == ["1", "3", "6", "12"]
    assert one(page, '#billing input[name="months"][checked]')["value"] == "1"
    for months in ("3", "1"):
        code = bill_code_from(issue_bill(client, worker, int(months)))
        assert f"Rp{amount_of_bill(client, code):,}".replace(",", ".") == shown[months]


def test_the_worker_page_links_the_phone_and_whatsapp(client, auth):
    auth.login("agent1")
    worker = worker_id_from(register(client))
    page = parse(client.get(f"/workers/{worker}"))
    assert one(page, 'a[href="tel:+6281234567890"]')
    assert one(page, '#card-share[href^="https://wa.me/6281234567890?text="]')
