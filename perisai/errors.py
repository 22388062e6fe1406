"""Error pages in Bahasa Indonesia; a database outage is a 503, never a stack trace."""
from flask import Flask, g, has_request_context, make_response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException, SecurityError

from .domain import DomainError
from .extensions import db, login_manager
from .i18n import localize

MESSAGES = {
    400: (_l("Permintaan tidak sah"), _l("Formulir tidak bisa diproses. Muat ulang halaman, lalu coba lagi.")),
    403: (_l("Tidak boleh"), _l("Anda tidak punya akses ke halaman ini.")),
    404: (_l("Tidak ditemukan"), _l("Halaman atau data yang dicari tidak ada.")),
    405: (_l("Tidak boleh"), _l("Cara membuka halaman ini tidak dikenal.")),
    413: (_l("Terlalu besar"), _l("Isian terlalu besar. Kurangi lalu kirim lagi.")),
    429: (_l("Terlalu sering"), _l("Terlalu banyak percobaan. Tunggu sebentar, lalu coba lagi.")),
    500: (_l("Terjadi kesalahan"), _l("Ada kesalahan di server. Data Anda tidak berubah; coba lagi.")),
    503: (_l("Layanan sedang terganggu"), _l("Basis data tidak bisa dihubungi. Tidak ada data yang "
                                            "berubah. Coba lagi beberapa menit lagi.")),
}

# After a commit in the same request, "nothing changed" would be false: say to look first.
AFTER_COMMIT = _l("Ada kesalahan di server, tetapi perubahan Anda mungkin sudah tersimpan. "
                  "Periksa hasilnya sebelum mengulang.")


@event.listens_for(Session, "after_commit")
def _remember_commit(session) -> None:
    if has_request_context():
        g.committed = True


def render_error(status: int, message=None):
    """The error page (or fragment, for htmx); `message` may be a domain text."""
    title, default = MESSAGES.get(status, MESSAGES[500])
    if status >= 500 and g.get("committed"):
        default = AFTER_COMMIT
    template = "errors/_error.html" if request.headers.get("HX-Request") == "true" else "errors/error.html"
    response = make_response(render_template(template, status=status, title=title,
                                             message=localize(message) if message else default), status)
    response.vary.add("HX-Request")  # the same URL answers a page or a fragment
    return response


def _without_database() -> None:
    """Make sure rendering the error page cannot touch the database again: end the failed
    transaction quietly, and if the user was not loaded yet (loading them may be what failed),
    render as anonymous instead of letting Flask-Login's template context query the database."""
    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the page must still be shown
        pass
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()


def _disk_full(error: DBAPIError) -> bool:
    """SQLite's "database or disk is full", PostgreSQL's disk_full (53100)."""
    orig = getattr(error, "orig", None)
    return getattr(orig, "sqlstate", None) == "53100" or "disk is full" in str(orig)


def init_app(app: Flask) -> None:
    @app.teardown_appcontext
    def end_session(error) -> None:
        # Registered after Flask-SQLAlchemy's own teardown, so it runs first: when the server
        # ended the connection mid-request (a restart, a failover), closing the session fails
        # on its rollback; the dead connection is thrown away instead, and the answer already
        # made (a 503) reaches the phone rather than a bare 500 from the teardown.
        try:
            db.session.close()
        except DBAPIError:
            db.session().invalidate()  # the registry's Session (scoped_session has no proxy)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, _l("Formulir sudah kedaluwarsa atau tidak sah. Muat ulang halaman, "
                                    "lalu kirim lagi."))

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        # A Host header outside TRUSTED_HOSTS: no address can be built for it, so not even the
        # error page's links; a short plain answer.
        return make_response(("Permintaan tidak sah: nama server (Host) tidak dikenal.\n", 400,
                              {"Content-Type": "text/plain; charset=utf-8"}))

    @app.errorhandler(HTTPException)
    def http_error(error):
        return render_error(error.code or 500)

    @app.errorhandler(DomainError)
    def domain_error(error):
        # The one place a refused request ends its transaction: commands roll back their own,
        # and a view never holds a write open.
        db.session.rollback()
        return render_error(error.status_code, error.text)

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def database_down(error):
        _without_database()
        app.logger.error("database error: %s", type(error.orig).__name__ if getattr(error, "orig", None) else error)
        if _disk_full(error):
            return render_error(503, _l("Penyimpanan server penuh, jadi tidak ada yang bisa "
                                        "dicatat. Tidak ada data yang berubah. Beri tahu admin, "
                                        "lalu coba lagi nanti."))
        if isinstance(error, OperationalError):
            return render_error(503)
        return render_error(500)

    @app.errorhandler(Exception)
    def unexpected(error):
        _without_database()
        app.logger.exception("unexpected error on %s %s", request.method, request.path)
        return render_error(500)
