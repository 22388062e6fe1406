"""PERISAI agent app: register informal workers and collect their BPJS contributions in cash."""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

from flask import Flask, request, url_for

from . import config as config_module
from .extensions import babel, compress, csrf, db, limiter, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(config_module.DEFAULTS)
    app.config.update(config_module.from_environment(app.instance_path))
    if test_config:
        app.config.update(test_config)
    _ensure_secret_key(app)
    if not config_module.is_development(app):
        problems = config_module.production_problems(app)
        if problems:
            raise RuntimeError("Refusing to start in production: " + " ".join(problems)
                               + " See README, 'Configuration'.")

    if app.config.get("BEHIND_PROXY"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    compress.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    _init_login(app)

    with app.app_context():
        from .database import configure_engine
        configure_engine(db.engine)

    from . import passwords
    passwords.configure(app.config.get("PASSWORD_HASH_METHOD"))

    # One blueprint per URL root: the folder follows the address.
    from . import (admin, auth, bills, collect, complaints, dashboard, deposits, heir_changes,
                   offline, public, receipts, reports, reversals, supervisor, workers)
    for blueprint in (auth.bp, dashboard.bp, workers.bp, bills.bp, collect.bp, receipts.bp,
                      deposits.bp, reversals.bp, heir_changes.bp, supervisor.bp, public.bp,
                      admin.bp, reports.bp, complaints.bp, offline.bp):
        app.register_blueprint(blueprint)

    from . import cli, errors, templating, security
    cli.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    security.init_app(app)
    return app


def _ensure_secret_key(app: Flask) -> None:
    """Development (`make run`, tests, debug) keeps a key in `instance/secret_key`, made on first
    use. Production takes SECRET_KEY from the environment and refuses that development key,
    whether it is only lying in the instance folder or was copied into SECRET_KEY: anyone who
    had the checkout (or `make run` on a shared machine) could forge sessions and slip links."""
    key_file = Path(app.instance_path) / "secret_key"
    development_key = key_file.read_text().strip() if key_file.exists() else None
    if config_module.is_development(app):
        if app.config.get("SECRET_KEY"):
            return
        if development_key is None:
            key_file.write_text(secrets.token_urlsafe(48))
            key_file.chmod(0o600)
            development_key = key_file.read_text().strip()
        app.config["SECRET_KEY"] = development_key
        return
    if not app.config.get("SECRET_KEY"):
        found = (f" ({key_file} is the development key `make run` made; it is not used in "
                 "production)" if development_key else "")
        raise RuntimeError("SECRET_KEY is not set" + found + ". Set it in the environment (see "
                           "README, 'Configuration'); the app will not run in production "
                           "without one.")
    if development_key and development_key in [app.config["SECRET_KEY"],
                                               *(app.config.get("SECRET_KEY_FALLBACKS") or [])]:
        raise RuntimeError(f"SECRET_KEY (or a fallback) is the development key in {key_file}, "
                           "made by `make run`. Generate a new one for production (see README).")


def _select_locale():
    chosen = request.cookies.get("lang")
    if chosen in ("id", "en"):
        return chosen
    return "id"


# A session's last use is written at most this often (a write per request would cost every page).
SESSION_TOUCH_EVERY = timedelta(seconds=60)


def _load_session_user(app: Flask, ident: int, version: int):
    """The logged-in user, in one query with the cookie's login session, when the session is
    live on the server: not ended by logout, not idle longer than PERMANENT_SESSION_LIFETIME.
    A copied cookie therefore dies with the session, however often its holder re-sends it."""
    from flask import session

    from .commands.sessions import touch_session
    from .domain.clock import utcnow
    from .queries.sessions import session_user

    now = utcnow()
    token = session.get("sid")
    found = session_user(db.session, ident, token, now, app.config["PERMANENT_SESSION_LIFETIME"])
    if found is None:
        return None
    user, last_seen_at = found
    if user.session_version != version or not user.active:
        return None
    if now - last_seen_at >= SESSION_TOUCH_EVERY:
        touch_session(db.session, token, now)
    return user


def _init_login(app: Flask) -> None:
    from flask import make_response, redirect

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Silakan masuk dulu."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str):
        try:
            ident, version = (int(part) for part in user_id.split("."))
        except ValueError:
            return None
        return _load_session_user(app, ident, version)

    @login_manager.unauthorized_handler
    def unauthorized():
        target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
        if request.headers.get("HX-Request") == "true":
            response = make_response("", 401)
            response.headers["HX-Redirect"] = target
            return response
        return redirect(target)
