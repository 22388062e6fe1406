"""Login abuse and sessions: rate limits (memory and Redis), the per-username slowdown (growing
waits, never a lock-out), no username oracle, no fixation, cookie flags (Secure over HTTPS),
idle timeout."""
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


@pytest.fixture
def redis_store():
    """(url, client) of the Redis database for rate-limit tests, emptied before and after."""
    url = os.environ.get(REDIS_VAR)
    if not url:
        pytest.skip(f"Redis rate-limit storage not tested: set {REDIS_VAR} "
                    "(e.g. redis://127.0.0.1:6379/15; .ci/run sets it)")
    import redis
    client = redis.Redis.from_url(url)
    client.flushdb()  # a database of its own (15 in CI): only test keys live there
    yield url, client
    client.flushdb()
    client.close()


@pytest.fixture(params=["memory", "redis"])
def storage(request):
    if request.param == "memory":
        return "memory://"
    return request.getfixturevalue("redis_store")[0]


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
    return client.post("/login", data={"username": username, "password": password},
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
                                  "/sponsored?nik=3273015208950007", "/s/forged-token",
                                  "/status?nik=3273015208950007&birth_date=1990-01-01",
                                  "/card/forged-token"])
def test_public_lookups_are_limited(make_app, storage, path):
    app = make_app(storage, RATELIMIT_PUBLIC="3 per minute")
    client = app.test_client()
    environ = {"REMOTE_ADDR": "10.0.5.1"}
    statuses = [client.get(path, environ_base=environ).status_code for _ in range(4)]
    assert statuses[:3] != [429] * 3 and 429 not in statuses[:3]
    assert statuses[3] == 429
    assert client.get(path, environ_base={"REMOTE_ADDR": "10.0.5.2"}).status_code != 429
    assert client.get("/healthz", environ_base=environ).status_code == 200  # not limited


def test_redis_limits_hold_across_workers(make_app, redis_store):
    """Two app instances (two gunicorn workers) sharing Redis see one counter."""
    url, store = redis_store
    first = make_app(url)
    for n in range(5):
        assert attempt(first.test_client(), "agent3", "wrong-password", f"10.0.6.{n}").status_code == 422
    assert store.dbsize() > 0, "no rate-limit keys were written to Redis"
    second = make_app(url)  # a fresh limiter storage object, as in another process
    assert attempt(second.test_client(), "agent3", DEMO_PASSWORD, "10.0.6.50").status_code == 429


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


@pytest.mark.csrf
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
    from helpers import (amount_of_bill, bill_code_from, collect_form, issue_bill, public_slip_url,
                         receipt_from, register, worker_id_from)
    auth.login("agent1")
    worker_id = worker_id_from(register(client))
    code = bill_code_from(issue_bill(client, worker_id, 1))
    number = receipt_from(client.post("/collect", data=dict(collect_form(client, code),
                                                             amount=str(amount_of_bill(client, code)))))
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    slip_path = public_slip_url(slip).removeprefix("http://perisai.test")
    assert slip_path.startswith("/s/")
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
    if any(ord(ch) < 32 for ch in target):
        # A control character is refused outright (issue 11): no redirect at all.
        assert response.status_code == 400 and "Location" not in response.headers
        response = client.post("/login", query_string={"next": target}, data={
            "username": "agent1", "password": DEMO_PASSWORD, "csrf_token": token})
        assert response.status_code == 400 and "Location" not in response.headers
        return
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


def test_production_hashes_with_scrypt_and_unknown_names_cost_the_same(make_app, monkeypatch):
    """The other tests hash with one PBKDF2 round. Production uses scrypt, and a login for a name
    that does not exist checks the password against an scrypt hash too, so that answer takes
    as long as a wrong password for a real name (the timing tells no usernames)."""
    from perisai import passwords
    from perisai.commands import SYSTEM
    from perisai.commands.accounts import create_user
    from perisai.models import User
    from sqlalchemy import select
    app = make_app(RATELIMIT_ENABLED=False, PASSWORD_HASH_METHOD=None)
    with app.app_context():
        create_user(db.session, username="agent8", full_name="Agen Delapan", role="agent",
                    branch_code="BDG01", password="kata-sandi-asli", actor=SYSTEM)
        stored = db.session.scalar(select(User.password_hash).where(User.username == "agent8"))
        db.session.remove()
    assert stored.startswith("scrypt:")
    checked = []
    real_check = passwords.check_password_hash
    monkeypatch.setattr(passwords, "check_password_hash",
                        lambda hashed, password: checked.append(hashed.split("$")[0])
                        or real_check(hashed, password))
    client = app.test_client()
    assert attempt(client, "agent8", "salah-sandi-1").status_code == 422
    assert attempt(client, "nobody.here", "salah-sandi-1").status_code == 422
    assert [method.split(":")[0] for method in checked] == ["scrypt", "scrypt"]
    assert checked[0] == checked[1]  # the same parameters, so the same work
    assert attempt(client, "agent8", "kata-sandi-asli").status_code == 303


# --- the per-username slowdown: waits that grow, never a lock-out ------------------------------

class Clock:
    """The slowdown's clock, moved by hand instead of sleeping."""

    def __init__(self):
        import time
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    from perisai.auth import views
    clock = Clock()
    monkeypatch.setattr(views, "clock", clock)
    return clock


def slowed_app(make_app, storage):
    # A generous per-address limit: these tests are about the per-username slowdown.
    return make_app(storage, RATELIMIT_LOGIN="1000 per minute")


def wait_message(response) -> str:
    match = re.search(r"Terlalu banyak percobaan masuk yang gagal\. Tunggu ([^,]+), lalu coba lagi\.",
                      response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)
    return match.group(1)


def test_slowed_after_n_failures_and_the_right_password_works_after_the_wait(make_app, storage, clock):
    app = slowed_app(make_app, storage)
    assert app.config["LOGIN_FAILURES_BEFORE_SLOWDOWN"] == 5
    client = app.test_client()
    for n in range(5):
        assert attempt(client, "agent1", "wrong-password", f"10.0.7.{n}").status_code == 422
    # The sixth, straight away, from another address and with the right password: refused,
    # with how long to wait, in Indonesian, without the password being checked.
    response = attempt(client, "agent1", DEMO_PASSWORD, "10.0.7.50")
    assert response.status_code == 429
    assert wait_message(response) == "30 detik" and response.headers["Retry-After"] == "30"
    assert "Nama pengguna atau kata sandi salah" not in response.get_data(as_text=True)
    # Trying again inside the wait does not make it longer: it is counted from the last failure.
    clock.advance(20)
    for _ in range(5):
        response = attempt(client, "agent1", DEMO_PASSWORD, "10.0.7.51")
        assert response.status_code == 429 and wait_message(response) == "10 detik"
    clock.advance(10)
    assert attempt(client, "agent1", DEMO_PASSWORD, "10.0.7.52").status_code == 303


def test_the_wait_doubles_up_to_five_minutes_and_never_locks_the_owner_out(make_app, storage, clock):
    app = slowed_app(make_app, storage)
    stranger = app.test_client()
    for n in range(5):
        assert attempt(stranger, "agent1", "wrong-password").status_code == 422
    waits = []
    for _ in range(8):  # a stranger who keeps guessing, each time as soon as allowed
        response = attempt(stranger, "agent1", "wrong-password")
        assert response.status_code == 429
        waits.append(wait_message(response))
        clock.advance(int(response.headers["Retry-After"]))
        assert attempt(stranger, "agent1", "wrong-password").status_code == 422
    assert waits == ["30 detik", "1 menit", "2 menit", "4 menit", "5 menit", "5 menit", "5 menit",
                     "5 menit"]
    assert wait_message(attempt(stranger, "agent1", DEMO_PASSWORD)) == "5 menit"
    # The owner, five minutes after the stranger's last guess, gets in.
    clock.advance(4 * 60 + 59)
    response = attempt(app.test_client(), "agent1", DEMO_PASSWORD)
    assert response.status_code == 429 and wait_message(response) == "1 detik"
    clock.advance(1)
    assert attempt(app.test_client(), "agent1", DEMO_PASSWORD).status_code == 303


def test_a_success_resets_the_count(make_app, storage, clock):
    app = slowed_app(make_app, storage)
    client = app.test_client()
    for n in range(5):
        assert attempt(client, "agent2", "wrong-password").status_code == 422
    assert attempt(client, "agent2", DEMO_PASSWORD).status_code == 429
    clock.advance(30)
    assert attempt(client, "agent2", DEMO_PASSWORD).status_code == 303
    # Counted from zero again: five more mistakes before any wait (not one, as without a reset).
    for n in range(5):
        assert attempt(app.test_client(), "agent2", "wrong-password").status_code == 422
    assert attempt(app.test_client(), "agent2", DEMO_PASSWORD).status_code == 429


def test_slowdown_answers_are_the_same_for_unknown_and_real_usernames(make_app, storage, clock):
    app = slowed_app(make_app, storage)

    def story(username: str) -> list[tuple]:
        answers = []
        client = app.test_client()
        for password in ["wrong-password"] * 5 + ["wrong-password", "also-wrong"]:
            response = attempt(client, username, password)
            body = _without_tokens(response.get_data(as_text=True)).replace(username, "NAME")
            answers.append((response.status_code, response.headers.get("Retry-After"), body))
        clock.advance(30)
        response = attempt(client, username, "wrong-password")
        answers.append((response.status_code, response.headers.get("Retry-After"),
                        _without_tokens(response.get_data(as_text=True)).replace(username, "NAME")))
        return answers

    real, unknown = story("agent3"), story("nobody.here")
    assert [status for status, _, _ in real] == [422] * 5 + [429, 429, 422]
    assert real == unknown
    assert real[5][1] == "30"


def test_slowdown_holds_across_workers_with_redis(make_app, clock, redis_store):
    url, store = redis_store
    first = make_app(url, RATELIMIT_LOGIN="1000 per minute")
    for n in range(5):
        assert attempt(first.test_client(), "agent1", "wrong-password").status_code == 422
    assert any(b"perisai/login-failures/agent1" in key for key in store.keys()), store.keys()
    second = make_app(url, RATELIMIT_LOGIN="1000 per minute")  # another process
    response = attempt(second.test_client(), "agent1", DEMO_PASSWORD)
    assert response.status_code == 429 and wait_message(response) == "30 detik"
    clock.advance(30)
    assert attempt(second.test_client(), "agent1", DEMO_PASSWORD).status_code == 303
    assert not any(b"perisai/login-failures/agent1" in key for key in store.keys())  # reset


# --- cookies: Secure whenever the request came over HTTPS -------------------------------------

def set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def cookie_attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def session_and_lang_cookies(client, **request) -> tuple[str, str]:
    login_page = client.get("/login", **request)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.get_data(as_text=True)).group(1)
    session_cookie = set_cookies(login_page)["session"]
    lang = client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token}, **request)
    assert lang.status_code == 303
    return session_cookie, set_cookies(lang)["lang"]


@pytest.mark.parametrize("setting, proxy, request_kwargs, secure", [
    (False, False, {}, False),
    (False, False, {"base_url": "https://perisai.test"}, True),
    (True, False, {}, True),  # SESSION_COOKIE_SECURE=1 still forces it
    (False, True, {"headers": {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}}, True),
    (False, True, {"headers": {"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.7"}}, False),
    # Without BEHIND_PROXY the header is anyone's to send: it must not count.
    (False, False, {"headers": {"X-Forwarded-Proto": "https"}}, False),
], ids=["http", "https", "setting", "proxy-https", "proxy-http", "spoofed-header"])
def test_cookies_are_secure_when_served_over_https(make_app, setting, proxy, request_kwargs, secure):
    # Over HTTPS Flask-WTF also wants a same-origin Referer on a POST, as a browser sends it.
    scheme = "https" if secure and not setting else "http"
    request_kwargs = dict(request_kwargs, headers=dict(request_kwargs.get("headers", {}),
                                                       Referer=f"{scheme}://perisai.test/login"))
    app = make_app(RATELIMIT_ENABLED=False, SESSION_COOKIE_SECURE=setting, BEHIND_PROXY=proxy,
                   WTF_CSRF_ENABLED=True)
    client = app.test_client()
    for cookie in session_and_lang_cookies(client, **request_kwargs):
        attributes = cookie_attributes(cookie)
        assert ("secure" in attributes) == secure, cookie
        assert {"httponly", "samesite"} <= attributes and "SameSite=Lax" in cookie, cookie
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login", **request_kwargs).get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD,
                                           "csrf_token": token}, **request_kwargs)
    assert response.status_code == 303
    session_cookie = set_cookies(response)["session"]
    assert ("secure" in cookie_attributes(session_cookie)) == secure, session_cookie
    assert session_cookie.lower().count("; secure") <= 1
