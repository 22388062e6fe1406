"""Privacy: a worker's NIK, birth date and phone appear in full only on the owning agent's and the
branch supervisor's pages, and never in the logs (application log and gunicorn access log)."""
from __future__ import annotations

import logging
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from urllib.parse import unquote

import pytest


from conftest import csrf_token
from markup import definitions
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, issue_bill, nik_for,
                     public_slip_url, receipt_from, register, worker_id_from)
from test_access_matrix import ROLES, app_rules, build_world, case_for, login_as
from test_faults import Phone, free_port

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {"agent1", "supervisor1"}


def identity_strings(nik: str, born: date, phone_digits: str) -> dict[str, str]:
    """Every spelling of the three identifiers a page or a log might carry."""
    spaced = f"{phone_digits[:4]} {phone_digits[4:8]} {phone_digits[8:]}"
    return {
        "NIK": nik,
        "NIK (grouped)": f"{nik[:6]} {nik[6:12]} {nik[12:]}",
        "birth date (ISO)": born.isoformat(),
        "birth date (d-m-Y)": born.strftime("%d-%m-%Y"),
        "birth date (d/m/Y)": born.strftime("%d/%m/%Y"),
        "phone": phone_digits,
        "phone (spaced)": spaced,
        "phone (+62)": "+62" + phone_digits[1:],
        "phone (62)": "62" + phone_digits[1:],
    }


WORLD_WORKER = identity_strings(VALID["nik"], date(1995, 8, 12), "081234567890")
del WORLD_WORKER["phone (spaced)"]  # "0812 3456 7890" is also the form's example (hint)


def leaks(text: str, identity: dict[str, str], besides: str = "") -> list[str]:
    """Identifiers found in `text`, except those the requester typed in `besides` (a form that
    shows back what was typed on the same screen)."""
    typed = unquote(besides)
    return [label for label, value in identity.items() if value in text and value not in typed]


def test_full_identity_only_for_owner_and_branch_supervisor(app, client, auth):
    world = build_world(client, auth)
    seen: dict[str, list[str]] = {}
    for role in ROLES:
        other = app.test_client()
        login_as(other, role)
        for rule, methods in app_rules(app).items():
            if "GET" not in methods:
                continue
            url = world.fill(case_for(rule, "GET").url)
            for headers in ({}, {"HX-Request": "true"}):
                response = other.get(url, headers=headers)
                body = response.get_data(as_text=True)
                response.close()
                found = leaks(body, WORLD_WORKER, besides=url)
                if found:
                    seen.setdefault(role, []).append(f"{url}: {found}")
    outside = {role: pages for role, pages in seen.items() if role not in ALLOWED}
    assert not outside, f"full identity shown outside the owner and the branch supervisor: {outside}"
    # Not vacuous: the owner and the branch supervisor do see it on the worker's page.
    for role in ALLOWED:
        assert any(f"/workers/{world['worker_id']}:" in page and "'NIK'" in page
                   for page in seen.get(role, [])), f"{role} should see the full NIK: {seen.get(role)}"


def test_admin_full_nik_export_is_audited_and_masked_otherwise(app, client, auth):
    world = build_world(client, auth)
    login_as(client, "admin")
    query = f"branch=BDG01&from={world['month_start']}&to={world['today']}"
    masked = client.get(f"/reports/collections.csv?{query}").get_data(as_text=True)
    assert VALID["nik"] not in masked and VALID["nik"][-4:] in masked
    from perisai.extensions import db
    from perisai.models import AuditEvent
    from sqlalchemy import func, select
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "report.full_nik"))
        db.session.remove()
    full = client.post("/reports/collections.csv", data={
        "branch": "BDG01", "from": world["month_start"], "to": world["today"],
        "csrf_token": csrf_token(client, "/reports")}).get_data(as_text=True)
    assert VALID["nik"] in full
    with app.app_context():
        after = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "report.full_nik"))
        db.session.remove()
    assert after == before + 1
    # A GET never gives (or audits) the full NIK, and a supervisor cannot ask for it.
    assert VALID["nik"] not in client.get(f"/reports/collections.csv?{query}&full_nik=1").get_data(as_text=True)
    login_as(supervisor := app.test_client(), "supervisor1")
    assert VALID["nik"] not in supervisor.get(f"/reports/collections.csv?{query}&full_nik=1").get_data(as_text=True)
    assert supervisor.post("/reports/collections.csv", data={
        "from": world["month_start"], "to": world["today"],
        "csrf_token": csrf_token(supervisor, "/reports")}).status_code == 403


# --- logs -----------------------------------------------------------------------------------------

STORY_BIRTH = date(1991, 4, 23)
STORY_NIK = nik_for(STORY_BIRTH, "F", 4321)
STORY_PHONE = "085712345678"
STORY = identity_strings(STORY_NIK, STORY_BIRTH, STORY_PHONE)


def full_story(client, auth, base: str = "") -> None:
    """Everything that handles identity: registration (twice, and a wrong one), search by NIK,
    bill, collection, slip, public checks by receipt/member number + birth date and by NIK,
    failed logins, supervisor pages and the CSV export."""
    auth.login("agent1")
    fields = dict(nik=STORY_NIK, birth_date=STORY_BIRTH.isoformat(), sex="F", full_name="Nining Kurniasih",
                  phone="0857-1234-5678")
    wrong = register(client, **dict(fields, birth_date="1991-04-24"))
    assert wrong.status_code == 422
    token = csrf_token(client, "/workers/new")
    client.post("/workers/new/check", data=dict(VALID, **fields, csrf_token=token))
    response = register(client, **fields)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    worker_id = worker_id_from(response)
    again = register(client, **fields)  # the double tap lands on the same worker
    assert again.status_code == 303 and worker_id_from(again) == worker_id
    client.get(f"/workers?q={STORY_NIK}")
    code = bill_code_from(issue_bill(client, worker_id, 3))
    number = receipt_from(client.post("/collect", data=dict(collect_form(client, code),
                                                             amount=str(amount_of_bill(client, code)))))
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    page = client.get(f"/workers/{worker_id}").get_data(as_text=True)
    assert STORY_NIK in page  # the owner sees it: the story did handle the data
    [member] = [value for value in definitions(page).values() if re.fullmatch(r"\d{11}", value)]
    public = public_slip_url(slip).removeprefix("http://perisai.test")
    assert public.startswith("/s/")
    auth.logout()
    client.get(public)
    client.get(f"/verify?receipt={number}&birth_date={STORY_BIRTH.isoformat()}")
    client.get(f"/status?member={member}&birth_date={STORY_BIRTH.isoformat()}")
    client.get(f"/sponsored?nik={STORY_NIK}")
    token = csrf_token(client, "/login")
    client.post("/login", data={"username": STORY_NIK, "password": STORY_PHONE, "csrf_token": token})
    auth.login("supervisor1")
    client.get("/supervisor/agents/agent1")
    client.get(f"/workers/{worker_id}")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/cek")})


def test_logs_never_contain_identity(app, client, auth, caplog, monkeypatch):
    # Loggers switched off by an earlier logging.config call in this process are switched back on.
    for logger in [app.logger, logging.getLogger("werkzeug"), logging.getLogger("flask_limiter")]:
        monkeypatch.setattr(logger, "disabled", False)
    # SQL echo is a developer's switch, off in production; everything else is captured. (The
    # second call also sets the capture handler's level, so it comes last.)
    caplog.set_level(logging.WARNING, logger="sqlalchemy")
    caplog.set_level(logging.DEBUG)
    full_story(client, auth)
    # A failure while handling identity data: the error log must not carry it either.
    auth.login("agent1")
    token = csrf_token(client, "/workers/new")
    client.post("/workers/new", data=dict(VALID, nik=STORY_NIK, phone=STORY_PHONE, csrf_token=token))
    text = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert caplog.records, "nothing was logged: the capture is not working"
    found = leaks(text, STORY)
    assert not found, f"identity in the application log: {found}\n{text[:2000]}"


@pytest.mark.slow  # boots a real gunicorn
def test_gunicorn_access_log_never_contains_identity(tmp_path, database_url):
    """With the access log on (PERISAI_ACCESS_LOG), lookups carry a NIK or birth date in the
    query string; the log line must not."""
    port = free_port()
    log = tmp_path / "access.log"
    errors = tmp_path / "error.log"
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "SECRET_KEY": "test-secret-key",
           "RATELIMIT_ENABLED": "0", "PERISAI_ACCESS_LOG": str(log), "PERISAI_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "1", "PERISAI_LOG_LEVEL": "info", "PYTHONPATH": str(ROOT),
           "PUBLIC_BASE_URL": "https://perisai.example.org"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"),
                                "wsgi:app"], cwd=str(ROOT), env=env, stdout=errors.open("wb"),
                               stderr=subprocess.STDOUT)
    try:
        phone = Phone(port)
        deadline = time.monotonic() + 90  # preloading the app can be slow on a busy machine
        while time.monotonic() < deadline:
            assert process.poll() is None, errors.read_text()
            try:
                if phone.request("GET", "/healthz", timeout=2)[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        phone.request("GET", f"/sponsored?nik={STORY_NIK}")
        phone.request("GET", f"/verify?receipt=123456789012&birth_date={STORY_BIRTH.isoformat()}")
        phone.request("GET", f"/status?member=12345678901&birth_date={STORY_BIRTH.isoformat()}")
        phone.login("agent1")
        phone.request("GET", f"/workers?q={STORY_NIK}")
        phone.request("GET", f"/workers/new?nik={STORY_NIK}&phone={STORY_PHONE}")
    finally:
        process.terminate()
        process.wait(timeout=15)
    access = log.read_text()
    assert "/sponsored" in access and "/workers" in access, access  # the log is on
    found = leaks(access + errors.read_text(), STORY)
    assert not found, f"identity in the gunicorn logs: {found}\n{access}"
