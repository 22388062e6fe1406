"""Login and logout. Failed logins are limited per address and per username, whether or not the
username exists, so the answer never tells which usernames are real."""
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import User
from ..services.users import password_matches
from ..web import home_url
from . import bp
from .forms import LoginForm


def _username_key() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()[:40]


def _failed(response) -> bool:
    return response.status_code != 303


def _safe_next(target: str | None, default: str | None = None) -> str:
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return default or url_for("dashboard.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
@limiter.limit("5 per 15 minutes", key_func=_username_key, methods=["POST"], deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(home_url(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        user = db.session.scalars(select(User).where(User.username == username)).first()
        if password_matches(user, form.password.data) and user.active:
            session.clear()  # a fresh session on login: no fixation
            login_user(user)
            session.permanent = True
            # Straight to the role's page: one round trip less on a slow line.
            return redirect(_safe_next(request.args.get("next"), home_url(user)), code=303)
        current_app.logger.info("failed login from %s", request.remote_addr)
        form.password.errors.append("Nama pengguna atau kata sandi salah.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash("Anda sudah keluar.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/lang")
def set_language():
    chosen = request.form.get("lang")
    response = redirect(_safe_next(request.form.get("next")), code=303)
    if chosen in ("id", "en"):
        response.set_cookie("lang", chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response
