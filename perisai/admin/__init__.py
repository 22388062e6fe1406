from flask import Blueprint, abort, request
from flask_login import current_user

from ..extensions import login_manager

bp = Blueprint("admin", __name__, url_prefix="/admin")

UPLOAD_LIMIT = 256 * 1024 * 1024  # a 1,000,000-row sponsored list is about 60 MB


def _raise_upload_limit():
    """Who may send the sponsored list is decided before a byte of it is read: anyone but a
    logged-in admin is answered at once (login or 403) from the headers alone. Only then is the
    app-wide limit (MAX_CONTENT_LENGTH, small on purpose) raised for this one route; Werkzeug
    spools the file to disk, so that costs no memory."""
    if request.endpoint != "admin.sponsored_upload":
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.is_admin:
        abort(403)
    request.max_content_length = UPLOAD_LIMIT
    return None


@bp.record_once
def _before_csrf(state):
    # CSRFProtect reads the form in an app-level before_request hook, which would apply the
    # small limit before any view runs: ours must run first.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


from . import views  # noqa: E402,F401
