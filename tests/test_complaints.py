"""Complaints end to end: a worker files one without an account (receipt or member number and
birth date), reads its state on the ticket page; it reaches the supervisor of the agent's
branch only, counts among the agent's flags, and is resolved with a note the ticket page shows.
Wrong birth dates and unknown numbers answer alike; hostile text is shown as text."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from conftest import csrf_token
from helpers import nik_for, paid_receipt, relogin
from markup import every, has, one, parse, text_of
from perisai.domain import DomainError
from perisai.extensions import db
from perisai.models import AuditEvent, Complaint, Worker
from test_login_abuse import limited_app

BORN = "1991-05-06"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> uang belum disetor'


def pay(client, serial: int = 401):
    return paid_receipt(client, nik=nik_for(date(1991, 5, 6), "F", serial), sex="F",
                        birth_date=BORN, full_name="Dewi Lestari")


def file(client, **fields):
    data = {"receipt": "", "member": "", "birth_date": BORN,
            "message": "Agen belum menyetor uang saya sejak minggu lalu.", "phone": ""}
    data.update(fields)
    data["csrf_token"] = csrf_token(client, "/complaint")
    return client.post("/complaint", data=data)


def ticket_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    return re.fullmatch(r"/complaint/([A-Z0-9]+)", response.headers["Location"]).group(1)


def complaints_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Complaint.id)))


def agent_badges(client) -> list[str]:
    page = parse(client.get("/supervisor/agents"))
    return [text_of(b) for b in every(page, "#agent-agent1 .badge")]


@pytest.mark.both_backends
def test_complaint_flow_end_to_end(app, client, auth):
    auth.login("agent1")
    receipt, _ = pay(client)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    form = parse(client.get(f"/complaint?receipt={receipt}"))
    assert one(form, "input[name=receipt]")["value"] == receipt
    ticket = ticket_of(file(client, receipt=receipt, message=HOSTILE, phone="0812 1111 2222"))
    page = parse(client.get(f"/complaint/{ticket}"))
    assert text_of(one(page, "#ticket-state")) == "Diterima, sedang ditangani kantor cabang"
    assert text_of(one(page, "#ticket .message")) == HOSTILE  # shown as text …
    assert not every(page, "main script") and not every(page, "main img")  # … never as markup
    assert "D*** L******" in page.get_text() and "Dewi Lestari" not in page.get_text()
    assert not has(page, "#resolution")

    # The supervisor of agent1's branch sees it, tied to the agent; the agent is flagged.
    relogin(client, auth, "supervisor1")
    listing = parse(client.get("/supervisor/complaints"))
    item = one(listing, ".complaint")
    assert ticket in text_of(item) and "Siti Aminah" in text_of(item) and receipt in text_of(item)
    assert text_of(one(item, ".message")) == HOSTILE and not every(item, "script")
    assert one(item, 'a[href^="tel:"]')["href"] == "tel:081211112222"
    assert "Ada laporan pekerja" in agent_badges(client)
    complaint_id = int(re.search(r"/complaints/(\d+)/resolve",
                                 one(item, "form")["action"]).group(1))

    # The other branch's supervisor neither sees nor resolves it; agents cannot resolve.
    relogin(client, auth, "supervisor2")
    assert not every(parse(client.get("/supervisor/complaints")), ".complaint")
    token = csrf_token(client, "/supervisor")
    assert client.post(f"/complaints/{complaint_id}/resolve",
                       data={"note": "x", "csrf_token": token}).status_code == 404
    relogin(client, auth, "agent1")
    assert client.post(f"/complaints/{complaint_id}/resolve",
                       data={"note": "x", "csrf_token": csrf_token(client, "/")}).status_code == 403

    relogin(client, auth, "supervisor1")
    token = csrf_token(client, "/supervisor/complaints")
    refused = client.post(f"/complaints/{complaint_id}/resolve", data={"note": " ", "csrf_token": token})
    assert refused.status_code == 422
    assert "Tulis apa yang sudah dilakukan" in text_of(one(refused, "#complaints .flash.error"))
    note = "Agen sudah menyetor <b>hari ini</b>; terima kasih."
    response = client.post(f"/complaints/{complaint_id}/resolve", data={"note": note, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/supervisor/complaints"
    again = client.post(f"/complaints/{complaint_id}/resolve", data={"note": note, "csrf_token": token})
    assert again.status_code == 409
    assert "Ada laporan pekerja" not in agent_badges(client)
    resolved = parse(client.get("/supervisor/complaints?show=resolved"))
    assert note in text_of(one(resolved, ".complaint"))

    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    page = parse(client.get(f"/complaint/{ticket}"))
    assert text_of(one(page, "#ticket-state")) == "Selesai"
    assert text_of(one(page, "#resolution")) == note and not every(page, "#resolution b")
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "complaint")).all()
    assert actions == ["complaint.file", "complaint.resolve"]


def test_by_member_number_goes_to_the_members_agent(app, client, auth):
    auth.login("agent1")
    pay(client, 402)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    with app.app_context():
        member = db.session.scalar(select(Worker.member_number).where(
            Worker.full_name == "Dewi Lestari"))
    ticket = ticket_of(file(client, member=member))
    with app.app_context():
        complaint = db.session.scalars(select(Complaint).where(Complaint.ticket == ticket)).one()
        assert complaint.collection_id is None
        assert complaint.agent.username == "agent1" and complaint.branch.code == "BDG01"


def test_wrong_birth_date_and_unknown_number_answer_alike(app, client, auth):
    auth.login("agent1")
    receipt, _ = pay(client, 403)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    answers = []
    for fields in ({"receipt": receipt, "birth_date": "1991-05-07"},  # wrong birth date
                   {"receipt": "999999999999"},                       # unknown receipt
                   {"receipt": "12"},                                 # malformed
                   {"member": "99999999999"}):                        # unknown member
        response = file(client, **fields)
        answers.append((response.status_code, text_of(one(response, "main .flash.error"))))
        assert "Dewi" not in response.get_data(as_text=True)
        assert "1991-05-07" not in response.get_data(as_text=True)  # birth date never echoed
    assert len(set(answers)) == 1 and answers[0][0] == 422
    assert complaints_count(app) == 0
    missing = file(client, receipt="", member="")
    assert missing.status_code == 422 and complaints_count(app) == 0


@pytest.mark.parametrize("message, phone, problem", [
    ("pendek", "", "paling sedikit"),
    ("x" * 1001, "", "paling panjang"),
    ("Agen belum menyetor uang saya.", "12345", "Nomor HP tidak dikenali"),
])
def test_bad_message_or_phone_is_refused(app, client, auth, message, phone, problem):
    auth.login("agent1")
    receipt, _ = pay(client, 404)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    response = file(client, receipt=receipt, message=message, phone=phone)
    assert response.status_code == 422
    assert problem in text_of(one(response, "main .flash.error"))
    assert complaints_count(app) == 0


def test_unknown_or_malformed_ticket_is_404(client):
    assert client.get("/complaint/ABCDEFGHJK").status_code == 404
    assert client.get("/complaint/<script>").status_code == 404


def test_filing_is_rate_limited_per_address(database_url, tmp_path):
    app = limited_app(database_url, tmp_path, RATELIMIT_COMPLAINT="2 per hour")
    try:
        client = app.test_client()
        environ = {"REMOTE_ADDR": "10.0.9.1"}
        data = {"receipt": "999999999999", "birth_date": BORN, "message": "Uang belum disetor agen."}
        statuses = [client.post("/complaint", data=data, environ_base=environ).status_code
                    for _ in range(3)]
        assert statuses == [422, 422, 429]
        assert client.post("/complaint", data=data,
                           environ_base={"REMOTE_ADDR": "10.0.9.2"}).status_code == 422
        assert client.get("/complaint", environ_base=environ).status_code == 200  # reading is not
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_resolution_needs_a_note_domain():
    from perisai.domain.complaints import clean_message, clean_resolution, is_ticket, new_ticket
    with pytest.raises(DomainError):
        clean_resolution("  ")
    assert clean_message("  baris satu  \n  baris   dua ") == "baris satu\nbaris dua"
    assert all(is_ticket(new_ticket()) for _ in range(50))
    assert len({new_ticket() for _ in range(50)}) == 50
