"""Password hashes (werkzeug's scrypt). One place, so a deployment or the tests can choose the
method: `PASSWORD_HASH_METHOD` in the app config (`create_app` sets it here)."""
from werkzeug.security import check_password_hash, generate_password_hash

DEFAULT_METHOD = "scrypt"
_method = DEFAULT_METHOD
_dummy_hash: str | None = None


def configure(method: str | None) -> None:
    global _method, _dummy_hash
    _method = method or DEFAULT_METHOD
    _dummy_hash = None


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=_method)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Compared against a dummy hash when there is no account, so both paths cost the same."""
    global _dummy_hash
    if stored_hash is None:
        if _dummy_hash is None:
            _dummy_hash = hash_password("not-a-real-password")
        check_password_hash(_dummy_hash, password)
        return False
    return check_password_hash(stored_hash, password)
