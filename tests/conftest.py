"""Fixtures: a real SQLite file per test (copied from a migrated template) and, for tests marked
`both_backends`, the same test against a fresh PostgreSQL database made from a template."""
from __future__ import annotations

import itertools
import os
import re
import shutil
import uuid

import pytest
import sqlalchemy as sa

from perisai import create_app
from perisai.extensions import db

DEMO_PASSWORD = "demo-password-123"
PG_URL_VAR = "PERISAI_TEST_DATABASE_URL"
_pg_counter = itertools.count()


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run on SQLite and on PostgreSQL")


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_backends") is not None
        metafunc.parametrize("backend", ["sqlite", "postgresql"] if both else ["sqlite"],
                             indirect=True)


@pytest.fixture
def backend(request):
    if request.param == "postgresql" and not os.environ.get(PG_URL_VAR):
        pytest.skip(f"PostgreSQL tests need {PG_URL_VAR} (e.g. "
                    "postgresql+psycopg://postgres@127.0.0.1:5432/test); .ci/run sets it")
    return request.param


def _config(url: str, instance: str) -> dict:
    return {"TESTING": True, "SECRET_KEY": "test-secret-key", "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False, "SERVER_NAME": "perisai.test",
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}}


def _build(url: str, instance: str) -> None:
    app = create_app(_config(url, instance))
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


@pytest.fixture
def database_url(backend, request, tmp_path):
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "perisai.sqlite3"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    admin, template_name = request.getfixturevalue("pg_template")
    name = f"perisai_t_{os.getpid()}_{next(_pg_counter)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"')
    url = sa.engine.make_url(os.environ[PG_URL_VAR]).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(_config(database_url, str(tmp_path)))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token(client, path: str = "/login") -> str:
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
