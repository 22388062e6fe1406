from flask import Blueprint, request

bp = Blueprint("admin", __name__, url_prefix="/admin")

UPLOAD_LIMIT = 256 * 1024 * 1024  # a 1,000,000-row sponsored list is about 60 MB


def _raise_upload_limit():
    # The app-wide limit (MAX_CONTENT_LENGTH) is small on purpose; only the sponsored-list
    # upload may be larger. Werkzeug spools the file to disk, so this costs no memory.
    if request.endpoint == "admin.sponsored_upload":
        request.max_content_length = UPLOAD_LIMIT


@bp.record_once
def _before_csrf(state):
    # CSRFProtect reads the form in an app-level before_request hook, which would apply the
    # small limit before any view runs: ours must run first.
    state.app.before_request_funcs.setdefault(None, []).insert(0, _raise_upload_limit)


from . import views  # noqa: E402,F401
