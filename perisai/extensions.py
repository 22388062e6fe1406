"""Flask extensions, created here and bound to the app in `create_app`."""
from __future__ import annotations
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints so Alembic batch migrations on SQLite can find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()


class _StorageWithFallback:
    """The limiter's storage for code that counts in it directly (the login slowdown): the
    shared storage (Redis), or this process's memory while it does not answer. Flask-Limiter
    switches its own limits the same way (`RATELIMIT_IN_MEMORY_FALLBACK_ENABLED`) and checks now
    and then whether the storage is back."""

    def __init__(self, limiter: ResilientLimiter, primary, fallback):
        self._limiter, self._primary, self._fallback = limiter, primary, fallback

    def __getattr__(self, name: str):
        def call(*args, **kwargs):
            if not self._limiter._storage_dead:
                try:
                    return getattr(self._primary, name)(*args, **kwargs)
                except Exception as error:  # noqa: BLE001 - any storage failure: count in memory
                    self._limiter.logger.warning(
                        "Rate limit storage unreachable (%s) - falling back to in-memory storage",
                        type(error).__name__)
                    self._limiter._storage_dead = True
            return getattr(self._fallback, name)(*args, **kwargs)
        return call


class ResilientLimiter(Limiter):
    """A Limiter whose `storage` falls back to memory, like its limits, when Redis is down:
    logins and public lookups keep working, limited per process, and the log says so."""

    @property
    def storage(self):
        primary = super().storage
        fallback = getattr(self, "_fallback_storage", None)
        if fallback is None:
            return primary
        return _StorageWithFallback(self, primary, fallback)


limiter = ResilientLimiter(key_func=get_remote_address, default_limits=[])
