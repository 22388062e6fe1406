"""A supervisor decides a reversal an agent asked for (maker-checker)."""
from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ..commands import reversals
from ..domain.statuses import ReversalStatus
from ..extensions import db
from ..pages import queue_decision
from ..queries.reversals import visible_reversal
from ..web import current_actor, roles_required
from . import bp


def _decided(reversal) -> str:
    receipt = reversal.collection.receipt_number
    return (_("Pembayaran %(receipt)s dibatalkan.", receipt=receipt)
            if reversal.status == ReversalStatus.APPROVED
            else _("Permintaan pembatalan %(receipt)s ditolak; pembayaran tetap sah.", receipt=receipt))


def _decide(decision, reversal_id: int):
    return queue_decision(decision, reversal_id, find=visible_reversal,
                          template="reversals/_reversal_item.html", name="reversal",
                          message_for=_decided,
                          agent_of=lambda reversal: reversal.collection.agent)


@bp.post("/<int:reversal_id>/approve")
@roles_required("supervisor")
def approve(reversal_id: int):
    return _decide(lambda: reversals.approve(db.session, reversal_id, supervisor=current_user,
                                             actor=current_actor(),
                                             note=(request.form.get("note") or "")[:1000]),
                   reversal_id)


@bp.post("/<int:reversal_id>/reject")
@roles_required("supervisor")
def reject(reversal_id: int):
    return _decide(lambda: reversals.reject(db.session, reversal_id, supervisor=current_user,
                                            actor=current_actor(),
                                            reason=(request.form.get("reason") or "")[:1000]),
                   reversal_id)
