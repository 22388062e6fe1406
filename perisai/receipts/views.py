"""The agent's receipts of a day, the slip (agent's and supervisor's view) and the agent's request
to reverse a payment."""
from datetime import timedelta

from flask import flash, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..commands import reversals
from ..domain import DomainError
from ..extensions import db
from ..pages import receipt_page
from ..domain.inputs import parse_iso_date
from ..queries.receipts import own_receipt, receipts_of_day, visible_receipt
from ..web import (branch_zone, current_actor, render_page, roles_required, see_other, today,
                   wants_fragment)
from . import bp

REQUESTED = _l("Permintaan pembatalan dikirim ke pengawas. Pembayaran tetap sah sampai disetujui.")


@bp.get("")
@roles_required("agent")
def index():
    """The agent's receipts of a day (today by default), each linking to its slip to reprint."""
    raw = (request.args.get("day") or "")[:10]
    day = parse_iso_date(raw) if raw else today()
    if day is None or day > today():
        raise DomainError("Tanggal tidak dikenali. Pilih hari ini atau hari sebelumnya.",
                          status_code=422)
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), 10_000)
    receipts, has_next, count, total = receipts_of_day(db.session, current_user.id, day,
                                                       branch_zone(), page=page)
    return render_page("receipts/index.html", "receipts/_day.html", day=day, today=today(),
                       receipts=receipts, has_next=has_next, page=page, count=count, total=total,
                       previous_day=day - timedelta(days=1),
                       next_day=day + timedelta(days=1) if day < today() else None)


@bp.get("/<number>")
@roles_required("agent", "supervisor")
def show(number: str):
    return receipt_page(visible_receipt(db.session, number, current_user))


def _with_reversal_card(number: str, status: int = 200, **extra):
    return receipt_page(own_receipt(db.session, number, current_user),
                        "receipts/_reversal_request.html", status=status, **extra)


@bp.post("/<number>/reversal")
@roles_required("agent")
def request_reversal(number: str):
    collection = own_receipt(db.session, number, current_user)
    try:
        reversals.request_reversal(db.session, collection.receipt_number, agent=current_user,
                                   reason=(request.form.get("reason") or "")[:2000],
                                   actor=current_actor())
    except DomainError as error:
        if error.status_code in (403, 404):
            raise
        return _with_reversal_card(number, status=error.status_code, reversal_error=error.text,
                                   reversal_reason=(request.form.get("reason") or "")[:500])
    if wants_fragment():
        return _with_reversal_card(number, status=201, reversal_message=REQUESTED)
    flash(str(REQUESTED), "ok")
    return see_other(url_for("receipts.show", number=collection.receipt_number))
