"""Faults: a gunicorn worker killed mid-stream loses and doubles nothing; a database outage is a
clear 503 page.

The kill test runs real gunicorn (2 workers) against a file SQLite database and PostgreSQL,
sends POST /collect from a few threads like phones would (a failed request is retried with the
SAME idempotency key), SIGKILLs a worker in the middle, and then checks the database.
"""
from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from conftest import DEMO_PASSWORD, _config
from perisai import create_app
from perisai.domain.checklist import Registration
from perisai.domain.clock import local_today
from perisai.extensions import db
from perisai.models import AuditEvent, Bill, Collection, LedgerEntry, User
from perisai.commands import Actor
from perisai.commands.billing import issue_bill
from perisai.commands.registration import register_worker

ROOT = Path(__file__).resolve().parent.parent


# --- seeding through the service layer ---------------------------------------------------------

def seed_billed_workers(app, count: int, agents=("agent1", "agent2"), start: int = 5000) -> list[dict]:
    """`count` new workers spread over `agents`, each with an open 1-month bill."""
    bills = []
    with app.app_context():
        session = db.session
        today = local_today("Asia/Jakarta")
        for n in range(count):
            username = agents[n % len(agents)]
            agent = session.scalars(select(User).where(User.username == username)).one()
            born = date(1970 + n % 30, 1 + n % 12, 1 + n % 28)
            nik = f"327301{born.day:02d}{born.month:02d}{born.year % 100:02d}{start + n:04d}"
            registration = Registration(nik, f"Pekerja Uji {n}", born, "M", f"0812{start + n:08d}",
                                        "Jl. Uji 1, Bandung", "pedagang", None, 1_000_000, 3,
                                        "Ahli Waris", "istri")
            actor = Actor(agent.id, agent.username, "127.0.0.1")
            worker = register_worker(session, registration, agent=agent, actor=actor, today=today)
            bill = issue_bill(session, worker.id, 1, agent=agent, actor=actor, today=today)
            bills.append({"code": bill.code, "amount": bill.amount, "agent": username})
        session.remove()
    return bills


def verify_books(app) -> None:
    from perisai.commands import audit, books
    with app.app_context():
        result = audit.verify(db.session)
        assert result.ok, f"audit chain broken at {result.broken_at}: {result.reason}"
        assert books.verify_books(db.session).ledger == [], "ledger does not match the agents' accounts"
        db.session.remove()


# --- a small HTTP client with a cookie, like a phone's browser ----------------------------------

class Phone:
    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, timeout: float = 15):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
            body = None
            if form is not None:
                body = urlencode(form)
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key] = rest.split(";")[0]
            return response.status, dict(response.getheaders()), text
        finally:
            conn.close()

    def login(self, username: str) -> None:
        _, _, html = self.request("GET", "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        status, _, _ = self.request("POST", "/login", {"username": username, "password": DEMO_PASSWORD,
                                                      "csrf_token": token})
        assert status == 303, f"login as {username} over gunicorn failed: {status}"


# --- gunicorn -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return sorted(found)


@dataclass
class Gunicorn:
    process: subprocess.Popen
    port: int
    log: Path

    def workers(self) -> list[int]:
        return children_of(self.process.pid)

    def wait_ready(self, workers: int = 2, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "gunicorn exited:\n" + self.log.read_text()[-3000:]
            if len(self.workers()) >= workers:
                try:
                    if Phone(self.port).request("GET", "/healthz", timeout=2)[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.1)
        raise AssertionError("gunicorn did not start:\n" + self.log.read_text()[-3000:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_gunicorn(database_url: str, tmp_path: Path) -> Gunicorn:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY="test-secret-key",
               RATELIMIT_ENABLED="0", PYTHONPATH=str(ROOT),
               PUBLIC_BASE_URL="https://perisai.example.org")
    env.pop("PERISAI_DEV", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}",
         "--timeout", "30", "--graceful-timeout", "5", "--chdir", str(tmp_path),
         "perisai:create_app()"],
        cwd=str(tmp_path), env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    server = Gunicorn(process, port, log)
    server.wait_ready()
    return server


# --- the kill test ------------------------------------------------------------------------------

@dataclass
class Outcome:
    code: str
    key: str | None = None
    receipt: str | None = None
    attempts: int = 0
    failures: list[str] = field(default_factory=list)
    failed_post_at: datetime | None = None  # when a POST got no answer (UTC)


def pay(phone: Phone, bill: dict, outcome: Outcome, max_attempts: int = 8) -> None:
    """What the phone does: open the code (gets a key), confirm, retry the same form on failure."""
    form = None
    while outcome.attempts < max_attempts:
        outcome.attempts += 1
        try:
            if form is None:
                status, _, html = phone.request("GET", f"/collect?code={bill['code']}")
                if status != 200:
                    outcome.failures.append(f"GET {status}")
                    time.sleep(0.2)
                    continue
                key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
                token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
                form = {"code": bill["code"], "amount": str(bill["amount"]), "idempotency_key": key,
                        "csrf_token": token}
                outcome.key = key
            status, headers, html = phone.request("POST", "/collect", form)
        except (OSError, http.client.HTTPException) as error:
            outcome.failures.append(type(error).__name__)
            if form is not None:
                outcome.failed_post_at = datetime.now(timezone.utc).replace(tzinfo=None)
            time.sleep(0.2)
            continue  # the phone retries the SAME form: same idempotency key
        if status == 303:
            outcome.receipt = re.search(r"/receipts/(\d+)$", headers["Location"]).group(1)
            return
        outcome.failures.append(f"POST {status}")
        assert status >= 500, f"POST /collect answered {status}: {html[:300]}"
        time.sleep(0.2)


def run_stream(server: Gunicorn, bills: list[dict], threads: int = 4, kills: int = 4) -> dict:
    outcomes = {bill["code"]: Outcome(bill["code"]) for bill in bills}
    done = []
    lock = threading.Lock()

    def phone_worker(share: list[dict], username: str):
        phone = Phone(server.port)
        phone.login(username)
        for bill in share:
            pay(phone, bill, outcomes[bill["code"]])
            with lock:
                done.append(bill["code"])

    shares = [[b for i, b in enumerate(bills) if i % threads == t] for t in range(threads)]
    pool = [threading.Thread(target=phone_worker, args=(share, share[0]["agent"])) for share in shares]
    for thread in pool:
        thread.start()
    killed = []
    for k in range(kills):
        target = len(bills) * (k + 1) // (kills + 2)
        while len(done) < target and any(t.is_alive() for t in pool):
            time.sleep(0.005)
        workers = server.workers()
        victim = workers[k % len(workers)]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # gunicorn starts a replacement
            now = server.workers()
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.05)
        assert victim not in server.workers(), "gunicorn did not replace the killed worker"
    for thread in pool:
        thread.join(timeout=300)
    return {"outcomes": outcomes, "killed": killed}


@pytest.mark.slow
@pytest.mark.both_backends
def test_killed_worker_loses_and_doubles_nothing(app, database_url, backend, tmp_path):
    bills = seed_billed_workers(app, 80)
    with app.app_context():
        audit_before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.remove()
        db.engine.dispose()
    server = start_gunicorn(database_url, tmp_path)
    try:
        result = run_stream(server, bills)
    finally:
        server.stop()
    outcomes: dict[str, Outcome] = result["outcomes"]
    failed_requests = sum(len(o.failures) for o in outcomes.values())
    with app.app_context():
        session = db.session
        paid_with_receipt = 0
        committed_before_failure = 0
        for code, outcome in outcomes.items():
            bill = session.scalars(select(Bill).where(Bill.code == code)).one()
            rows = session.scalars(select(Collection).where(Collection.bill_id == bill.id)).all()
            assert len(rows) <= 1, f"bill {code} paid {len(rows)} times"
            if outcome.receipt:
                paid_with_receipt += 1
                assert len(rows) == 1 and rows[0].receipt_number == outcome.receipt, \
                    f"bill {code}: receipt {outcome.receipt} not in the database exactly once"
                assert rows[0].idempotency_key == outcome.key
                assert bill.status == "paid"
                if outcome.failed_post_at and rows[0].collected_at < outcome.failed_post_at:
                    committed_before_failure += 1  # the answer was lost; the retry replayed it
            else:
                # No receipt reached the phone: the bill is still open, or paid exactly once by
                # this phone's own key (the answer was lost, a retry would show the receipt).
                assert bill.status == "open" and not rows or (
                    len(rows) == 1 and rows[0].idempotency_key == outcome.key), f"bill {code}"
        collections = session.scalar(select(func.count()).select_from(Collection))
        ledger_rows = session.scalar(select(func.count()).select_from(LedgerEntry)
                                     .where(LedgerEntry.kind == "collection"))
        recorded = session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.action == "collection.record"))
        audit_after = session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.remove()
    assert collections == ledger_rows == recorded
    assert audit_after - audit_before == collections
    verify_books(app)
    # Every bill got its receipt in the end: the retries with the same key were answered.
    assert paid_with_receipt == len(bills), {c: o.failures for c, o in outcomes.items() if not o.receipt}
    print(f"\nfault run ({backend}): {len(bills)} bills, workers killed {result['killed']}, "
          f"{failed_requests} failed requests retried with the same key "
          f"({committed_before_failure} of them already committed: answered from the key), "
          f"{paid_with_receipt} receipts, {collections} collections in the database")


# --- database outage ------------------------------------------------------------------------------

def closed_port() -> int:
    port = free_port()  # bound and released: nothing listens there now
    return port


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://perisai@127.0.0.1:{port}/perisai?connect_timeout=2",
    "sqlite:////nonexistent-folder/perisai/perisai.sqlite3",
])
def test_database_down_gives_a_clear_503(tmp_path, url, app, client, auth):
    assert auth.login("agent1").status_code == 303
    cookie = client.get_cookie("session", domain="perisai.test").value
    broken = create_app(dict(_config(url.format(port=closed_port()), str(tmp_path)),
                             SQLALCHEMY_ENGINE_OPTIONS={}))
    try:
        anonymous = broken.test_client()
        logged_in = broken.test_client()
        logged_in.set_cookie("session", cookie, domain="perisai.test")
        cases = [(anonymous, "GET", "/healthz", {}), (anonymous, "GET", "/sponsored?nik=3273015208950007", {}),
                 (logged_in, "GET", "/workers", {}), (logged_in, "GET", "/", {}),
                 (logged_in, "GET", "/workers", {"HX-Request": "true"})]
        for who, method, path, headers in cases:
            response = who.open(path, method=method, headers=headers)
            body = response.get_data(as_text=True)
            assert response.status_code == 503, f"{path}: {response.status_code} {body[:300]}"
            assert "Basis data tidak bisa dihubungi" in body
            for leak in ("Traceback", "psycopg", "sqlite3", "OperationalError", "SELECT", "127.0.0.1",
                         "nonexistent-folder"):
                assert leak not in body, f"{path}: the 503 page shows {leak!r}"
            assert response.headers["Content-Security-Policy"]
            if headers:
                assert "<html" not in body  # htmx gets the fragment
            else:
                assert "<html" in body
        # A login attempt (needs the database) is a 503 too, not a 500 and not "wrong password".
        token = re.search(r'name="csrf_token" value="([^"]+)"',
                          anonymous.get("/login").get_data(as_text=True)).group(1)
        response = anonymous.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD,
                                                  "csrf_token": token})
        assert response.status_code == 503
    finally:
        with broken.app_context():
            db.session.remove()
            db.engine.dispose()
