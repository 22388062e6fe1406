"""CSV reports for a branch: every collection in a period, and a monthly summary per agent.

Supervisors get their own branch with masked NIKs. An admin names the branch (`branch=CODE`)
and may ask for full NIKs (`full_nik=1`), which is written to the audit trail.
"""
from __future__ import annotations

from flask import Response, render_template, request, stream_with_context
from flask_login import current_user
from sqlalchemy import select

from ..domain import DomainError
from ..extensions import db
from ..models import Branch
from ..services import audit
from ..services.reports import agent_summary_rows, collection_rows, parse_month, parse_period
from ..services.tx import write_transaction
from ..web import current_actor, roles_required
from . import bp


def _branch() -> Branch:
    if current_user.is_supervisor:
        return current_user.branch
    code = (request.args.get("branch") or "").strip().upper()[:10]
    branch = db.session.scalars(select(Branch).where(Branch.code == code)).first() if code else None
    if branch is None:
        raise DomainError("Pilih kantor cabang dengan kode, mis. ?branch=BDG01.")
    return branch


def _csv(chunks, filename: str) -> Response:
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("")
@roles_required("supervisor", "admin")
def index():
    branches = [] if current_user.is_supervisor else db.session.scalars(
        select(Branch).order_by(Branch.code)).all()
    return render_template("reports/index.html", branches=branches)


@bp.get("/collections.csv")
@roles_required("supervisor", "admin")
def collections_csv():
    branch = _branch()
    period = parse_period(request.args.get("from", ""), request.args.get("to", ""), branch.timezone)
    full_nik = current_user.is_admin and request.args.get("full_nik") == "1"
    if full_nik:
        # Recorded before a single row leaves the server.
        with write_transaction(db.session):
            audit.record(db.session, current_actor(), "report.full_nik", "branch", branch.code,
                         after={"report": "collections", "from": period.first_day,
                                "to": period.last_day})
    chunks = collection_rows(db.session, branch.id, period, branch.timezone, full_nik=full_nik)
    return _csv(chunks, f"penerimaan-{branch.code}-{period.first_day}-{period.last_day}.csv")


@bp.get("/agents.csv")
@roles_required("supervisor", "admin")
def agents_csv():
    branch = _branch()
    month = parse_month(request.args.get("month", ""))
    chunks = agent_summary_rows(db.session, branch.id, month, branch.timezone)
    return _csv(chunks, f"agen-{branch.code}-{month:%Y-%m}.csv")
