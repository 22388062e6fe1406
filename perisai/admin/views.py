"""Admin: branches, users, the rate schedule and the sponsored-premium list.

Plain HTML forms (CSRF on every POST, checked by CSRFProtect); invalid input answers 422 (or 409
for a clash) with the same page and the message; success redirects with 303.
"""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _

from ..commands import accounts
from ..commands.rates import add_rate
from ..commands.sponsored_import import import_sponsored
from ..domain import DomainError
from ..domain.accounts import parse_branch
from ..domain.clock import HEAD_OFFICE_ZONE, ZONES, local_today
from ..domain.rates import RATE_FIELDS, RATE_LABELS
from ..domain.sponsored_list import HEADER, ImportRejected
from ..domain.statuses import Role
from ..extensions import db
from ..i18n import month_name
from ..pages import admin_home_page
from ..queries import admin as admin_queries
from ..queries.sponsorship import list_counts
from ..web import current_actor, roles_required, see_other
from . import bp


def _today():
    return local_today(HEAD_OFFICE_ZONE)


@bp.get("")
@roles_required("admin")
def index():
    return admin_home_page()


# --- branches -------------------------------------------------------------------------------

def _branches_page(error: str | None = None, status: int = 200, form: dict | None = None):
    query = (request.args.get("q") or "").strip()[:40]
    branches, page, pages = admin_queries.branches(db.session, query,
                                                   request.args.get("page", 1, type=int) or 1)
    return render_template("admin/branches.html", branches=branches, query=query, page=page,
                           pages=pages, error=error, form=form or {}, timezones=ZONES), status


def _branch_code(form) -> str:
    """The branch code a form sent: chosen from the list, or typed (any case, spaces around)."""
    return (form.get("branch") or "").strip().upper()[:10]


@bp.get("/branches")
@roles_required("admin")
def branches():
    return _branches_page()


@bp.post("/branches")
@roles_required("admin")
def branch_create():
    form = request.form
    try:
        data = parse_branch(form.get("name", ""), form.get("timezone", ""),
                            form.get("cash_limit", ""))
        branch = accounts.create_branch(db.session, form.get("code", ""), data, actor=current_actor())
    except DomainError as error:
        return _branches_page(error.text, error.status_code, form)
    flash(_("Kantor cabang %(code)s dibuat.", code=branch.code), "ok")
    return see_other(url_for("admin.branches"))


@bp.get("/branches/<int:branch_id>")
@roles_required("admin")
def branch_edit(branch_id: int):
    branch = admin_queries.branch(db.session, branch_id)
    return render_template("admin/branch.html", branch=branch, timezones=ZONES,
                           form={"name": branch.name, "timezone": branch.timezone,
                                 "cash_limit": branch.cash_limit})


@bp.post("/branches/<int:branch_id>")
@roles_required("admin")
def branch_update(branch_id: int):
    branch = admin_queries.branch(db.session, branch_id)
    form = request.form
    try:
        data = parse_branch(form.get("name", ""), form.get("timezone", ""),
                            form.get("cash_limit", ""))
        accounts.update_branch(db.session, branch_id, data, actor=current_actor())
    except DomainError as error:
        return render_template("admin/branch.html", branch=branch, timezones=ZONES,
                               form=form, error=error.text), error.status_code
    flash(_("Kantor cabang %(code)s disimpan.", code=branch.code), "ok")
    return see_other(url_for("admin.branches"))


# --- users ----------------------------------------------------------------------------------

def _users_page(error: str | None = None, status: int = 200, form: dict | None = None):
    query = (request.args.get("q") or "").strip()[:40]
    users, page, pages = admin_queries.users(db.session, query,
                                             request.args.get("page", 1, type=int) or 1)
    return render_template("admin/users.html", users=users, query=query, page=page, pages=pages,
                           branches=admin_queries.branch_choices(db.session), error=error,
                           form=form or {}), status


@bp.get("/users")
@roles_required("admin")
def users():
    return _users_page()


@bp.post("/users")
@roles_required("admin")
def user_create():
    form = request.form
    role = form.get("role", "")
    try:
        if len(form.get("full_name", "")) > 120 or len(form.get("password", "")) > 200:
            raise DomainError("Nama paling banyak 120 karakter, kata sandi paling banyak 200.")
        user = accounts.create_user(db.session, username=form.get("username", "")[:60],
                           full_name=form.get("full_name", ""), role=role,
                           branch_code=_branch_code(form) if role != Role.ADMIN else None,
                           password=form.get("password", ""), actor=current_actor())
    except DomainError as error:
        return _users_page(error.text, error.status_code, {k: v for k, v in form.items() if k != "password"})
    flash(_("Pengguna %(username)s dibuat.", username=user.username), "ok")
    return see_other(url_for("admin.user_detail", user_id=user.id))


def _user_page(user_id: int, error: str | None = None, status: int = 200):
    return render_template("admin/user.html", user=admin_queries.user(db.session, user_id),
                           branches=admin_queries.branch_choices(db.session), error=error), status


@bp.get("/users/<int:user_id>")
@roles_required("admin")
def user_detail(user_id: int):
    return _user_page(user_id)


def _user_action(user_id: int, action, done):
    try:
        user = action()
    except DomainError as error:
        return _user_page(user_id, error.text, error.status_code)
    flash(done(user.username), "ok")
    return see_other(url_for("admin.user_detail", user_id=user_id))


@bp.post("/users/<int:user_id>/deactivate")
@roles_required("admin")
def user_deactivate(user_id: int):
    return _user_action(user_id, lambda: accounts.deactivate_user(
        db.session, user_id, actor=current_actor()),
        lambda username: _("Akun %(username)s dinonaktifkan; semua sesinya berakhir.", username=username))


@bp.post("/users/<int:user_id>/reactivate")
@roles_required("admin")
def user_reactivate(user_id: int):
    return _user_action(user_id, lambda: accounts.reactivate_user(
        db.session, user_id, actor=current_actor()),
        lambda username: _("Akun %(username)s diaktifkan lagi.", username=username))


@bp.post("/users/<int:user_id>/password")
@roles_required("admin")
def user_password(user_id: int):
    password = request.form.get("password", "")
    return _user_action(user_id, lambda: accounts.reset_password(
        db.session, user_id, password, actor=current_actor()),
        lambda username: _("Kata sandi %(username)s diganti; semua sesinya berakhir.", username=username))


@bp.post("/users/<int:user_id>/move")
@roles_required("admin")
def user_move(user_id: int):
    code = _branch_code(request.form)
    return _user_action(user_id, lambda: accounts.move_agent(
        db.session, user_id, code, actor=current_actor()),
        lambda username: _("%(username)s dipindah cabang.", username=username))


# --- rate schedule --------------------------------------------------------------------------

def _rates_page(error: str | None = None, status: int = 200, form: dict | None = None):
    rates = admin_queries.rate_schedule(db.session)
    discounts = admin_queries.discounts(db.session)
    if form is None:
        latest = rates[0] if rates else None
        form = {name: getattr(latest, name) for name in RATE_FIELDS} if latest else {}
    current_month = _today().replace(day=1)
    in_force = next((r for r in rates if r.effective_from <= current_month), None)
    return render_template("admin/rates.html", rates=rates, discounts=discounts, form=form,
                           error=error, current_month=current_month, in_force=in_force,
                           labels=RATE_LABELS, fields=RATE_FIELDS), status


@bp.get("/rates")
@roles_required("admin")
def rates():
    return _rates_page()


@bp.post("/rates")
@roles_required("admin")
def rate_create():
    form = request.form.to_dict()
    try:
        rate = add_rate(db.session, form, today=_today(), actor=current_actor())
    except DomainError as error:
        return _rates_page(error.text, error.status_code, form)
    flash(_("Tarif baru berlaku mulai %(month)s disimpan.", month=month_name(rate.effective_from)), "ok")
    return see_other(url_for("admin.rates"))


# --- sponsored-premium list -----------------------------------------------------------------

def _sponsored_page(error: str | None = None, status: int = 200, errors=()):
    return render_template("admin/sponsored.html", counts=list_counts(db.session, _today()),
                           header=",".join(HEADER), error=error, errors=errors), status


@bp.get("/sponsored")
@roles_required("admin")
def sponsored():
    return _sponsored_page()


@bp.post("/sponsored")
@roles_required("admin")
def sponsored_upload():
    # The upload limit is raised for this endpoint in admin/__init__.py (before CSRF reads the form).
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _sponsored_page(_("Pilih berkas CSV untuk diunggah."), 422)
    try:
        result = import_sponsored(db.session, upload.stream, actor=current_actor(),
                                  source_name=upload.filename)
    except ImportRejected as rejected:
        return _sponsored_page(rejected.text, 422, rejected.errors)
    flash(_("%(rows)d baris dibaca: %(added)d baru, %(skipped)d sudah ada, %(updated)d diperbarui.",
            rows=result.rows, added=result.added, skipped=result.skipped, updated=result.updated), "ok")
    return see_other(url_for("admin.sponsored"))
