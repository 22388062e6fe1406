"""Issuing a payment code and showing it."""
from flask import url_for
from flask_login import current_user
from sqlalchemy import select

from ..domain import DomainError
from ..extensions import db
from ..models import Bill
from ..services.billing import effective_status, issue_bill, lines_of
from ..web import current_actor, render_page, roles_required, show_next, today
from ..workers.views import _detail_page
from . import bp
from .forms import BillForm


@bp.post("/workers/<int:worker_id>/bills")
@roles_required("agent")
def issue(worker_id: int):
    form = BillForm()
    if not form.validate():
        return _detail_page(worker_id, error="Pilih 1, 3, 6 atau 12 bulan.", status=422)
    try:
        bill = issue_bill(db.session, worker_id, int(form.months.data), agent=current_user,
                          actor=current_actor(), today=today())
    except DomainError as error:
        if error.status_code == 404:
            raise
        return _detail_page(worker_id, error=error.message, status=error.status_code)
    return show_next(url_for("billing.show", code=bill.code), lambda: show(bill.code))


@bp.get("/bills/<code>")
@roles_required("agent", "supervisor")
def show(code: str):
    bill = db.session.scalars(select(Bill).where(Bill.code == code[:20])).first()
    visible = bill is not None and bill.branch_id == current_user.branch_id and (
        current_user.is_supervisor or bill.agent_id == current_user.id)
    if not visible:
        raise DomainError("Kode bayar tidak ditemukan.", status_code=404)
    return render_page("billing/show.html", "billing/_bill.html", bill=bill,
                       lines=lines_of(bill), state=effective_status(bill))
