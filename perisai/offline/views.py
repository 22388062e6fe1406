"""Working without a signal: the service worker and the outbox page (static/js/outbox.js)."""
import hashlib

from flask import current_app, make_response, render_template, url_for

from ..web import roles_required
from . import bp

# Pages the service worker keeps for the agent: the dashboard, the two forms and the outbox
# page (which also tells what still works offline). Refreshed each time one loads online.
SHELL_PAGES = ("/", "/collect", "/workers/new", "/outbox")
SHELL_STATIC = ("css/app.css", "vendor/htmx-2.0.11.min.js", "js/app.js", "js/outbox.js")


@bp.get("/sw.js")
def service_worker():
    static = [current_app.jinja_env.globals["static_url"](name) for name in SHELL_STATIC]
    # The worker's name for its cache changes with every static file, so a new release
    # replaces the old shell, and the browser sees a new worker (its bytes changed).
    version = hashlib.sha256("".join(static).encode()).hexdigest()[:12]
    body = render_template("offline/sw.js", version=version, static=static,
                           pages=list(SHELL_PAGES), outbox=static[-1])
    response = make_response(body)
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/outbox")
@roles_required("agent")
def outbox():
    return render_template("offline/outbox.html")
