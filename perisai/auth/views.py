"""Login and logout.

Failed logins are limited per address (Flask-Limiter, `RATELIMIT_LOGIN`) and slowed per
username: after `LOGIN_FAILURES_BEFORE_SLOWDOWN` failures in a row, each further attempt for that
username must wait a delay that doubles with every failure, up to `LOGIN_SLOWDOWN_MAX_WAIT`,
counted from the last failure. An attempt inside the wait is refused (429) without checking the
password, so it neither counts as a failure nor tells a right password from a wrong one; a
stranger can slow an account down but never lock its owner out for longer than the cap. The
counts live in the rate limiter's storage (Redis when `RATELIMIT_STORAGE_URI` points at it), so
every gunicorn worker sees them. The answer and its timing are the same whether or not the
username exists, so they never tell which usernames are real."""
import math
import time
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from ..commands.sessions import end_session, start_session
from ..domain.inputs import check_return_address
from ..extensions import db, limiter
from ..passwords import password_matches
from ..queries.admin import user_by_username
from ..web import home_url
from . import bp
from .forms import LoginForm

# The slowdown's clock (seconds since the epoch); tests replace it to jump ahead, not sleep.
clock = time.time

# Attempts claimed in the current series (failures, plus checks still running), per username.
FAILURES_KEY = "perisai/login-failures/{username}"
# When failure number n happened, one key per number and per series (a success starts a new
# series), so a key left by an earlier series is never read as this one's.
SERIES_KEY = "perisai/login-series/{username}"
LAST_FAILURE_KEY = "perisai/login-last-failure/{username}/{series}/{failures}"


def _slowdown_storage():
    """The rate limiter's storage, or None when rate limiting is switched off."""
    if not current_app.config.get("RATELIMIT_ENABLED") or not limiter.enabled:
        return None
    return limiter.storage


def _wait_after(failures: int) -> int:
    """Seconds the next attempt must wait after `failures` failed logins in a row."""
    config = current_app.config
    over = failures - config["LOGIN_FAILURES_BEFORE_SLOWDOWN"]
    if over < 0:
        return 0
    return min(config["LOGIN_SLOWDOWN_FIRST_WAIT"] * 2 ** min(over, 30), config["LOGIN_SLOWDOWN_MAX_WAIT"])


class Attempt:
    """One login attempt's place in its username's series, taken atomically (INCR in Redis, a
    locked counter in memory) *before* the password is checked: parallel attempts each get
    their own number, so no more than the allowed ones reach the password check, however many
    arrive at once. Attempt n may run when n - 1 attempts came before it without a wait, or once
    the wait after failure n - 1 has passed; if failure n - 1 is not recorded yet (its check is
    still running), attempt n waits too. A refused attempt gives its number back, so a guess
    inside the wait neither counts nor makes the wait longer."""

    def __init__(self, storage, username: str):
        self.storage, self.username = storage, username
        config = current_app.config
        self.memory = config["LOGIN_FAILURE_MEMORY_SECONDS"]
        self.series = storage.get(SERIES_KEY.format(username=username))
        self.number = storage.incr(FAILURES_KEY.format(username=username), self.memory)
        self.wait = self._wait_before()
        if self.wait:
            self.give_back()

    def _last_failure_key(self, failures: int) -> str:
        return LAST_FAILURE_KEY.format(username=self.username, series=self.series,
                                       failures=failures)

    def _wait_before(self) -> int:
        before = self.number - 1
        wait = _wait_after(before)
        if not wait:
            return 0
        last = self.storage.get(self._last_failure_key(before))
        if not last:  # failure `before` is still being checked: wait as if it had just failed
            return wait
        return max(0, math.ceil(last + wait - clock()))

    def give_back(self) -> None:
        self.storage.incr(FAILURES_KEY.format(username=self.username), self.memory, amount=-1)

    def failed(self) -> None:
        if _wait_after(self.number):
            # The storage only counts: the time is stored as a counter, cleared first. It
            # outlives the series' count, so while the count stands its time can be read.
            key = self._last_failure_key(self.number)
            self.storage.clear(key)
            self.storage.incr(key, self.memory + current_app.config["LOGIN_SLOWDOWN_MAX_WAIT"],
                              amount=int(clock()))

    def succeeded(self) -> None:
        self.storage.clear(FAILURES_KEY.format(username=self.username))
        self.storage.incr(SERIES_KEY.format(username=self.username), 30 * 24 * 3600)


def _duration(seconds: int) -> str:
    if seconds < 60:
        return _("%(seconds)d detik", seconds=seconds)
    minutes, rest = divmod(seconds, 60)
    if rest:
        return _("%(minutes)d menit %(seconds)d detik", minutes=minutes, seconds=rest)
    return _("%(minutes)d menit", minutes=minutes)


def _safe_next(target: str | None, default: str | None = None) -> str:
    target = check_return_address(target)
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return default or url_for("dashboard.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if request.method == "POST":
        check_return_address(request.args.get("next"))  # before anyone is logged in
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        storage = _slowdown_storage()
        attempt = Attempt(storage, username) if storage else None
        if attempt and attempt.wait:
            current_app.logger.info("slowed login from %s", request.remote_addr)
            form.password.errors.append(_("Terlalu banyak percobaan masuk yang gagal. Tunggu "
                                          "%(wait)s, lalu coba lagi.", wait=_duration(attempt.wait)))
            return (render_template("auth/login.html", form=form), 429,
                    {"Retry-After": str(attempt.wait)})
        try:
            user = user_by_username(db.session, username)
            matches = password_matches(user.password_hash if user else None, form.password.data)
        except BaseException:
            if attempt:
                attempt.give_back()  # the check never ran: it must not hold the next one back
            raise
        if matches and user.active:
            if attempt:
                attempt.succeeded()
            token = start_session(db.session, user.id,
                                  current_app.config["PERMANENT_SESSION_LIFETIME"])
            session.clear()  # a fresh session on login: no fixation
            login_user(user)
            session["sid"] = token  # the server-side session (ended by logout or idling)
            session.permanent = True
            # Straight to the role's page: one round trip less on a slow line.
            return redirect(_safe_next(request.args.get("next"), home_url(user)), code=303)
        current_app.logger.info("failed login from %s", request.remote_addr)
        if attempt:
            attempt.failed()
        form.password.errors.append(_("Nama pengguna atau kata sandi salah."))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    end_session(db.session, session.get("sid"))  # a copy of the cookie dies with it
    logout_user()
    session.clear()
    flash(_("Anda sudah keluar."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/lang")
def set_language():
    chosen = request.form.get("lang")
    response = redirect(_safe_next(request.form.get("next")), code=303)  # 400 on a bad next
    if chosen in ("id", "en"):
        response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
