"""Request helpers shared by the blueprints: page or fragment, 303 or the next page, roles, who
is acting, the branch's day."""
from __future__ import annotations

from functools import wraps

from flask import abort, g, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .commands import Actor
from .domain.clock import HEAD_OFFICE_ZONE, local_today


def wants_fragment() -> bool:
    """An htmx request that is neither boosted nor a history restore gets just the fragment."""
    return (request.headers.get("HX-Request") == "true"
            and not g.get("whole_page")
            and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def render_page(page_template: str, fragment_template: str, status: int = 200, **context):
    """The full page, or only its fragment for htmx. The page includes the fragment, so the two
    cannot drift apart."""
    fragment = wants_fragment()
    template = fragment_template if fragment else page_template
    # A fragment may carry a <title> for htmx to put on the tab (a page has its own).
    response = make_response(render_template(template, as_fragment=fragment, **context), status)
    response.vary.add("HX-Request")
    return response


def see_other(location: str):
    """After a successful POST: 303 for a plain form; htmx follows it as a full navigation."""
    if request.headers.get("HX-Request") == "true":
        response = make_response("", 200)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, code=303)


def show_next(location: str, page):
    """After a successful POST that leads to another page: htmx gets that page in the same
    answer (one round trip on a slow line) with its address put in the bar; a plain form gets
    303 to it. `page` renders it (the view function of `location`)."""
    if request.headers.get("HX-Request") != "true":
        return see_other(location)
    g.whole_page = True  # the button swaps the new page's <main> in (hx-select="#main")
    response = make_response(page())
    response.headers["HX-Push-Url"] = location
    response.vary.add("HX-Request")
    return response


def roles_required(*roles: str):
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def home_url(user) -> str:
    """Each role's starting page (`/` redirects there; login goes straight there)."""
    if user.is_admin:
        return url_for("admin.index")
    if user.is_supervisor:
        return url_for("supervisor.home")
    return url_for("dashboard.home")


def current_actor() -> Actor:
    return Actor(current_user.id, current_user.username, request.remote_addr)


def branch_zone() -> str:
    branch = getattr(current_user, "branch", None)
    return branch.timezone if branch else HEAD_OFFICE_ZONE


def today():
    return local_today(branch_zone())
