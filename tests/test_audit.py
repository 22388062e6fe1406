"""The audit trail: every change of money or membership appends an event, the app never edits
or deletes one, and `audit-verify` finds the first broken link."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import event, select, text

from conftest import Auth, csrf_token
from helpers import amount_of_bill, bill_code_from, collect_form, issue_bill, receipt_from, register, worker_id_from
from perisai.extensions import db
from perisai.models import AuditEvent, AuditHead, User


def cli(app, runner, *args):
    with app.app_context():
        return runner.invoke(args=list(args))


def all_events(app) -> list[AuditEvent]:
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return found


def logged_in(app, username: str):
    client = app.test_client()
    Auth(client).login(username)
    return client


def agent_day(app) -> dict:
    """Register, bill and collect over HTTP as agent1; what was created."""
    client = logged_in(app, "agent1")
    worker_id = worker_id_from(register(client))
    code = bill_code_from(issue_bill(client, worker_id, 3))
    amount = amount_of_bill(client, code)
    response = client.post("/collect", data=dict(collect_form(client, code), amount=str(amount)))
    assert response.status_code == 303
    return {"worker_id": worker_id, "code": code, "amount": amount, "receipt": receipt_from(response)}


def admin_changes(app) -> None:
    """A user created, deactivated, reset and moved; a branch; a rate; a sponsored list."""
    client = logged_in(app, "admin")

    def post(path, data):
        response = client.post(path, data=dict(data, csrf_token=csrf_token(client, "/admin")))
        assert response.status_code == 303, (path, response.get_data(as_text=True))

    post("/admin/users", {"username": "agent7", "full_name": "Agen Tujuh", "role": "agent",
                          "branch": "BDG01", "password": "rahasia-123"})
    with app.app_context():
        new_id = db.session.scalar(select(User.id).where(User.username == "agent7"))
    post(f"/admin/users/{new_id}/password", {"password": "rahasia-456"})
    post(f"/admin/users/{new_id}/move", {"branch": "MKS01"})
    post(f"/admin/users/{new_id}/deactivate", {})
    post("/admin/branches", {"code": "SBY01", "name": "Surabaya", "timezone": "Asia/Jakarta",
                             "cash_limit": "2000000"})
    post("/admin/branches/1", {"name": "Bandung Suci", "timezone": "Asia/Jakarta", "cash_limit": "2500000"})
    post("/admin/rates", {"effective_from": "2099-01", "jkk_basis_points": "100", "jkm_flat": "6800",
                          "jht_basis_points": "200", "min_income": "1000000",
                          "max_income": "20700000", "income_step": "100000", "source": "uji"})
    token = csrf_token(client, "/admin/sponsored")
    csv_text = ("nik,sponsor_code,sponsor_name,programs,valid_from,valid_to\n"
                "3273011708850101,SG,Pemprov Jawa Barat,2,2025-11-01,2026-12-31\n")
    response = client.post("/admin/sponsored", data={"csrf_token": token,
                                                     "file": (io.BytesIO(csv_text.encode()), "l.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 303


@pytest.mark.both_backends
def test_every_change_of_money_or_membership_appends_an_event(app, backend):
    before = len(all_events(app))
    made = agent_day(app)
    admin_changes(app)
    new = all_events(app)[before:]
    by_action = {}
    for item in new:
        by_action.setdefault(item.action, []).append(item)
    assert set(by_action) == {"worker.register", "bill.issue", "collection.record", "user.create",
                              "user.reset_password", "user.move", "user.deactivate", "branch.create",
                              "branch.update", "rate.create", "sponsored.import"}
    registration = by_action["worker.register"][0]
    assert registration.actor == "agent1" and registration.object_id == str(made["worker_id"])
    assert registration.ip == "127.0.0.1"
    assert by_action["bill.issue"][0].object_id == made["code"]
    collection = by_action["collection.record"][0]
    assert collection.object_id == made["receipt"] and f'"amount":{made["amount"]}' in collection.after
    assert '"paid_through":null' in collection.before
    assert all(item.actor == "admin" for item in new if item.action.startswith(("user.", "branch.", "rate.")))
    assert '"added":1' in by_action["sponsored.import"][0].after
    # Each event chains to the one before it.
    for previous, current in zip(new, new[1:]):
        assert current.prev_hash == previous.hash


@pytest.mark.both_backends
def test_the_app_never_updates_or_deletes_audit_events(app, backend):
    statements = []

    def remember(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", remember)
    try:
        agent_day(app)
        admin_changes(app)
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    writes = [s for s in statements if re.search(r"\baudit_events\b", s)
              and re.match(r"\s*(UPDATE|DELETE)", s, re.I)]
    assert writes == []
    assert any(re.match(r"\s*INSERT INTO audit_events", s, re.I) for s in statements)


@pytest.mark.both_backends
def test_audit_verify_passes_on_a_clean_database(app, runner, backend):
    agent_day(app)
    admin_changes(app)
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 0, result.output
    count = len(all_events(app))
    assert f"Audit chain intact: {count} events checked." in result.output


@pytest.mark.both_backends
def test_audit_verify_names_the_row_altered_with_sql(app, runner, backend):
    agent_day(app)
    events = all_events(app)
    target = next(e for e in events if e.action == "collection.record")
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET after = :after WHERE id = :id"),
                           {"after": '{"amount":1}', "id": target.id})
        db.session.commit()
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1
    assert f"BROKEN at event {target.id}:" in result.output
    assert "hash does not match" in result.output


@pytest.mark.both_backends
def test_audit_verify_fails_when_the_newest_event_is_deleted(app, runner, backend):
    agent_day(app)
    newest = all_events(app)[-1]
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": newest.id})
        db.session.commit()
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1
    assert f"BROKEN at event {newest.id}:" in result.output
    assert "newest events were removed" in result.output


def test_audit_verify_fails_when_an_event_in_the_middle_is_deleted(app, runner):
    agent_day(app)
    events = all_events(app)
    middle, following = events[len(events) // 2], events[len(events) // 2 + 1]
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": middle.id})
        db.session.commit()
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1
    assert f"BROKEN at event {following.id}:" in result.output


def test_audit_verify_reports_the_first_broken_event_not_a_later_one(app, runner):
    """Altering the oldest event breaks every hash after it; the first one is named."""
    agent_day(app)
    events = all_events(app)
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET actor = 'someone' WHERE id = :id"),
                           {"id": events[0].id})
        db.session.commit()
        assert db.session.get(AuditHead, 1).last_event_id == events[-1].id
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1
    assert f"BROKEN at event {events[0].id}:" in result.output
