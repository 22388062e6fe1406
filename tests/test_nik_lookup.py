"""Issue 11, finding 4: the registration check tells an agent of another branch only that the NIK
is registered elsewhere and whom to ask (no branch, agent, member number or date); each agent
may look up a limited number of different NIKs, and going past it is written to the audit
trail."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from conftest import Auth
from helpers import VALID, nik_for, register, worker_id_from
from markup import every, text_of
from perisai.domain.months import add_months, month_of
from perisai.extensions import db
from perisai.models import AuditEvent, Worker
from test_login_abuse import make_app  # noqa: F401


def login(app, username: str):
    client = app.test_client()
    assert Auth(client).login(username).status_code == 303
    return client


def check_line(client, nik: str, **fields) -> tuple[int, str, str]:
    """(status, state, text) of the "NIK belum terdaftar" line of the live checklist."""
    response = client.post("/workers/new/check", headers={"HX-Request": "true"},
                           data=dict(VALID, nik=nik, **fields))
    items = every(response, "#checklist ul.checklist li")
    found = [li for li in items if "terdaftar" in text_of(li) or "didaftarkan ulang" in text_of(li)]
    assert len(found) == 1, [text_of(li) for li in items]
    return response.status_code, " ".join(found[0].get("class", [])), text_of(found[0])


@pytest.fixture
def registered(app):
    """Rina, registered by agent1 in Bandung Suci (BDG01)."""
    client = login(app, "agent1")
    response = register(client)
    assert response.status_code == 303
    with app.app_context():
        worker = db.session.get(Worker, worker_id_from(response))
        return worker.member_number, worker.branch.name


@pytest.mark.both_backends
def test_another_branch_learns_only_that_the_nik_is_registered_elsewhere(app, registered):
    number, branch = registered
    status, state, line = check_line(login(app, "agent3"), VALID["nik"])  # Makassar
    assert state == "bad"
    assert "kantor cabang lain" in line and "pengawas cabang Anda" in line and "175" in line
    digits_shown = line.replace("175", "")  # the Care line's number is meant to be there
    for secret in (branch, "Bandung", "agent1", number):
        assert secret not in line, secret
    for part in (number[:3], number[-3:]):
        assert part not in digits_shown, part
    register_page = register(login(app, "agent3"))
    assert register_page.status_code == 422
    page = register_page.get_data(as_text=True)
    # As the number would be shown (masked, "123…789") or whole; its last three digits alone
    # also occur by chance elsewhere in a page (e.g. "40[1349]" in the htmx settings).
    for secret in (branch, number, number[:3] + "…", "…" + number[-3:]):
        assert secret not in page, secret


def test_the_same_branch_still_sees_who_registered_it(app, registered):
    number, branch = registered
    _, state, line = check_line(login(app, "agent2"), VALID["nik"])  # also Bandung Suci
    assert state == "bad" and branch in line and f"{number[:3]}…{number[-3:]}" in line


def test_a_lapsed_member_elsewhere_shows_no_number_or_date(app, registered):
    with app.app_context():
        worker = db.session.scalars(select(Worker).where(Worker.nik == VALID["nik"])).one()
        worker.first_month = add_months(month_of(date.today()), -8)
        worker.paid_through = None
        db.session.commit()
    number, _ = registered
    _, state, line = check_line(login(app, "agent3"), VALID["nik"])
    assert state == "ok" and "kantor cabang lain" in line and "diaktifkan kembali" in line
    assert number[-3:] not in line.replace("175", "") and "sejak" not in line


def probe_niks(count: int) -> list[str]:
    return [nik_for(date(1990, 1, 1 + n % 28), "M", 100 + n) for n in range(count)]


def test_an_agent_looking_up_too_many_niks_is_stopped_and_audited(make_app):
    app = make_app(RATELIMIT_LOGIN="1000 per minute", RATELIMIT_NIK_CHECK="5 per minute")
    probe = login(app, "agent3")
    niks = probe_niks(8)
    answers = [check_line(probe, nik) for nik in niks]
    assert [state for _, state, _ in answers[:5]] == ["ok"] * 5
    for status, state, line in answers[5:]:
        assert state == "bad" and "Terlalu banyak NIK" in line
    # Checking an allowed NIK again (the agent typing the rest of the form) does not count.
    assert check_line(probe, niks[0])[1] == "ok"
    # The submission is refused with 429 and looks nothing up either.
    refused = probe.post("/workers/new", data=dict(VALID, nik=niks[6], birth_date="1990-01-07",
                                                    full_name="Budi Santoso", sex="M"))
    assert refused.status_code == 429
    with app.app_context():
        audited = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "nik_check.limited")).all()
        assert [(event.actor, event.object_id) for event in audited] == [("agent3", str(
            audited[0].actor_id))]
    # Another agent is not affected.
    assert check_line(login(app, "agent1"), niks[7])[1] == "ok"


def test_an_agent_registering_steadily_is_not_stopped(make_app):
    app = make_app(RATELIMIT_LOGIN="1000 per minute", RATELIMIT_NIK_CHECK="5 per minute")
    agent = login(app, "agent2")
    nik = probe_niks(1)[0]
    for _ in range(20):
        assert check_line(agent, nik)[1] == "ok"
