"""Security headers on every response; cookies `Secure` whenever the request came over HTTPS."""
from flask import Flask, has_request_context, request
from flask.sessions import SecureCookieSessionInterface

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")


# Pages with nothing personal on them, for a visitor who is not logged in and asked for no
# result (no query): the browser may keep them (back/forward cache, revalidated each time).
# Every other page carries personal data and is never stored.
SHAREABLE_ENDPOINTS = frozenset({"auth.login", "public.index", "public.verify", "public.status",
                                 "public.sponsored"})
SHAREABLE_CACHE = "private, no-cache"


def may_be_stored() -> bool:
    from flask_login import current_user
    return (request.method == "GET" and request.endpoint in SHAREABLE_ENDPOINTS
            and not request.args and not current_user.is_authenticated)


SHARED_ENDPOINTS = ("static", "offline.service_worker")

NUL_MESSAGE = "Isian berisi karakter yang tidak boleh (NUL). Periksa lagi, lalu kirim ulang."


def has_nul(value) -> bool:
    """A NUL character anywhere in a string, or in the strings of a list or JSON object."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_nul(item) for item in value)
    return False


def _request_has_nul() -> bool:
    """In the path, any query or form field (every value of a repeated one) or a JSON body:
    Flask-WTF reads a JSON body as the form."""
    if "\x00" in request.path:
        return True
    for fields in (request.args, request.form):
        if any(has_nul(key) or has_nul(values) for key, values in fields.lists()):
            return True
    return request.is_json and has_nul(request.get_json(silent=True))


def cookies_must_be_secure(app: Flask) -> bool:
    """`SESSION_COOKIE_SECURE=1`, or this request came over HTTPS (behind a proxy, with
    `BEHIND_PROXY=1`, ProxyFix makes `X-Forwarded-Proto: https` count)."""
    return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked `Secure` over HTTPS even when the setting is off, so
    a deployment that forgot `SESSION_COOKIE_SECURE=1` still never sends it back over plain HTTP."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return cookies_must_be_secure(app)

    def save_session(self, app: Flask, session, response) -> None:
        # Static files and the service worker are the same for everyone: no `Vary: Cookie`
        # (nor a refreshed cookie) on them, so the phone keeps them across logins (DESIGN §5).
        if has_request_context() and request.endpoint in SHARED_ENDPOINTS:
            return
        super().save_session(app, session, response)


def _mark_cookies_secure(response) -> None:
    """Every other cookie a view set (the `lang` cookie, Flask-Login's remember cookie if it is
    ever used) gets `Secure` too. The session cookie is written after this runs; see above."""
    cookies = response.headers.getlist("Set-Cookie")
    if not cookies:
        return
    marked = [cookie if "secure" in (part.strip().lower() for part in cookie.split(";")[1:])
              else cookie + "; Secure" for cookie in cookies]
    response.headers.setlist("Set-Cookie", marked)


SUBRESOURCE_TYPES = ("text/javascript", "text/css")


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()

    @app.before_request
    def refuse_nul_characters():
        # PostgreSQL cannot store or even compare text holding NUL; no real input has one, so
        # such a request is refused here with a message instead of failing in the database.
        if request.endpoint == "static":
            return None
        if _request_has_nul():
            from .errors import render_error
            return render_error(400, NUL_MESSAGE)
        return None

    @app.after_request
    def add_headers(response):
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if cookies_must_be_secure(app):
            _mark_cookies_secure(response)
        if request.endpoint == "static" and response.mimetype in SUBRESOURCE_TYPES:
            # A script or a style sheet (perisai/assets.py): the page headers below apply to
            # documents only (a static image, which could be opened as one, keeps them), and
            # would be a third of each file's bytes on the wire.
            return response
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if "Cache-Control" not in response.headers:
            # Pages carry personal data: not kept in shared caches or the back/forward cache;
            # the few public pages without any may be kept by the browser.
            shareable = response.status_code == 200 and may_be_stored()
            response.headers["Cache-Control"] = SHAREABLE_CACHE if shareable else "no-store"
        return response
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if cookies_must_be_secure(app):
            _mark_cookies_secure(response)
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            # Pages carry personal data: not kept in shared caches or the back/forward cache;
            # the few public pages without any may be kept by the browser.
            shareable = response.status_code == 200 and may_be_stored()
            response.headers["Cache-Control"] = SHAREABLE_CACHE if shareable else "no-store"
        return response
