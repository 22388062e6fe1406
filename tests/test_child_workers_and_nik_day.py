"""Issue 11, finding 12: the NIK's day field is 01-31 or 41-71, nothing else; a child does not
work (UU 13/2003 art. 68-69): under 15 is refused, 15-17 only once the agent confirms the
worker really works, and that confirmation is recorded."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from helpers import VALID, nik_for, register, worker_id_from
from markup import every, one, parse, text_of
from perisai.domain.checklist import BAD, MISSING, OK, age_on, check_registration
from perisai.domain.nik import validation_error
from perisai.extensions import db
from perisai.models import AuditEvent
from perisai.web import today
from test_domain_rates import book_from_seed

TODAY = date(2026, 11, 22)
BOOK = book_from_seed()


def check(**changes):
    return check_registration(dict(VALID, **changes), today=TODAY, rate_book=BOOK)


def item(result, key):
    return next((i for i in result.items if i.key == key), None)


@pytest.mark.parametrize("day", [81, 85, 91])
def test_a_day_field_of_81_to_91_is_not_a_nik(day):
    # python-stdnum reads the day modulo 40: 81 would pass as a woman born on the 1st.
    number = f"327301{day:02d}0895" + "0007"
    problem = validation_error(number)
    assert problem is not None and "41-71" in str(problem)


@pytest.mark.parametrize("day", [1, 12, 31, 41, 52, 71])
def test_real_day_fields_still_pass(day):
    assert validation_error(f"327301{day:02d}0895" + "0007") is None


def test_registration_refuses_a_nik_with_day_81():
    result = check(nik="3273018108950007", birth_date="1995-08-01", sex="F")
    assert item(result, "nik").state == BAD
    assert not result.complete


@pytest.mark.parametrize("years", [0, 10, 14])
def test_under_15_is_refused(years):
    born = date(TODAY.year - years, 3, 3)
    assert age_on(born, TODAY) == years
    result = check(nik=nik_for(born, "F", 7), birth_date=born.isoformat(), minor_works="y")
    age = item(result, "age")
    assert age.state == BAD and "15 tahun" in str(age.message)
    assert not result.complete


@pytest.mark.parametrize("years", [15, 16, 17])
def test_15_to_17_needs_the_agents_confirmation(years):
    born = date(TODAY.year - years, 3, 3)
    nik = nik_for(born, "F", 7)
    result = check(nik=nik, birth_date=born.isoformat())
    assert item(result, "age").state == OK
    line = item(result, "minor_works")
    assert line.state == MISSING and line.confirm_field == "minor_works"
    assert not result.complete
    confirmed = check(nik=nik, birth_date=born.isoformat(), minor_works="y")
    assert item(confirmed, "minor_works").state == OK
    assert confirmed.complete and confirmed.registration.minor_works_confirmed


def test_adults_have_no_confirmation_line():
    result = check()
    assert item(result, "minor_works") is None
    assert result.complete and not result.registration.minor_works_confirmed


def _minor(app, years: int = 16) -> dict:
    with app.test_request_context():
        local = today()
    born = date(local.year - years, 3, 3) if (local.month, local.day) >= (3, 3) \
        else date(local.year - years - 1, 3, 3)
    return {"nik": nik_for(born, "M", 31), "birth_date": born.isoformat(), "sex": "M",
            "full_name": "Dodi Pratama"}


def test_a_16_year_old_is_registered_only_with_the_box_ticked_and_it_is_recorded(app, client, auth):
    auth.login("agent1")
    minor = _minor(app)
    refused = register(client, **minor)
    assert refused.status_code == 422
    page = parse(refused)
    # The line and its checkbox are on the checklist, inside the form that is sent.
    box = one(page, 'form #checklist input[type="checkbox"][name="minor_works"]')
    assert not box.has_attr("checked")
    assert any("bawah 18 tahun" in text_of(li) for li in every(page, "#checklist li.missing"))

    accepted = register(client, **minor, minor_works="y")
    assert accepted.status_code == 303, accepted.get_data(as_text=True)
    worker_id = worker_id_from(accepted)
    with app.app_context():
        after = db.session.scalar(select(AuditEvent.after).where(
            AuditEvent.action == "worker.register", AuditEvent.object_id == str(worker_id)))
    assert json.loads(after)["minor_works_confirmed"] is True


def test_the_live_checklist_keeps_the_box_ticked(app, client, auth):
    auth.login("agent1")
    minor = _minor(app, 17)
    fragment = client.post("/workers/new/check", headers={"HX-Request": "true"},
                           data=dict(VALID, **minor, minor_works="y"))
    assert fragment.status_code == 200
    assert one(fragment, 'input[name="minor_works"]').has_attr("checked")


def test_a_14_year_old_is_refused_whatever_the_agent_ticks(app, client, auth):
    auth.login("agent1")
    refused = register(client, **_minor(app, 14), minor_works="y")
    assert refused.status_code == 422
    assert "tidak boleh bekerja" in text_of(one(refused, "#problems"))


def test_an_adults_audit_event_says_nothing_about_minors(app, client, auth):
    auth.login("agent1")
    response = register(client)
    assert response.status_code == 303
    with app.app_context():
        after = db.session.scalar(select(AuditEvent.after).where(
            AuditEvent.action == "worker.register",
            AuditEvent.object_id == str(worker_id_from(response))))
    assert "minor_works_confirmed" not in json.loads(after)
