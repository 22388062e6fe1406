"""Security headers on every response."""
from flask import Flask, request

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")


NUL_MESSAGE = "Isian berisi karakter yang tidak boleh (NUL). Periksa lagi, lalu kirim ulang."


def has_nul(values) -> bool:
    return any("\x00" in value for value in values if isinstance(value, str))


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_nul_characters():
        # PostgreSQL cannot store or even compare text holding NUL; no real input has one, so
        # such a request is refused here with a message instead of failing in the database.
        if request.endpoint == "static":
            return None
        if ("\x00" in request.path or has_nul(request.args.values())
                or has_nul(request.form.values()) or has_nul(request.args.keys())
                or has_nul(request.form.keys())):
            from .errors import render_error
            return render_error(400, NUL_MESSAGE)
        return None

    @app.after_request
    def add_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000"
        if request.endpoint != "static" and "Cache-Control" not in response.headers:
            # Pages carry personal data: not kept in shared caches or the back/forward cache.
            response.headers["Cache-Control"] = "no-store"
        return response
