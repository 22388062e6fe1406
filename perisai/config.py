"""Configuration from environment variables.

Every setting has a safe default for development except the secret key, which production must
set: `create_app` refuses to start without one unless debugging or testing.
"""
import os
from datetime import timedelta
from urllib.parse import urlsplit


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def from_environment(instance_path: str) -> dict:
    sqlite_default = "sqlite:///" + os.path.join(instance_path, "perisai.sqlite3")
    return {
        "SECRET_KEY": os.environ.get("SECRET_KEY"),
        # Old keys, comma-separated, still accepted for sessions and slip links after a rotation.
        "SECRET_KEY_FALLBACKS": [key.strip() for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",")
                                 if key.strip()],
        # Keys the audit chain is signed with (HMAC), kept out of the database; older ones,
        # comma-separated, still verify the events made with them. Without AUDIT_KEY, a key
        # derived from SECRET_KEY (and its fallbacks) is used.
        "AUDIT_KEY": os.environ.get("AUDIT_KEY"),
        "AUDIT_KEY_FALLBACKS": [key.strip() for key in os.environ.get("AUDIT_KEY_FALLBACKS", "").split(",")
                                if key.strip()],
        "SQLALCHEMY_DATABASE_URI": _database_url(os.environ.get("DATABASE_URL") or sqlite_default),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        # A Redis that stops answering must not hold a login for long: fail fast, fall back.
        "RATELIMIT_STORAGE_OPTIONS": (
            {"socket_connect_timeout": 1, "socket_timeout": 1}
            if os.environ.get("RATELIMIT_STORAGE_URI", "").startswith(("redis", "rediss"))
            else {}),
        "RATELIMIT_ENABLED": _bool("RATELIMIT_ENABLED", True),
        "SESSION_COOKIE_SECURE": _bool("SESSION_COOKIE_SECURE", False),
        "PREFERRED_URL_SCHEME": os.environ.get("PREFERRED_URL_SCHEME", "http"),
        "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL") or None,
        # Host names the app answers to (Flask refuses any other Host header with a 400).
        "TRUSTED_HOSTS": [host.strip() for host in os.environ.get("TRUSTED_HOSTS", "").split(",")
                          if host.strip()] or None,
        "BEHIND_PROXY": _bool("BEHIND_PROXY", False),
    }


def is_development(app) -> bool:
    """Testing, debugging or `make run` (PERISAI_DEV=1); everything else is production."""
    return bool(app.testing or app.debug or os.environ.get("PERISAI_DEV") == "1")


def production_problems(app) -> list[str]:
    """Why a production server must not start with this configuration (empty: it may)."""
    problems = []
    base = app.config.get("PUBLIC_BASE_URL")
    if base:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            problems.append(f"PUBLIC_BASE_URL must be an address like https://perisai.example.org "
                            f"(got {base!r}).")
    elif not app.config.get("TRUSTED_HOSTS"):
        problems.append("Set PUBLIC_BASE_URL (the address printed on slips and in QR codes) or "
                        "TRUSTED_HOSTS (the host names this server answers to): without either, a "
                        "forged Host header would reach the links given to workers.")
    return problems


def _database_url(url: str) -> str:
    # Heroku-style URLs name the old driver; psycopg 3 is the one we ship.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


DEFAULTS = {
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # Agents share phones: a session idles out after 30 minutes.
    "PERMANENT_SESSION_LIFETIME": timedelta(minutes=30),
    "SESSION_REFRESH_EACH_REQUEST": True,
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
    "BABEL_DEFAULT_LOCALE": "id",
    "BABEL_DEFAULT_TIMEZONE": "Asia/Jakarta",
    "LANGUAGES": ("id", "en"),
    "SEND_FILE_MAX_AGE_DEFAULT": 365 * 24 * 3600,  # static URLs carry a version
    "COMPRESS_MIMETYPES": ["text/html", "text/css", "text/csv", "application/javascript",
                           "text/javascript", "image/svg+xml"],
    "COMPRESS_ALGORITHM": ["gzip"],
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 300,
    "COMPRESS_STREAMS": False,
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 8 * 1024 * 1024,  # oversized fields get a 422, not a 413
    "RATELIMIT_HEADERS_ENABLED": False,
    # Redis down: count limits in each process's memory until it answers again (logged), rather
    # than refusing logins and public lookups.
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_PUBLIC": "30 per minute",
    "RATELIMIT_COMPLAINT": "5 per hour",  # filing a complaint (reading a ticket is PUBLIC)
    "RATELIMIT_LOGIN": "10 per minute",
    # Different NIKs one agent may look up with the registration check (which says whether,
    # and in its own branch by whom, a NIK is registered): a busy registration day stays far
    # below it, a script walking through NIKs does not.
    "RATELIMIT_NIK_CHECK": "20 per 10 minutes;150 per day",
    # After this many failed logins for a username, each further attempt waits: 30 s, then
    # twice as long after every failure, at most 5 min, counted from the last failure. The count
    # is forgotten an hour after the first failure of a series, or at once on a success.
    "LOGIN_FAILURES_BEFORE_SLOWDOWN": 5,
    "LOGIN_SLOWDOWN_FIRST_WAIT": 30,
    "LOGIN_SLOWDOWN_MAX_WAIT": 300,
    "LOGIN_FAILURE_MEMORY_SECONDS": 3600,
    "WORKERS_PER_PAGE": 20,
}
