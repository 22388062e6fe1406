"""Finding 14, faults not tried before:

- Redis down while `RATELIMIT_STORAGE_URI` points at it: logins and public lookups keep working,
  the limits (and the login slowdown) are counted in memory meanwhile, and the log says so. A
  Redis server of the test's own is started and stopped.
- PostgreSQL dropping every connection of the app in the middle of a stream of collections (a
  restart, as the app sees it; `pg_terminate_backend` on the test's own database, so the
  server shared with other tests stays up): clear 503s, nothing lost or doubled, the app
  reconnects by itself.
- A full disk under SQLite (a small tmpfs of the test's own): a clear 503 that says the
  storage is full, nothing half-written, and the same form goes through once there is room.
"""
from __future__ import annotations

import logging
import re
import shutil
import subprocess
import time
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from conftest import DEMO_PASSWORD, _config
from helpers import collect_form, login_client
from perisai import create_app
from perisai.extensions import db
from perisai.models import AuditEvent, Bill, Collection, LedgerEntry
from test_faults import Phone, free_port, pay, Outcome, seed_billed_workers, start_gunicorn, verify_books


# --- Redis down -------------------------------------------------------------------------------

@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test's own: (url, stop)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    client.close()

    def stop():
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)

    yield f"redis://127.0.0.1:{port}/0", stop
    stop()


def _login(client, username, password, address):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_redis_down_logins_and_public_lookups_keep_working(database_url, tmp_path, own_redis,
                                                           caplog):
    url, stop_redis = own_redis
    app = create_app(dict(_config(database_url, str(tmp_path)), RATELIMIT_ENABLED=True,
                          RATELIMIT_STORAGE_URI=url, RATELIMIT_PUBLIC="3 per minute",
                          RATELIMIT_STORAGE_OPTIONS={"socket_connect_timeout": 1,
                                                     "socket_timeout": 1}))
    lookup = "/verify?receipt=123456789012&birth_date=1990-01-01"
    try:
        assert _login(app.test_client(), "agent1", DEMO_PASSWORD, "10.1.0.1").status_code == 303
        stop_redis()
        caplog.set_level(logging.WARNING)

        assert _login(app.test_client(), "agent1", DEMO_PASSWORD, "10.1.0.2").status_code == 303
        public = app.test_client()
        statuses = [public.get(lookup, environ_base={"REMOTE_ADDR": "10.1.0.3"}).status_code
                    for _ in range(4)]
        assert all(status < 500 for status in statuses), statuses
        assert 429 not in statuses[:3] and statuses[3] == 429  # still limited, in memory
        # The login slowdown still counts: 5 failures, then the account is slowed.
        guesses = [_login(app.test_client(), "agent2", "salah-sandi", f"10.1.1.{i}").status_code
                   for i in range(6)]
        assert all(status < 500 for status in guesses), guesses
        assert guesses[-1] == 429 and 429 not in guesses[:5]
        assert any("falling back to in-memory storage" in record.getMessage()
                   for record in caplog.records), [r.getMessage() for r in caplog.records]
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


# --- PostgreSQL drops every connection mid-stream ------------------------------------------------

def _libpq(database_url: str) -> str:
    return sa.engine.make_url(database_url).set(drivername="postgresql") \
        .render_as_string(hide_password=False)


def _drop_connections(database_url: str) -> int:
    """End every connection to the test's database but this one, as a restart would."""
    with psycopg.connect(_libpq(database_url), autocommit=True) as conn:
        return len(conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                   .fetchall())


@pytest.mark.slow
@pytest.mark.both_backends
def test_postgresql_dropping_every_connection_mid_stream_loses_and_doubles_nothing(
        app, database_url, backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("a PostgreSQL fault")
    import threading
    bills = seed_billed_workers(app, 48)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    server = start_gunicorn(database_url, tmp_path)
    outcomes = {bill["code"]: Outcome(bill["code"]) for bill in bills}
    done: list[str] = []
    lock = threading.Lock()
    dropped = []
    try:
        def phone_worker(share, username):
            phone = Phone(server.port)
            phone.login(username)
            for bill in share:
                pay(phone, bill, outcomes[bill["code"]], max_attempts=20)
                with lock:
                    done.append(bill["code"])

        shares = [[b for i, b in enumerate(bills) if i % 4 == t] for t in range(4)]
        pool = [threading.Thread(target=phone_worker, args=(share, share[0]["agent"]))
                for share in shares]
        for thread in pool:
            thread.start()
        for k in range(4):
            target = len(bills) * (k + 1) // 6
            while len(done) < target and any(t.is_alive() for t in pool):
                time.sleep(0.005)
            dropped.append(_drop_connections(database_url))
        for thread in pool:
            thread.join(timeout=300)
        # Reconnected by itself: a fresh page after the last drop answers.
        assert Phone(server.port).request("GET", "/healthz")[0] == 200
    finally:
        server.stop()

    failures = [failure for o in outcomes.values() for failure in o.failures]
    # A dropped connection is a clear 503 (or no answer at all), never a 500.
    assert all(f in ("POST 503", "GET 503") or not f.startswith(("POST", "GET")) for f in failures), failures
    with app.app_context():
        for code, outcome in outcomes.items():
            bill = db.session.scalars(select(Bill).where(Bill.code == code)).one()
            rows = db.session.scalars(select(Collection).where(Collection.bill_id == bill.id)).all()
            assert outcome.receipt, f"bill {code} never got a receipt: {outcome.failures}"
            assert [row.receipt_number for row in rows] == [outcome.receipt]
        collections = db.session.scalar(select(func.count()).select_from(Collection))
        ledger = db.session.scalar(select(func.count()).select_from(LedgerEntry)
                                   .where(LedgerEntry.kind == "collection"))
        recorded = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                     .where(AuditEvent.action == "collection.record"))
        db.session.remove()
    assert collections == ledger == recorded >= len(bills)
    verify_books(app)
    print(f"\nfault run (postgresql): {len(bills)} bills, every connection dropped "
          f"{len(dropped)} times (backends ended each time: {dropped}), {len(failures)} failed "
          f"requests retried with the same key "
          f"({sorted(set(failures))}), {len(bills)} receipts, every bill paid once")


# --- SQLite on a full disk ----------------------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of the test's own (needs root), unmounted afterwards: (path, resize)."""
    mount = tmp_path / "disk"
    mount.mkdir()

    def resize(kilobytes: int) -> None:
        options = f"size={kilobytes}k" + (",remount" if mount.is_mount() else "")
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
                                capture_output=True, text=True)
        if result.returncode:
            pytest.skip(f"cannot mount a small tmpfs here: {result.stderr.strip()}")

    yield mount, resize
    if mount.is_mount():
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_sqlite_on_a_full_disk_says_so_and_half_writes_nothing(app, database_url, tmp_path,
                                                               small_disk):
    bills = seed_billed_workers(app, 30, agents=("agent1",))
    with app.app_context():
        db.session.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()
    source = Path(sa.engine.make_url(database_url).database)
    mount, resize = small_disk
    size_kb = source.stat().st_size // 1024
    resize(size_kb + 400)  # room for the file and a few transactions' worth of WAL
    target = mount / "perisai.sqlite3"
    shutil.copy(source, target)
    full = create_app(_config(f"sqlite:///{target}", str(tmp_path)))
    try:
        client = login_client(full, "agent1")
        answers = []
        refused_form = None
        for bill in bills:
            form = dict(collect_form(client, bill["code"]), amount=str(bill["amount"]))
            response = client.post("/collect", data=form)
            answers.append(response.status_code)
            if response.status_code != 303:
                refused_form = form
                body = response.get_data(as_text=True)
                assert response.status_code == 503, body[:500]
                assert "Penyimpanan server penuh" in body and "Tidak ada data yang berubah" in body
                break
        assert refused_form is not None, f"the disk never filled up: {answers}"
        paid = answers.count(303)

        def books_hold():
            with full.app_context():
                from perisai.commands import audit, books
                assert audit.verify(db.session).ok
                assert books.verify_books(db.session).ok
                rows = db.session.scalar(select(func.count()).select_from(Collection))
                events = db.session.scalar(select(func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "collection.record"))
                open_bill = db.session.scalar(select(Bill.status).where(
                    Bill.code == refused_form["code"]))
                db.session.remove()
                return rows, events, open_bill

        # The refused payment left nothing behind: no collection, no ledger entry, no event.
        assert books_hold() == (paid, paid, "open")
        # Room again (the admin freed space): the same form goes through, once.
        resize(size_kb + 4096)
        response = client.post("/collect", data=refused_form)
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        assert client.post("/collect", data=refused_form).status_code == 303  # a retry replays
        assert books_hold() == (paid + 1, paid + 1, "paid")
        print(f"\nfull disk (sqlite, tmpfs of {size_kb + 400} KB): {paid} payments recorded, "
              f"then a 503 'storage full'; after resizing, the same form paid once")
    finally:
        with full.app_context():
            db.session.remove()
            db.engine.dispose()
