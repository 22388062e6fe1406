"""The slip (agent's and supervisor's view) and the agent's request to reverse a payment."""
from flask import flash, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..commands import reversals
from ..domain import DomainError
from ..extensions import db
from ..pages import receipt_page
from ..queries.receipts import own_receipt, visible_receipt
from ..web import current_actor, roles_required, see_other, wants_fragment
from . import bp

REQUESTED = _l("Permintaan pembatalan dikirim ke pengawas. Pembayaran tetap sah sampai disetujui.")


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
