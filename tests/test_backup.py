"""`flask backup DEST`: a consistent copy of the live SQLite database, taken while agents keep
collecting, that opens as the app's database and passes audit-verify and ledger-verify."""
from __future__ import annotations

import os
import sqlite3
import stat
import threading
import time

import pytest
from sqlalchemy import func, select

from conftest import _config
from perisai import create_app
from perisai.domain.clock import local_today
from perisai.extensions import db
from perisai.models import AuditEvent, Collection, LedgerEntry, User
from perisai.backup import pg_dump_command
from perisai.commands import Actor
from perisai.commands.collecting import collect
from test_faults import seed_billed_workers


def counts(app) -> dict[str, int]:
    with app.app_context():
        result = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                  for model in (Collection, LedgerEntry, AuditEvent)}
        db.session.remove()
    return result


def collect_all(app, bills, stop: threading.Event, done: list) -> None:
    """A busy agent: one collection after another through the service layer."""
    with app.app_context():
        session = db.session
        today = local_today("Asia/Jakarta")
        for n, bill in enumerate(bills):
            if stop.is_set():
                break
            agent = session.scalars(select(User).where(User.username == bill["agent"])).one()
            collect(session, code=bill["code"], amount=bill["amount"],
                    idempotency_key=f"backup-test-key-{n:06d}", agent=agent,
                    actor=Actor(agent.id, agent.username, "127.0.0.1"), today=today)
            done.append(bill["code"])
            session.remove()
        session.remove()


@pytest.mark.slow  # writes while copying, restores, verifies: ~5 s
def test_backup_while_collecting_restores_and_verifies(app, runner, tmp_path):
    bills = seed_billed_workers(app, 120, start=6000)
    stop, done = threading.Event(), []
    writer = threading.Thread(target=collect_all, args=(app, bills, stop, done))
    writer.start()
    copies = []
    try:
        while len(done) < 5:
            time.sleep(0.01)
        for n in range(4):
            dest = tmp_path / f"copy{n}.sqlite3"
            before = len(done)
            result = runner.invoke(args=["backup", str(dest)])
            assert result.exit_code == 0, result.output
            assert "Backup written to" in result.output
            copies.append((dest, before, len(done)))
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join(timeout=120)
    assert any(0 < written < len(bills) for _, written, _ in copies), "no backup was taken mid-stream"
    for dest, written_before, written_after in copies:
        assert stat.S_IMODE(dest.stat().st_mode) == 0o600
        assert not os.path.exists(f"{dest}-wal")
        restored = create_app(_config(f"sqlite:///{dest}", str(tmp_path)))
        try:
            restored_runner = restored.test_cli_runner()
            with restored.app_context():  # as `flask --app perisai audit-verify` runs it
                audit = restored_runner.invoke(args=["audit-verify"])
                assert audit.exit_code == 0 and "intact" in audit.output, audit.output
                ledger = restored_runner.invoke(args=["ledger-verify"])
                assert ledger.exit_code == 0, ledger.output
            copy = counts(restored)
            # A snapshot: every collection has its ledger row and its audit event, none half-done.
            assert copy["ledger_entries"] == copy["collections"]
            assert written_before <= copy["collections"] <= written_after + 1
            # The restored copy works as the app's database.
            client = restored.test_client()
            assert client.get("/healthz").status_code == 200
        finally:
            with restored.app_context():
                db.session.remove()
                db.engine.dispose()
    live = counts(app)
    assert live["collections"] == len(done)


def test_backup_into_a_folder_and_never_over_a_file(runner, tmp_path):
    folder = tmp_path / "backups"
    folder.mkdir()
    result = runner.invoke(args=["backup", str(folder)])
    assert result.exit_code == 0, result.output
    made = list(folder.glob("perisai-*.sqlite3"))
    assert len(made) == 1
    with sqlite3.connect(made[0]) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    again = runner.invoke(args=["backup", str(made[0])])
    assert again.exit_code != 0 and "already exists" in again.output
    missing = runner.invoke(args=["backup", str(tmp_path / "no-such-folder" / "x.sqlite3")])
    assert missing.exit_code != 0 and "does not exist" in missing.output
    assert not list(tmp_path.rglob("*.partial"))


@pytest.mark.both_backends
def test_postgresql_backup_prints_pg_dump_and_fails(app, runner, backend, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "dump.pgc")])
    if backend == "sqlite":
        assert result.exit_code == 0
        return
    assert result.exit_code == 2
    assert "pg_dump --format=custom" in result.output and "dump.pgc" in result.output
    assert "pg_restore" in result.output


def test_pg_dump_command_hides_the_password():
    command = pg_dump_command("postgresql+psycopg://perisai:s3cret@db.example:5433/perisai", "/b/x.dump")
    assert "s3cret" not in command
    assert command == ("pg_dump --format=custom --no-owner --file=/b/x.dump --host=db.example "
                       "--port=5433 --username=perisai perisai")
