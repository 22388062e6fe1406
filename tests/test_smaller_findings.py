"""Issue 11, finding 15: /verify does the same work for an existing receipt with a wrong birth
date as for an unknown receipt, and production refuses the development secret key that
`make run` leaves in instance/secret_key."""
from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import event, select

from helpers import paid_receipt
from perisai import _ensure_secret_key
from perisai.domain.codes import RECEIPT_NUMBER_LENGTH, with_check_digit
from perisai.extensions import db
from perisai.models import Collection


def statements_for(app, client, path: str) -> tuple[int, list[str]]:
    """(status, the SQL statements run) for one GET."""
    seen: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split()[0])

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return response.status_code, seen


@pytest.mark.both_backends
def test_verify_does_the_same_work_for_a_wrong_birth_date_and_an_unknown_receipt(app, client, auth):
    auth.login("agent1")
    receipt, _ = paid_receipt(client)
    client.post("/logout")
    unknown = with_check_digit("9" * (RECEIPT_NUMBER_LENGTH - 1))
    assert unknown != receipt
    with app.app_context():
        assert db.session.scalar(select(Collection.id).where(
            Collection.receipt_number == unknown)) is None
    client.get(f"/verify?receipt={unknown}&birth_date=1995-08-12")  # warm up (connection, caches)
    wrong_birth = statements_for(app, client, f"/verify?receipt={receipt}&birth_date=1995-08-13")
    unknown_receipt = statements_for(app, client, f"/verify?receipt={unknown}&birth_date=1995-08-12")
    assert wrong_birth[0] == unknown_receipt[0] == 404
    assert wrong_birth[1] == unknown_receipt[1]
    right = client.get(f"/verify?receipt={receipt}&birth_date=1995-08-12")
    assert right.status_code == 200


def _bare_app(tmp_path, **config) -> Flask:
    app = Flask("perisai-key-test", instance_path=str(tmp_path))
    app.config.update(dict(SECRET_KEY=None, SECRET_KEY_FALLBACKS=[]), **config)
    return app


def test_production_refuses_the_development_key_file(tmp_path, monkeypatch):
    monkeypatch.delenv("PERISAI_DEV", raising=False)
    (tmp_path / "secret_key").write_text("left-behind-by-make-run")
    with pytest.raises(RuntimeError, match="development key"):
        _ensure_secret_key(_bare_app(tmp_path))


@pytest.mark.parametrize("where", ["SECRET_KEY", "SECRET_KEY_FALLBACKS"])
def test_production_refuses_the_development_key_copied_into_the_environment(tmp_path, monkeypatch,
                                                                           where):
    monkeypatch.delenv("PERISAI_DEV", raising=False)
    (tmp_path / "secret_key").write_text("left-behind-by-make-run")
    value = "left-behind-by-make-run"
    app = _bare_app(tmp_path)
    if where == "SECRET_KEY_FALLBACKS":
        app.config.update(SECRET_KEY="another-key", SECRET_KEY_FALLBACKS=[value])
    else:
        app.config.update(SECRET_KEY=value)
    with pytest.raises(RuntimeError, match="development key"):
        _ensure_secret_key(app)


def test_production_with_its_own_key_starts_beside_a_development_file(tmp_path, monkeypatch):
    monkeypatch.delenv("PERISAI_DEV", raising=False)
    (tmp_path / "secret_key").write_text("left-behind-by-make-run")
    app = _bare_app(tmp_path, SECRET_KEY="a-real-production-key")
    _ensure_secret_key(app)
    assert app.config["SECRET_KEY"] == "a-real-production-key"


def test_production_without_any_key_refuses(tmp_path, monkeypatch):
    monkeypatch.delenv("PERISAI_DEV", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        _ensure_secret_key(_bare_app(tmp_path))
    assert not (tmp_path / "secret_key").exists()


def test_development_makes_and_reuses_its_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PERISAI_DEV", "1")
    first = _bare_app(tmp_path)
    _ensure_secret_key(first)
    again = _bare_app(tmp_path)
    _ensure_secret_key(again)
    assert first.config["SECRET_KEY"] == again.config["SECRET_KEY"] == \
        (tmp_path / "secret_key").read_text().strip()
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
