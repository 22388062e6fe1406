"""Login abuse and sessions: rate limits (memory and Redis), no username oracle, no fixation,
cookie flags, idle timeout."""
from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner

from conftest import DEMO_PASSWORD, _config, csrf_token
from perisai import create_app
from perisai.extensions import db

REDIS_VAR = "PERISAI_TEST_REDIS_URL"


def limited_app(database_url, tmp_path, storage="memory://", **extra):
    config = dict(_config(database_url, str(tmp_path)), RATELIMIT_ENABLED=True,
                  RATELIMIT_STORAGE_URI=storage)
    config.update(extra)
    return create_app(config)


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    if request.param == "memory":
        yield "memory://"
        return
    url = os.environ.get(REDIS_VAR)
    if not url:
        pytest.skip(f"Redis rate-limit storage not tested: set {REDIS_VAR} "
                    "(e.g. redis://127.0.0.1:6379/15; .ci/run sets it)")
    import redis
    client = redis.Redis.from_url(url)
    client.flushdb()  # a database of its own (15 in CI): only test keys live there
    yield url
    client.flushdb()
    client.close()


@pytest.fixture
def make_app(database_url, tmp_path):
    apps = []

    def make(storage="memory://", **extra):
        app = limited_app(database_url, tmp_path, storage, **extra)
        apps.append(app)
        return app
    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def attempt(client, username, password, address="10.0.0.1"):
    environ = {"REMOTE_ADDR": address}
    html = client.get("/login", environ_base=environ).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                       environ_base=environ)


def test_failed_logins_slow_the_account_from_any_address(make_app, storage):
    app = make_app(storage)
    client = app.test_client()
    for n in range(5):
        assert attempt(client, "agent1", "wrong-password", f"10.0.1.{n}").status_code == 422
    # Sixth try, from yet another address, even with the right password: slowed down.
    response = attempt(client, "agent1", DEMO_PASSWORD, "10.0.1.99")
    assert response.status_code == 429
    assert "Terlalu banyak percobaan" in response.get_data(as_text=True)
    # Another account is not affected, and the answer is the same for a name that does not exist.
    assert attempt(client, "agent2", DEMO_PASSWORD, "10.0.1.100").status_code == 303
    for n in range(5):
        assert attempt(app.test_client(), "no.such.user", "x" * 9, f"10.0.2.{n}").status_code == 422
    assert attempt(app.test_client(), "no.such.user", "x" * 9, "10.0.2.99").status_code == 429


def test_successful_logins_do_not_count(make_app, storage):
    app = make_app(storage, RATELIMIT_LOGIN="100 per minute")
    for n in range(7):
        client = app.test_client()
        assert attempt(client, "agent1", DEMO_PASSWORD, f"10.0.3.{n}").status_code == 303


def test_login_limited_per_address(make_app, storage):
    app = make_app(storage, RATELIMIT_LOGIN="4 per minute")
    client = app.test_client()
    statuses = [attempt(client, f"user{n}", "wrong-password", "10.0.4.1").status_code for n in range(5)]
    assert statuses == [422, 422, 422, 422, 429]
    assert attempt(client, "user9", "wrong-password", "10.0.4.2").status_code == 422


@pytest.mark.parametrize("path", ["/verify?receipt=123456789012&birth_date=1990-01-01",
                                  "/status?member=12345678901&birth_date=1990-01-01",
                                  "/sponsored?nik=3273015208950007", "/s/forged-token"])
def test_public_lookups_are_limited(make_app, storage, path):
    app = make_app(storage, RATELIMIT_PUBLIC="3 per minute")
    client = app.test_client()
    environ = {"REMOTE_ADDR": "10.0.5.1"}
    statuses = [client.get(path, environ_base=environ).status_code for _ in range(4)]
    assert statuses[:3] != [429] * 3 and 429 not in statuses[:3]
    assert statuses[3] == 429
    assert client.get(path, environ_base={"REMOTE_ADDR": "10.0.5.2"}).status_code != 429
    assert client.get("/healthz", environ_base=environ).status_code == 200  # not limited


def test_redis_limits_hold_across_workers(make_app, tmp_path):
    """Two app instances (two gunicorn workers) sharing Redis see one counter."""
    url = os.environ.get(REDIS_VAR)
    if not url:
        pytest.skip(f"Redis rate-limit storage not tested: set {REDIS_VAR}")
    import redis
    store = redis.Redis.from_url(url)
    store.flushdb()
    try:
        first = make_app(url)
        for n in range(5):
            assert attempt(first.test_client(), "agent3", "wrong-password", f"10.0.6.{n}").status_code == 422
        assert store.dbsize() > 0, "no rate-limit keys were written to Redis"
        second = make_app(url)  # a fresh limiter storage object, as in another process
        assert attempt(second.test_client(), "agent3", DEMO_PASSWORD, "10.0.6.50").status_code == 429
    finally:
        store.flushdb()
        store.close()


def _without_tokens(html: str) -> str:
    return re.sub(r'value="[^"]{40,}"|"X-CSRFToken": "[^"]+"', "TOKEN", html)


def test_messages_do_not_reveal_whether_a_username_exists(client):
    unknown = attempt(client, "nobody.here", "wrong-password")
    wrong = attempt(client, "agent1", "wrong-password")
    assert unknown.status_code == wrong.status_code == 422
    unknown_body = _without_tokens(unknown.get_data(as_text=True)).replace("nobody.here", "NAME")
    wrong_body = _without_tokens(wrong.get_data(as_text=True)).replace("agent1", "NAME")
    assert unknown_body == wrong_body
    assert "Nama pengguna atau kata sandi salah." in wrong_body


def test_new_session_on_login(client):
    token_before = csrf_token(client, "/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    response = client.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD,
                                           "csrf_token": token_before})
    assert response.status_code == 303
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id")
        assert session.permanent
    assert csrf_token(client, "/workers/new") != token_before


def test_session_cookie_flags(make_app):
    app = make_app(RATELIMIT_ENABLED=False)
    response = attempt(app.test_client(), "agent1", DEMO_PASSWORD)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # permanent: the idle timeout applies
    assert not any(c.startswith("remember_token=") for c in response.headers.getlist("Set-Cookie"))

    secure = make_app(RATELIMIT_ENABLED=False, SESSION_COOKIE_SECURE=True)
    response = attempt(secure.test_client(), "agent1", DEMO_PASSWORD)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_idle_session_expires_after_30_minutes(app, client, auth, monkeypatch):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=30)
    assert auth.login("agent1").status_code == 303
    assert client.get("/workers").status_code == 200
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 29 * 60)
    assert client.get("/workers").status_code == 200  # still active; the cookie is renewed
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 29 * 60 + 31 * 60)
    response = client.get("/workers")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.get("/workers", headers={"HX-Request": "true"})
    assert response.status_code == 401 and "/login" in response.headers["HX-Redirect"]


def test_secret_key_rotation_keeps_slips_and_sessions_with_fallback(make_app, client, auth):
    """Rotating SECRET_KEY: with the old key in SECRET_KEY_FALLBACKS, printed slip links and
    open sessions keep working; without it, they stop (a slip link then says 'not found')."""
    from helpers import (amount_of_bill, bill_code_from, collect_form, issue_bill, receipt_from,
                         register, worker_id_from)
    auth.login("agent1")
    worker_id = worker_id_from(register(client))
    code = bill_code_from(issue_bill(client, worker_id, 1))
    number = receipt_from(client.post("/collect", data=dict(collect_form(client, code),
                                                             amount=str(amount_of_bill(client, code)))))
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    slip_path = re.search(r'id="slip-url" value="http://perisai.test([^"]+)"', slip).group(1)
    old_session = client.get_cookie("session", domain="perisai.test").value

    rotated = make_app(RATELIMIT_ENABLED=False, SECRET_KEY="new-secret-key",
                       SECRET_KEY_FALLBACKS=["test-secret-key"])
    visitor = rotated.test_client()
    assert visitor.get(slip_path).status_code == 200
    agent = rotated.test_client()
    agent.set_cookie("session", old_session, domain="perisai.test")
    assert agent.get("/workers").status_code == 200
    # New links are signed with the new key.
    new_slip = agent.get(f"/receipts/{number}").get_data(as_text=True)
    assert slip_path not in new_slip

    without = make_app(RATELIMIT_ENABLED=False, SECRET_KEY="new-secret-key", SECRET_KEY_FALLBACKS=[])
    assert without.test_client().get(slip_path).status_code == 404
    stranger = without.test_client()
    stranger.set_cookie("session", old_session, domain="perisai.test")
    assert stranger.get("/workers").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/", "/\\evil.example",
                                    "/\t/evil.example", "/\\/evil.example", "javascript:alert(1)",
                                    " //evil.example", "/%2F/evil.example"])
def test_no_open_redirect_after_login_or_language_switch(app, target):
    from urllib.parse import urlsplit
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post("/lang", data={"next": target, "lang": "en", "csrf_token": token})
    locations = [response.headers["Location"]]
    response = client.post("/login", query_string={"next": target},
                           data={"username": "agent1", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    locations.append(response.headers["Location"])
    for location in locations:
        parts = urlsplit(location)
        assert parts.scheme in ("", "http") and parts.netloc in ("", "perisai.test"), location
        path = parts.path
        assert path.startswith("/") and not path.startswith("//") and "\\" not in path \
            and "\t" not in path, location
