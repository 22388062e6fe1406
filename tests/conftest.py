"""Fixtures, flaskr-style: `app`, `client`, `runner`, `auth`, and `backend` with the
`both_backends` marker (the same test on SQLite and on PostgreSQL).

One app per backend serves the whole session; every test gets a database of its own (a copy of
a migrated, demo-seeded template) at the address that app points at, and the app's config and the
process-wide state that `create_app` binds (the rate limiter, the password hash method) are put
back before each test. Outside the tests marked `csrf`, CSRF checks are off and passwords are
hashed with one round of PBKDF2: the tests about CSRF switch it on, and the tests about password
hashing make apps of their own with the production settings."""
from __future__ import annotations

import copy
import itertools
import os
import re
import shutil
import uuid
from pathlib import Path

import flask
import psycopg
import pytest
import sqlalchemy as sa

from perisai import create_app, passwords
from perisai.extensions import db, limiter

DEMO_PASSWORD = "demo-password-123"
PG_URL_VAR = "PERISAI_TEST_DATABASE_URL"
# Werkzeug's format "pbkdf2:<hash>:<rounds>": microseconds instead of scrypt's ~0.1-0.3 s.
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1"
_pg_counter = itertools.count()


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run on SQLite and on PostgreSQL")
    config.addinivalue_line("markers", "csrf: runs with CSRF protection on (it is off elsewhere)")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("backend", ["sqlite", "postgresql"] if both else ["sqlite"],
                             indirect=True)


def pytest_collection_modifyitems(config, items):
    """Every PostgreSQL parametrization is marked `postgres`, so `-m "not postgres"` leaves it out."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def backend(request):
    if request.param == "postgresql" and not os.environ.get(PG_URL_VAR):
        pytest.skip(f"PostgreSQL tests need {PG_URL_VAR} (e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it")
    return request.param


def _config(url: str, instance: str) -> dict:
    """The test settings, for `app` and for tests that make an app of their own."""
    return {"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False, "SERVER_NAME": "perisai.test",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
            "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_METHOD": CHEAP_PASSWORD_HASH}


def _build(url: str, instance: str, password_hash_method: str | None = CHEAP_PASSWORD_HASH) -> None:
    """Migrate the database at `url`, load the rates and the demo data (users with DEMO_PASSWORD,
    hashed with `password_hash_method`; None is the production default)."""
    app = create_app(dict(_config(url, instance), PASSWORD_HASH_METHOD=password_hash_method))
    with app.app_context():
        from flask_migrate import upgrade
        from perisai.commands import demo
        from perisai.commands.rates import seed_rates
        upgrade(directory=app.extensions["migrate"].directory)
        seed_rates(db.session)
        demo.seed(db.session, DEMO_PASSWORD)
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("template")
    path = folder / "template.sqlite3"
    _build(f"sqlite:///{path}", str(folder))
    return path


@pytest.fixture(scope="session")
def pg_template():
    base = os.environ.get(PG_URL_VAR)
    if not base:
        return None
    name = f"perisai_tpl_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(base).set(database=name)
    _build(url.render_as_string(hide_password=False), "")
    yield admin, name
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


class SQLiteDatabase:
    """A fixed file, replaced by a copy of the template before each test."""

    def __init__(self, template: Path, path: Path):
        self.template, self.path = template, path
        self.url = f"sqlite:///{path}"

    def reset(self) -> None:
        # Unlinked, not overwritten: a connection left open somewhere keeps the old file.
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.template, self.path)


class PostgresDatabase:
    """One database for the session, put back to the template's rows before each test: every
    table emptied and refilled with COPY, every sequence set where the template left it.
    Dropping and re-creating a database forces a checkpoint (1-2 s on this machine), and TRUNCATE
    of 20 tables costs ~0.5 s of file work; DELETE of a few hundred rows takes milliseconds.
    Tests change rows, never the schema."""

    def __init__(self, admin: sa.Engine, template_name: str):
        self.admin = admin
        self.name = f"perisai_t_{os.getpid()}_{next(_pg_counter)}"
        self.url = _pg_url(self.name)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{self.name}" TEMPLATE "{template_name}"')
        with psycopg.connect(_libpq(template_name)) as conn:
            present = {name for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
            ordered = [table.name for table in db.metadata.sorted_tables if table.name in present]
            self.tables = ordered + sorted(present - set(ordered))  # alembic_version
            self.rows = {table: _copy_out(conn, table) for table in self.tables}
            # (name, next value, whether nextval() returns it as is) as the template has them
            self.sequences = conn.execute(
                "SELECT format('%I.%I', schemaname, sequencename), coalesce(last_value, start_value),"
                " last_value IS NOT NULL FROM pg_sequences").fetchall()

    def reset(self) -> None:
        with psycopg.connect(_libpq(self.name)) as conn:
            # A connection a test left open would hold locks: end it, as DROP … WITH (FORCE) did.
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                         " WHERE datname = current_database() AND pid <> pg_backend_pid()")
            for table in reversed(self.tables):  # the rows that refer to others first
                conn.execute(f'DELETE FROM "{table}"')
            with conn.cursor() as cursor:
                for table in self.tables:
                    if self.rows[table]:
                        with cursor.copy(f'COPY "{table}" FROM STDIN') as copy:
                            copy.write(self.rows[table])
            for sequence, value, called in self.sequences:
                conn.execute("SELECT setval(%s, %s, %s)", (sequence, value, called))

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _pg_url(name: str) -> str:
    return sa.engine.make_url(os.environ[PG_URL_VAR]).set(database=name) \
        .render_as_string(hide_password=False)


def _libpq(name: str) -> str:
    """The libpq address of database `name` on the test server (for psycopg itself)."""
    return sa.engine.make_url(_pg_url(name)).set(drivername="postgresql") \
        .render_as_string(hide_password=False)


def _copy_out(conn, table: str) -> bytes:
    data = bytearray()
    with conn.cursor().copy(f'COPY "{table}" TO STDOUT') as copy:
        for chunk in copy:
            data += chunk
    return bytes(data)


@pytest.fixture(scope="session")
def sqlite_database(sqlite_template, tmp_path_factory):
    return SQLiteDatabase(sqlite_template, tmp_path_factory.mktemp("db") / "perisai.sqlite3")


@pytest.fixture(scope="session")
def postgresql_database(pg_template):
    database = PostgresDatabase(*pg_template)
    yield database
    database.drop()


@pytest.fixture
def database_url(backend, request):
    """The address of this test's fresh database (the same address for every test of a backend,
    so that one app can serve them all)."""
    database = request.getfixturevalue(f"{backend}_database")
    database.reset()
    return database.url


@pytest.fixture(scope="session")
def _shared_apps():
    """backend -> (app, its config as created), made on first use."""
    apps: dict[str, tuple[flask.Flask, dict]] = {}
    yield apps
    for app, _ in apps.values():
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def app(backend, database_url, _shared_apps, tmp_path_factory, request):
    if backend not in _shared_apps:
        instance = tmp_path_factory.mktemp(f"instance-{backend}")
        made = create_app(_config(database_url, str(instance)))
        _shared_apps[backend] = made, copy.deepcopy(made.config)
    app, pristine = _shared_apps[backend]
    assert app.config["SQLALCHEMY_DATABASE_URI"] == database_url
    # Another app made since (a test's own, or the browser tests' server) rebinds these.
    limiter.init_app(app)
    passwords.configure(app.config["PASSWORD_HASH_METHOD"])
    if request.node.get_closest_marker("csrf"):
        app.config["WTF_CSRF_ENABLED"] = True
    yield app
    # A response streamed with its context (a CSV) and never read to the end keeps that context,
    # and its database session, pushed: pop it so the next test starts clean, and say so.
    leaked = 0
    while flask.has_app_context():
        flask.globals.app_ctx._get_current_object().pop()
        leaked += 1
    with app.app_context():
        db.session.remove()
        db.engine.dispose()  # the next test's database replaces this one's
    app.config.clear()
    app.config.update(copy.deepcopy(pristine))
    assert not leaked, f"the test left {leaked} app context(s) pushed (close streamed responses)"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_enabled(client) -> bool:
    return client.application.config.get("WTF_CSRF_ENABLED", True)


def csrf_token(client, path: str = "/login") -> str:
    """The CSRF token `path` renders; with CSRF off (outside `csrf` tests) no request is made
    and the token is empty."""
    if not csrf_enabled(client):
        return ""
    html = client.get(path).get_data(as_text=True)
    match = TOKEN.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, username: str = "agent1", password: str = DEMO_PASSWORD):
        token = csrf_token(self.client)
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token})

    def logout(self):
        return self.client.post("/logout", data={"csrf_token": csrf_token(self.client, "/")})

    def token(self, path: str = "/") -> str:
        return csrf_token(self.client, path)


@pytest.fixture
def auth(client):
    return Auth(client)
