"""The command-line tools on a fresh database: `init-db` builds the schema and the rates and can be
run again; `seed-demo` creates the demo branches and users once, and a re-run with another
password makes that password the one that works; a too-short password is refused before anything
is written; `create-user` adds an agent to a known branch and refuses what it cannot do."""
from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from conftest import PG_URL_VAR, Auth, _config
from perisai import create_app
from perisai.extensions import db
from perisai.models import (AgentAccount, AuditEvent, Branch, RateSchedule, User, Worker)
from perisai.commands import audit

DEMO_USERS = {"agent1": ("agent", "BDG01"), "agent2": ("agent", "BDG01"),
              "supervisor1": ("supervisor", "BDG01"), "agent3": ("agent", "MKS01"),
              "supervisor2": ("supervisor", "MKS01"), "admin": ("admin", None)}
FIRST, SECOND = "first-demo-pass", "second-demo-pass"


@pytest.fixture
def empty_database_url(backend, tmp_path):
    """A database with nothing in it: an empty SQLite file, or a new PostgreSQL database."""
    if backend == "sqlite":
        path = tmp_path / "empty.sqlite3"
        path.touch()
        yield f"sqlite:///{path}"
        return
    base = os.environ[PG_URL_VAR]
    name = f"perisai_cli_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def fresh_app(empty_database_url, tmp_path):
    app = create_app(_config(empty_database_url, str(tmp_path)))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def cli(fresh_app, monkeypatch):
    """Run a command as `flask --app perisai …` would; PERISAI_DEMO_PASSWORD unset unless a
    test sets it."""
    monkeypatch.delenv("PERISAI_DEMO_PASSWORD", raising=False)
    runner = fresh_app.test_cli_runner()

    def invoke(*args, env=None):
        return runner.invoke(args=list(args), env=env)
    return invoke


def counts(app) -> dict[str, int]:
    with app.app_context():
        session = db.session
        result = {name: session.scalar(select(func.count()).select_from(model))
                  for name, model in (("branches", Branch), ("users", User), ("workers", Worker),
                                      ("accounts", AgentAccount), ("rates", RateSchedule),
                                      ("audit", AuditEvent))}
        session.remove()
    return result


def users(app) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.execute(select(User.username, User.role, Branch.code, User.session_version)
                                  .outerjoin(Branch, Branch.id == User.branch_id)).all()
        db.session.remove()
    return {name: (role, branch, version) for name, role, branch, version in rows}


def can_log_in(app, username: str, password: str) -> bool:
    response = Auth(app.test_client()).login(username, password)
    assert response.status_code in (303, 422), response.status_code
    return response.status_code == 303


def tables(app) -> set[str]:
    with app.app_context():
        names = set(sa.inspect(db.engine).get_table_names())
        db.session.remove()
    return names


@pytest.mark.both_backends
def test_init_db_builds_the_schema_and_rates_and_can_run_again(fresh_app, cli):
    assert "users" not in tables(fresh_app)
    first = cli("init-db")
    assert first.exit_code == 0, first.output
    assert "Database ready" in first.output and "rate rows added" in first.output
    assert {"users", "branches", "workers", "bills", "collections", "ledger_entries",
            "audit_events", "rate_schedules", "alembic_version"} <= tables(fresh_app)
    after_first = counts(fresh_app)
    assert after_first["rates"] > 0
    assert (after_first["branches"], after_first["users"]) == (0, 0)  # init-db seeds no people

    second = cli("init-db")
    assert second.exit_code == 0, second.output
    assert "0 rate rows added" in second.output
    assert counts(fresh_app) == after_first


@pytest.mark.both_backends
def test_seed_demo_twice_creates_everything_once(fresh_app, cli):
    assert cli("init-db").exit_code == 0
    first = cli("seed-demo", "--password", FIRST)
    assert first.exit_code == 0, first.output
    assert FIRST in first.output
    seeded = counts(fresh_app)
    assert (seeded["branches"], seeded["users"], seeded["accounts"]) == (2, 6, 3)
    assert {name: (role, branch) for name, (role, branch, _) in users(fresh_app).items()} == DEMO_USERS

    second = cli("seed-demo", "--password", FIRST)
    assert second.exit_code == 0, second.output
    assert "0 new" in second.output and "reset" not in second.output
    assert counts(fresh_app) == seeded  # not even an audit event: nothing changed
    assert can_log_in(fresh_app, "agent1", FIRST)
    assert can_log_in(fresh_app, "admin", FIRST)


@pytest.mark.both_backends
def test_seed_demo_with_another_password_resets_the_demo_users_to_it(fresh_app, cli):
    assert cli("init-db").exit_code == 0
    assert cli("seed-demo", "--password", FIRST).exit_code == 0
    before = counts(fresh_app)
    versions = {name: version for name, (_, _, version) in users(fresh_app).items()}
    old_session = fresh_app.test_client()
    assert Auth(old_session).login("agent1", FIRST).status_code == 303
    assert old_session.get("/").status_code == 200

    result = cli("seed-demo", "--password", SECOND)
    assert result.exit_code == 0, result.output
    assert "0 new" in result.output and "Password reset for" in result.output
    assert SECOND in result.output
    for name in DEMO_USERS:
        assert not can_log_in(fresh_app, name, FIRST), name
        assert can_log_in(fresh_app, name, SECOND), name
    assert {name: version for name, (_, _, version) in users(fresh_app).items()} == {
        name: version + 1 for name, version in versions.items()}
    # The session opened with the old password ends at its next request.
    response = old_session.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    after = counts(fresh_app)
    assert after == dict(before, audit=before["audit"] + len(DEMO_USERS))  # nothing created
    with fresh_app.app_context():
        resets = db.session.execute(select(AuditEvent.actor, AuditEvent.object_id).where(
            AuditEvent.action == "user.reset_password")).all()
        assert sorted(resets) == sorted(("system", name) for name in DEMO_USERS)
        assert audit.verify(db.session).ok
        db.session.remove()


@pytest.mark.both_backends
def test_seed_demo_takes_the_password_from_the_environment(fresh_app, cli):
    assert cli("init-db").exit_code == 0
    result = cli("seed-demo", env={"PERISAI_DEMO_PASSWORD": "from-the-environment"})
    assert result.exit_code == 0, result.output
    assert "from-the-environment" in result.output
    assert can_log_in(fresh_app, "supervisor1", "from-the-environment")
    assert not can_log_in(fresh_app, "supervisor1", "perisai-demo")  # not the default
    # --password wins over the environment.
    result = cli("seed-demo", "--password", SECOND, env={"PERISAI_DEMO_PASSWORD": "from-the-environment"})
    assert result.exit_code == 0, result.output
    assert can_log_in(fresh_app, "supervisor1", SECOND)


@pytest.mark.both_backends
@pytest.mark.parametrize("how", ["option", "environment", "empty option"])
def test_a_short_demo_password_is_refused_before_anything_is_written(fresh_app, cli, how):
    assert cli("init-db").exit_code == 0
    empty = counts(fresh_app)
    if how == "option":
        result = cli("seed-demo", "--password", "short")
    elif how == "environment":
        result = cli("seed-demo", env={"PERISAI_DEMO_PASSWORD": "1234567"})
    else:
        result = cli("seed-demo", "--password", "")
    assert result.exit_code == 1, result.output
    assert "at least 8 characters" in result.output and "nothing was changed" in result.output
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert "Traceback" not in result.output
    assert counts(fresh_app) == empty  # no branch, no user

    # On a seeded database the old password stays.
    assert cli("seed-demo", "--password", FIRST).exit_code == 0
    seeded = counts(fresh_app)
    assert cli("seed-demo", "--password", "short").exit_code == 1
    assert counts(fresh_app) == seeded
    assert can_log_in(fresh_app, "agent2", FIRST)


def test_seed_demo_before_init_db_says_what_to_run(fresh_app, cli):
    result = cli("seed-demo", "--password", FIRST)
    assert result.exit_code == 1
    assert "run `flask --app perisai init-db` first" in result.output
    assert "users" not in tables(fresh_app)


@pytest.mark.both_backends
def test_create_user_adds_an_agent_to_a_known_branch(fresh_app, cli):
    assert cli("init-db").exit_code == 0
    assert cli("seed-demo", "--password", FIRST).exit_code == 0
    help_text = cli("create-user", "--help").output
    for option in ("--role", "--branch", "--name", "--password"):
        assert option in help_text
    result = cli("create-user", "agent9", "--role", "agent", "--branch", "MKS01",
                 "--name", "Agen Sembilan", "--password", "agent9-password")
    assert result.exit_code == 0, result.output
    assert "Created agent agent9." in result.output
    with fresh_app.app_context():
        user = db.session.scalars(select(User).where(User.username == "agent9")).one()
        assert (user.role, user.branch.code, user.full_name, user.active) == (
            "agent", "MKS01", "Agen Sembilan", True)
        assert user.agent_code.startswith("MKS01-")
        assert db.session.get(AgentAccount, user.id).cash_on_hand == 0
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.object_id == "agent9")) == "user.create"
        db.session.remove()
    assert can_log_in(fresh_app, "agent9", "agent9-password")

    again = cli("create-user", "agent9", "--role", "agent", "--branch", "MKS01",
                "--password", "agent9-password")
    assert again.exit_code == 1 and "sudah dipakai" in again.output


@pytest.mark.parametrize("args, code, message", [
    (["--role", "agent", "--branch", "JKT99"], 1, "Unknown branch 'JKT99'"),
    (["--role", "supervisor"], 1, "No --branch given"),
    (["--role", "kasir", "--branch", "BDG01"], 2, "Invalid value for '--role'"),
    (["--role", "agent", "--branch", "BDG01", "--password", "pendek"], 1, "paling sedikit 8 karakter"),
])
def test_create_user_refuses_what_it_cannot_do(fresh_app, cli, args, code, message):
    assert cli("init-db").exit_code == 0
    assert cli("seed-demo", "--password", FIRST).exit_code == 0
    before = counts(fresh_app)
    if "--password" not in args:
        args = args + ["--password", "a-good-password"]
    result = cli("create-user", "newuser", *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    if "Unknown branch" in message or "No --branch" in message:
        assert "BDG01, MKS01" in result.output  # the branches it could have been
    assert counts(fresh_app) == before
