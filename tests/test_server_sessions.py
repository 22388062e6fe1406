"""Issue 11, finding 7: logout and the idle timeout end a session on the server, so a copied
session cookie is useless after either, however often it is re-sent."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from conftest import DEMO_PASSWORD
from perisai.domain import clock
from perisai.extensions import db


def logged_in(app, username: str = "agent1"):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 303
    return client


def cookie_of(client) -> str:
    return client.get_cookie("session", domain="perisai.test").value


def with_cookie(app, cookie: str):
    """Another browser, holding a copy of the cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie, domain="perisai.test")
    return other


def is_in(client) -> bool:
    response = client.get("/workers")
    assert response.status_code in (200, 302)
    return response.status_code == 200


@pytest.fixture
def later(monkeypatch):
    """Move the server's clock forward by some minutes (cumulative)."""
    real = clock.utcnow
    offset = timedelta()

    def jump(minutes: float) -> None:
        nonlocal offset
        offset += timedelta(minutes=minutes)
        monkeypatch.setattr(clock, "utcnow", lambda: real() + offset)
    return jump


@pytest.mark.both_backends
def test_a_copied_cookie_is_useless_after_logout(app):
    client = logged_in(app)
    copy = cookie_of(client)
    assert is_in(with_cookie(app, copy))
    assert client.post("/logout").status_code == 303
    assert not is_in(client)
    thief = with_cookie(app, copy)
    assert not is_in(thief)
    assert not is_in(thief)  # and stays useless, re-sent or not


@pytest.mark.both_backends
def test_the_idle_timeout_is_enforced_on_the_server(app, later):
    client = logged_in(app)
    copy = cookie_of(client)
    later(31)  # the browser would have dropped the cookie; a copy is still sent
    assert not is_in(with_cookie(app, copy))
    assert not is_in(client)


def test_use_keeps_a_session_alive(app, later):
    client = logged_in(app)
    for _ in range(4):
        later(20)  # 80 minutes in all, never 30 idle
        assert is_in(client)
    later(31)
    assert not is_in(client)


def test_logout_on_one_device_leaves_the_others(app):
    phone, office = logged_in(app), logged_in(app)
    phone.post("/logout")
    assert not is_in(phone)
    assert is_in(office)


def test_a_new_login_clears_old_rows_of_that_user(app, later):
    for _ in range(3):
        logged_in(app).post("/logout")
    later(40)
    logged_in(app)
    from perisai.models import LoginSession
    with app.app_context():
        rows = db.session.scalar(select(func.count()).select_from(LoginSession))
    assert rows == 1


def test_a_cookie_without_a_server_session_is_refused(app):
    """A cookie signed with the key but naming no session (forged, or from before this change)."""
    client = logged_in(app)
    with client.session_transaction() as session:
        session["sid"] = "made-up-token"
    assert not is_in(client)
