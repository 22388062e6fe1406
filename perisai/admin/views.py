"""Admin: branches, users, the rate schedule and the sponsored-premium list.

Plain HTML forms (CSRF on every POST, checked by CSRFProtect); invalid input answers 422 (or 409
for a clash) with the same page and the message; success redirects with 303.
"""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from sqlalchemy import func, select

from ..domain import DomainError
from ..domain.clock import local_today
from ..extensions import db
from ..models import Branch, RateDiscount, RateSchedule, User
from ..services import admin_users
from ..services.sponsored_import import HEADER, ImportRejected, import_sponsored, list_counts
from ..services.users import create_user
from ..web import current_actor, roles_required, see_other
from . import bp

ADMIN_ZONE = "Asia/Jakarta"  # admins have no branch; head office works in WIB


def _today():
    return local_today(ADMIN_ZONE)


@bp.get("/admin")
@roles_required("admin")
def index():
    counts = {
        "branches": db.session.scalar(select(func.count()).select_from(Branch)),
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "inactive": db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(False))),
        "rates": db.session.scalar(select(func.count()).select_from(RateSchedule)),
    }
    return render_template("admin/index.html", counts=counts, sponsored=list_counts(db.session, _today()))


# --- branches -------------------------------------------------------------------------------

def _branches_page(error: str | None = None, status: int = 200, form: dict | None = None):
    branches = db.session.scalars(select(Branch).order_by(Branch.code)).all()
    return render_template("admin/branches.html", branches=branches, error=error,
                           form=form or {}, timezones=admin_users.TIMEZONES), status


@bp.get("/admin/branches")
@roles_required("admin")
def branches():
    return _branches_page()


@bp.post("/admin/branches")
@roles_required("admin")
def branch_create():
    form = request.form
    try:
        data = admin_users.parse_branch(form.get("name", ""), form.get("timezone", ""),
                                        form.get("cash_limit", ""))
        branch = admin_users.create_branch(db.session, form.get("code", ""), data, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        return _branches_page(error.message, error.status_code, form)
    flash(f"Kantor cabang {branch.code} dibuat.", "ok")
    return see_other(url_for("admin.branches"))


def _branch_or_404(branch_id: int) -> Branch:
    branch = db.session.get(Branch, branch_id)
    if branch is None:
        raise DomainError("Kantor cabang tidak ditemukan.", status_code=404)
    return branch


@bp.get("/admin/branches/<int:branch_id>")
@roles_required("admin")
def branch_edit(branch_id: int):
    branch = _branch_or_404(branch_id)
    return render_template("admin/branch.html", branch=branch, timezones=admin_users.TIMEZONES,
                           form={"name": branch.name, "timezone": branch.timezone,
                                 "cash_limit": branch.cash_limit})


@bp.post("/admin/branches/<int:branch_id>")
@roles_required("admin")
def branch_update(branch_id: int):
    branch = _branch_or_404(branch_id)
    form = request.form
    try:
        data = admin_users.parse_branch(form.get("name", ""), form.get("timezone", ""),
                                        form.get("cash_limit", ""))
        admin_users.update_branch(db.session, branch_id, data, actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        return render_template("admin/branch.html", branch=branch, timezones=admin_users.TIMEZONES,
                               form=form, error=error.message), error.status_code
    flash(f"Kantor cabang {branch.code} disimpan.", "ok")
    return see_other(url_for("admin.branches"))


# --- users ----------------------------------------------------------------------------------

def _users_page(error: str | None = None, status: int = 200, form: dict | None = None):
    users = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    branches = db.session.scalars(select(Branch).order_by(Branch.code)).all()
    return render_template("admin/users.html", users=users, branches=branches, error=error,
                           form=form or {}), status


@bp.get("/admin/users")
@roles_required("admin")
def users():
    return _users_page()


@bp.post("/admin/users")
@roles_required("admin")
def user_create():
    form = request.form
    role = form.get("role", "")
    try:
        if len(form.get("full_name", "")) > 120 or len(form.get("password", "")) > 200:
            raise DomainError("Nama paling banyak 120 karakter, kata sandi paling banyak 200.")
        user = create_user(db.session, username=form.get("username", "")[:60],
                           full_name=form.get("full_name", ""), role=role,
                           branch_code=form.get("branch") if role != "admin" else None,
                           password=form.get("password", ""), actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        return _users_page(error.message, error.status_code, {k: v for k, v in form.items() if k != "password"})
    flash(f"Pengguna {user.username} dibuat.", "ok")
    return see_other(url_for("admin.user_detail", user_id=user.id))


def _user_page(user_id: int, error: str | None = None, status: int = 200):
    user = db.session.get(User, user_id)
    if user is None:
        raise DomainError("Pengguna tidak ditemukan.", status_code=404)
    branches = db.session.scalars(select(Branch).order_by(Branch.code)).all()
    return render_template("admin/user.html", user=user, branches=branches, error=error), status


@bp.get("/admin/users/<int:user_id>")
@roles_required("admin")
def user_detail(user_id: int):
    return _user_page(user_id)


def _user_action(user_id: int, action, done: str):
    try:
        user = action()
    except DomainError as error:
        db.session.rollback()
        return _user_page(user_id, error.message, error.status_code)
    flash(done.format(username=user.username), "ok")
    return see_other(url_for("admin.user_detail", user_id=user_id))


@bp.post("/admin/users/<int:user_id>/deactivate")
@roles_required("admin")
def user_deactivate(user_id: int):
    return _user_action(user_id, lambda: admin_users.deactivate_user(
        db.session, user_id, actor=current_actor()),
        "Akun {username} dinonaktifkan; semua sesinya berakhir.")


@bp.post("/admin/users/<int:user_id>/reactivate")
@roles_required("admin")
def user_reactivate(user_id: int):
    return _user_action(user_id, lambda: admin_users.reactivate_user(
        db.session, user_id, actor=current_actor()), "Akun {username} diaktifkan lagi.")


@bp.post("/admin/users/<int:user_id>/password")
@roles_required("admin")
def user_password(user_id: int):
    password = request.form.get("password", "")
    return _user_action(user_id, lambda: admin_users.reset_password(
        db.session, user_id, password, actor=current_actor()),
        "Kata sandi {username} diganti; semua sesinya berakhir.")


@bp.post("/admin/users/<int:user_id>/move")
@roles_required("admin")
def user_move(user_id: int):
    code = request.form.get("branch", "")[:10]
    return _user_action(user_id, lambda: admin_users.move_agent(
        db.session, user_id, code, actor=current_actor()), "{username} dipindah cabang.")


# --- rate schedule --------------------------------------------------------------------------

def _rates_page(error: str | None = None, status: int = 200, form: dict | None = None):
    rates = db.session.scalars(select(RateSchedule).order_by(RateSchedule.effective_from.desc())).all()
    discounts = db.session.scalars(select(RateDiscount).order_by(RateDiscount.month_from)).all()
    if form is None:
        latest = rates[0] if rates else None
        form = {name: getattr(latest, name) for name in admin_users.RATE_FIELDS} if latest else {}
    current_month = _today().replace(day=1)
    in_force = next((r for r in rates if r.effective_from <= current_month), None)
    return render_template("admin/rates.html", rates=rates, discounts=discounts, form=form,
                           error=error, current_month=current_month, in_force=in_force,
                           labels=admin_users.RATE_LABELS, fields=admin_users.RATE_FIELDS), status


@bp.get("/admin/rates")
@roles_required("admin")
def rates():
    return _rates_page()


@bp.post("/admin/rates")
@roles_required("admin")
def rate_create():
    form = request.form.to_dict()
    try:
        rate = admin_users.add_rate(db.session, form, today=_today(), actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        return _rates_page(error.message, error.status_code, form)
    flash(f"Tarif baru berlaku mulai {rate.effective_from:%Y-%m} disimpan.", "ok")
    return see_other(url_for("admin.rates"))


# --- sponsored-premium list -----------------------------------------------------------------

def _sponsored_page(error: str | None = None, status: int = 200, errors=()):
    return render_template("admin/sponsored.html", counts=list_counts(db.session, _today()),
                           header=",".join(HEADER), error=error, errors=errors), status


@bp.get("/admin/sponsored")
@roles_required("admin")
def sponsored():
    return _sponsored_page()


@bp.post("/admin/sponsored")
@roles_required("admin")
def sponsored_upload():
    # The upload limit is raised for this endpoint in admin/__init__.py (before CSRF reads the form).
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _sponsored_page("Pilih berkas CSV untuk diunggah.", 422)
    try:
        result = import_sponsored(db.session, upload.stream, actor=current_actor(),
                                  source_name=upload.filename)
    except ImportRejected as rejected:
        db.session.rollback()
        return _sponsored_page(rejected.message, 422, rejected.errors)
    flash(f"{result.rows} baris dibaca: {result.added} baru, {result.skipped} sudah ada, "
          f"{result.updated} diperbarui.", "ok")
    return see_other(url_for("admin.sponsored"))
