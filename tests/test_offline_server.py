"""Issue 10, the server's side of working offline: idempotency keys on registration and
collection (same key and content → the first answer, other content → 409 with the first
receipt), `taken_at` on POST /collect (rules, late flag, the supervisor's look, the books
follow it), and an outbox replay racing a manual resend. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from conftest import Auth, csrf_token
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, issue_bill, register,
                     receipt_from, run_together, worker_id_from)
from markup import every, one, parse, text_of
from perisai.domain.clock import utcnow
from perisai.domain.lateness import check_taken_at, is_late, parse_taken_at, review_for
from perisai.domain import DomainError
from perisai.extensions import db
from perisai.models import AuditEvent, Bill, Collection, LedgerEntry, RegistrationKey, Worker

pytestmark = pytest.mark.both_backends

WIB = timezone(timedelta(hours=7))


def login(app, username="agent1"):
    client = app.test_client()
    assert Auth(client).login(username).status_code == 303
    return client


@pytest.fixture
def agent(app):
    return login(app)


@pytest.fixture
def bill(app, agent):
    """An open 1-month code of a fresh worker of agent1: (code, amount)."""
    worker_id = worker_id_from(register(agent))
    code = bill_code_from(issue_bill(agent, worker_id, 1))
    return code, amount_of_bill(agent, code)


def issued_earlier(app, code: str, days: float) -> None:
    """The code was issued `days` ago (and is open still): room for a late taken_at."""
    with app.app_context():
        bill = db.session.scalars(select(Bill).where(Bill.code == code)).one()
        bill.created_at = utcnow() - timedelta(days=days)
        bill.expires_at = utcnow() + timedelta(days=2)
        db.session.commit()


def collections(app, code: str | None = None) -> list[Collection]:
    with app.app_context():
        query = select(Collection)
        if code:
            query = query.join(Bill).where(Bill.code == code)
        rows = db.session.scalars(query).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def iso(moment: datetime) -> str:
    """A naive UTC instant as the phone sends it: local time with its offset."""
    return moment.replace(tzinfo=timezone.utc).astimezone(WIB).isoformat(timespec="seconds")


# ---------------------------------------------------------------- domain rules

def test_taken_at_parses_offsets_and_refuses_a_time_without_one():
    assert parse_taken_at("2026-12-03T14:05:00+07:00") == datetime(2026, 12, 3, 7, 5)
    assert parse_taken_at("2026-12-03T07:05:00Z") == datetime(2026, 12, 3, 7, 5)
    assert parse_taken_at("") is None and parse_taken_at(None) is None
    for bad in ("2026-12-03T14:05:00", "kemarin", "2026-13-03T14:05:00+07:00", "9" * 60):
        with pytest.raises(DomainError):
            parse_taken_at(bad)


def test_taken_at_rules_and_lateness():
    now = datetime(2026, 12, 3, 7, 0)
    issued = now - timedelta(days=1)
    assert check_taken_at(None, bill_created=issued, now=now) == now
    assert check_taken_at(now - timedelta(hours=2), bill_created=issued, now=now) == \
        now - timedelta(hours=2)
    assert check_taken_at(now + timedelta(minutes=2), bill_created=issued, now=now) == now  # skew
    with pytest.raises(DomainError, match="masa depan"):
        check_taken_at(now + timedelta(hours=1), bill_created=issued, now=now)
    with pytest.raises(DomainError, match="lebih awal"):
        check_taken_at(issued - timedelta(seconds=1), bill_created=issued, now=now)
    assert not is_late(now - timedelta(minutes=10), now)
    assert is_late(now - timedelta(minutes=11), now)
    assert not is_late(now, None)
    assert review_for(now - timedelta(hours=72), now) is None
    assert review_for(now - timedelta(hours=73), now) == "pending"


# ---------------------------------------------------------------- collection keys

def test_same_key_and_content_answers_with_the_first_receipt(app, agent, bill):
    code, amount = bill
    form = dict(collect_form(agent, code), amount=str(amount))
    first = agent.post("/collect", data=form)
    again = agent.post("/collect", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(collections(app, code)) == 1


def test_same_key_other_amount_is_409_with_the_first_receipt(app, agent, bill):
    code, amount = bill
    form = dict(collect_form(agent, code), amount=str(amount))
    receipt = receipt_from(agent.post("/collect", data=form))
    other = agent.post("/collect", data=dict(form, amount=str(amount + 1000)))
    assert other.status_code == 409
    assert receipt in text_of(one(other, "#paid dl"))
    assert text_of(one(other, "#paid h1")) == "Formulir sudah dipakai"
    assert len(collections(app)) == 1


def test_same_key_from_another_agent_is_409_without_the_receipt(app, agent, bill):
    code, amount = bill
    form = dict(collect_form(agent, code), amount=str(amount))
    receipt = receipt_from(agent.post("/collect", data=form))
    other = login(app, "agent2")
    response = other.post("/collect", data=dict(form, csrf_token=csrf_token(other, "/collect")))
    assert response.status_code == 409 and receipt not in response.get_data(as_text=True)
    assert len(collections(app)) == 1


# ---------------------------------------------------------------- taken_at

def test_taken_at_in_the_future_is_refused(app, agent, bill):
    code, amount = bill
    form = dict(collect_form(agent, code), amount=str(amount),
                taken_at=iso(utcnow() + timedelta(hours=1)))
    response = agent.post("/collect", data=form)
    assert response.status_code == 422
    assert "masa depan" in text_of(one(response, "#collect .flash.error"))
    assert collections(app) == []


def test_taken_at_before_the_bill_was_issued_is_refused(app, agent, bill):
    code, amount = bill
    form = dict(collect_form(agent, code), amount=str(amount),
                taken_at=iso(utcnow() - timedelta(hours=1)))
    response = agent.post("/collect", data=form)
    assert response.status_code == 422
    assert "lebih awal dari waktu kode dibuat" in text_of(one(response, "#collect .flash.error"))
    assert collections(app) == []


def test_taken_at_without_offset_is_refused(app, agent, bill):
    code, amount = bill
    form = dict(collect_form(agent, code), amount=str(amount), taken_at="2026-12-03T10:00:00")
    assert agent.post("/collect", data=form).status_code == 422
    assert collections(app) == []


def test_a_collection_minutes_late_is_flagged_but_needs_no_look(app, agent, bill):
    code, amount = bill
    issued_earlier(app, code, days=1)
    taken = (utcnow() - timedelta(minutes=30)).replace(microsecond=0)
    response = agent.post("/collect", data=dict(collect_form(agent, code), amount=str(amount),
                                               taken_at=iso(taken)))
    assert response.status_code == 303
    [collection] = collections(app, code)
    assert collection.collected_at == taken
    assert collection.received_at - taken >= timedelta(minutes=30)
    assert collection.late_review is None
    supervisor = login(app, "supervisor1")
    page = parse(supervisor.get("/supervisor/agents/agent1"))
    row = one(page, "#late tbody tr")
    assert collection.receipt_number in text_of(row) and "terlambat" in text_of(row)
    assert every(page, "#late .review") == []


def test_a_collection_three_days_late_counts_then_and_waits_for_the_supervisor(app, agent, bill):
    code, amount = bill
    issued_earlier(app, code, days=4)
    taken = (utcnow() - timedelta(days=3, minutes=5)).replace(microsecond=0)
    response = agent.post("/collect", data=dict(collect_form(agent, code), amount=str(amount),
                                               taken_at=iso(taken)))
    assert response.status_code == 303
    [collection] = collections(app, code)
    assert collection.collected_at == taken and collection.late_review == "pending"
    with app.app_context():
        # The cash, its ageing and the incentives count from when it was taken.
        entry = db.session.scalars(select(LedgerEntry).where(
            LedgerEntry.collection_id == collection.id)).one()
        assert entry.created_at == taken
    supervisor = login(app, "supervisor1")
    page = parse(supervisor.get("/supervisor/agents/agent1"))
    row = one(page, "#late tbody tr")
    assert "terlambat" in text_of(row) and "menunggu pemeriksaan" in text_of(row)
    # The held-cash age on the agent's row counts from the time the cash was taken.
    held = next(dd for dt, dd in zip(every(page, ".facts dt"), every(page, ".facts dd"))
                if text_of(dt) == "Uang tertua sejak")
    assert (taken + timedelta(hours=7)).strftime("%d-%m-%Y %H.%M") in text_of(held)
    # The CSV of the day the cash was taken marks it late.
    day = (taken + timedelta(hours=7)).date().isoformat()
    report = supervisor.get(f"/reports/collections.csv?from={day}&to={day}")
    rows = list(csv.reader(io.StringIO(report.get_data(as_text=True))))
    assert rows[0][-2:] == ["sampai_di_server (WIB)", "terlambat"]
    [line] = [r for r in rows[1:] if r[0] == collection.receipt_number]
    assert line[-1] == "ya"
    # The supervisor's look is recorded once, audited.
    token = csrf_token(supervisor, "/supervisor/agents/agent1")
    seen = supervisor.post(f"/supervisor/collections/{collection.receipt_number}/seen",
                           data={"csrf_token": token})
    assert seen.status_code == 303
    assert collections(app, code)[0].late_review == "seen"
    assert supervisor.post(f"/supervisor/collections/{collection.receipt_number}/seen",
                           data={"csrf_token": token}).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "collection.late_seen")) == 1


def test_an_agent_cannot_mark_a_late_collection_seen(app, agent, bill):
    code, amount = bill
    receipt = receipt_from(agent.post("/collect", data=dict(collect_form(agent, code),
                                                           amount=str(amount))))
    response = agent.post(f"/supervisor/collections/{receipt}/seen",
                          data={"csrf_token": csrf_token(agent, "/collect")})
    assert response.status_code in (403, 404)


def test_an_outbox_replay_racing_a_manual_resend_records_one_collection(app, bill):
    """The page's outbox replay and the agent's "kirim lagi" send the same entry at once,
    from two connections of the same session."""
    code, amount = bill
    clients = [login(app), login(app)]
    key = collect_form(clients[0], code)["idempotency_key"]
    taken = iso((utcnow() - timedelta(minutes=20)).replace(microsecond=0))
    issued_earlier(app, code, days=1)
    forms = [{"code": code, "amount": str(amount), "idempotency_key": key, "taken_at": taken,
              "csrf_token": csrf_token(c, "/collect")} for c in clients]
    responses = run_together(2, lambda i: clients[i].post("/collect", data=forms[i]))
    assert [r.status_code for r in responses] == [303, 303]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    assert len(collections(app, code)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id)).where(
            LedgerEntry.kind == "collection")) == 1


# ---------------------------------------------------------------- registration keys

def registration_form(client, **overrides) -> dict:
    page = parse(client.get("/workers/new"))
    key = one(page, "input[name=idempotency_key]")["value"]
    return dict(VALID, csrf_token=csrf_token(client, "/workers/new"), idempotency_key=key,
                **overrides)


def test_registration_same_key_and_content_answers_with_the_same_worker(app, agent):
    form = registration_form(agent)
    first = agent.post("/workers/new", data=form)
    again = agent.post("/workers/new", data=form)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Worker.id)).where(Worker.nik.in_((VALID["nik"], "3273015208950008")))) == 1
        assert db.session.scalar(select(func.count(RegistrationKey.key))) == 1


def test_registration_same_key_other_content_is_409_naming_the_first_worker(app, agent):
    form = registration_form(agent)
    worker = worker_id_from(agent.post("/workers/new", data=form))
    other = agent.post("/workers/new", data=dict(
        form, nik="3273015208950008", full_name="Sari Dewi"))
    assert other.status_code == 409
    alert = one(other, "main p.flash.error")
    assert "sudah dipakai" in text_of(alert)
    assert one(alert, "a")["href"] == f"/workers/{worker}"
    with app.app_context():
        assert db.session.scalar(select(func.count(Worker.id)).where(Worker.nik.in_((VALID["nik"], "3273015208950008")))) == 1


def test_registration_key_survives_a_422(agent):
    form = registration_form(agent, phone="")
    response = agent.post("/workers/new", data=form)
    assert response.status_code == 422
    assert one(response, "input[name=idempotency_key]")["value"] == form["idempotency_key"]


def test_registration_key_of_another_agent_is_409_without_a_link(app, agent):
    form = registration_form(agent)
    assert agent.post("/workers/new", data=form).status_code == 303
    other = login(app, "agent2")
    response = other.post("/workers/new", data=dict(
        form, csrf_token=csrf_token(other, "/workers/new")))
    assert response.status_code == 409
    assert every(one(response, "main p.flash.error"), "a") == []


# ---------------------------------------------------------------- what the phone is given

def test_open_codes_for_the_phone_are_the_agents_own_with_a_fresh_token(app, agent, bill):
    code, amount = bill
    answer = agent.get("/collect/codes")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    data = answer.get_json()
    assert data["user"] == "agent1" and data["csrf"]
    [mine] = [c for c in data["codes"] if c["code"] == code]
    assert mine["amount"] == amount and mine["name"] == VALID["full_name"]
    other = login(app, "agent2").get("/collect/codes").get_json()
    assert code not in [c["code"] for c in other["codes"]]
    agent.post("/collect", data=dict(collect_form(agent, code), amount=str(amount)))
    assert code not in [c["code"] for c in agent.get("/collect/codes").get_json()["codes"]]


def test_service_worker_is_served_at_the_root_uncached_with_versioned_files(client):
    answer = client.get("/sw.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "no-cache"
    body = answer.get_data(as_text=True)
    assert "importScripts(\"/static/js/outbox.js?v=" in body
    for path in ("/collect", "/workers/new", "/outbox"):
        assert f'"{path}"' in body
    assert "Cookie" not in answer.headers.get("Vary", "")


def test_static_offline_files_do_not_vary_on_the_cookie(app, agent):
    for name in ("js/outbox.js", "js/app.js"):
        with app.test_request_context():
            url = app.jinja_env.globals["static_url"](name)
        answer = agent.get(url)
        assert answer.status_code == 200
        assert "Cookie" not in answer.headers.get("Vary", "")


def test_agent_pages_carry_the_sync_pin_and_the_outbox_script(app, agent):
    page = parse(agent.get("/collect"))
    assert one(page, "body")["data-user"] == "agent1"
    assert one(page, "#sync")["href"] == "/outbox"
    assert any("outbox.js" in s.get("src", "") for s in every(page, "script"))
    supervisor = parse(login(app, "supervisor1").get("/supervisor/agents"))
    assert every(supervisor, "#sync") == [] and not one(supervisor, "body").get("data-user")
