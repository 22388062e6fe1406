"""CSV reports for a branch: every collection in a period, and a monthly summary per agent.

Supervisors get their own branch with masked NIKs. An admin names the branch (`branch=CODE`).
The export with full NIKs is admin only and written to the audit trail, so it is a POST with a
CSRF token (a GET never changes anything, and a link or an <img> cannot make an admin's browser
ask for it); `GET …?full_nik=1` is refused with a message pointing at the form.
"""
from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user

from ..commands.reports import record_full_nik_export
from ..domain import N_, DomainError
from ..domain.clock import local_today
from ..domain.inputs import parse_period, require_month
from ..domain.months import month_of
from ..extensions import db
from ..models import Branch
from ..queries import admin as admin_queries
from ..queries.reports import agent_summary_rows, collection_rows, period_in
from ..web import current_actor, roles_required, today
from . import bp


def _branch(values) -> Branch:
    if current_user.is_supervisor:
        return current_user.branch
    code = (values.get("branch") or "").strip().upper()[:10]
    branch = admin_queries.branch_by_code(db.session, code)
    if branch is None:
        raise DomainError("Pilih kantor cabang dengan kode, mis. ?branch=BDG01.")
    return branch


def _period(values, branch: Branch):
    first, last = parse_period(values.get("from", ""), values.get("to", ""),
                               local_today(branch.timezone), default_this_month=False)
    return period_in(first, last, branch.timezone)


def _csv(chunks, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("")
@roles_required("supervisor", "admin")
def index():
    branches = [] if current_user.is_supervisor else admin_queries.branch_choices(db.session)
    day = today()  # the supervisor's branch day; the head office's for an admin
    # The forms start on this month up to today, the report a supervisor asks for most.
    return render_template("reports/index.html", branches=branches,
                           report_from=month_of(day).isoformat(), report_to=day.isoformat(),
                           report_month=month_of(day).strftime("%Y-%m"))


FULL_NIK_BY_GET = N_("NIK lengkap tidak bisa diunduh lewat tautan. Admin: pakai tombol "
                      "«Unduh dengan NIK lengkap» di halaman Laporan (/reports); unduhan itu "
                      "dicatat di jejak audit.")


@bp.get("/collections.csv")
@roles_required("supervisor", "admin")
def collections_csv():
    if "full_nik" in request.args:
        # Refused rather than silently masked: whoever followed an old link learns where the
        # full export is, and nothing is written by a GET.
        raise DomainError(FULL_NIK_BY_GET, status_code=400)
    branch = _branch(request.args)
    period = _period(request.args, branch)
    chunks = collection_rows(db.session, branch.id, period, branch.timezone, full_nik=False)
    return _csv(chunks, f"penerimaan-{branch.code}-{period.first_day}-{period.last_day}.csv")


@bp.post("/collections.csv")
@roles_required("admin")
def collections_csv_full_nik():
    """The same CSV with full NIKs, for an admin, from the form on the reports page."""
    branch = _branch(request.form)
    period = _period(request.form, branch)
    record_full_nik_export(db.session, branch_code=branch.code, first_day=period.first_day,
                           last_day=period.last_day, actor=current_actor())
    chunks = collection_rows(db.session, branch.id, period, branch.timezone, full_nik=True)
    return _csv(chunks, f"penerimaan-{branch.code}-{period.first_day}-{period.last_day}.csv")


@bp.get("/agents.csv")
@roles_required("supervisor", "admin")
def agents_csv():
    branch = _branch(request.args)
    month = require_month(request.args.get("month", ""))
    chunks = agent_summary_rows(db.session, branch.id, month, branch.timezone)
    return _csv(chunks, f"agen-{branch.code}-{month:%Y-%m}.csv")
