"""A supervisor decides a change of heir an agent asked for (maker-checker)."""
from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ..commands.worker_data import approve_heir_change, reject_heir_change
from ..domain.statuses import HeirChangeStatus
from ..extensions import db
from ..pages import queue_decision
from ..queries.worker_changes import visible_heir_change
from ..web import current_actor, roles_required
from . import bp


def _decided(change) -> str:
    if change.status == HeirChangeStatus.APPROVED:
        return _("Ahli waris %(worker)s sekarang %(heir)s.", worker=change.worker.full_name,
                 heir=change.new_name)
    return _("Perubahan ahli waris %(worker)s ditolak; ahli waris tetap %(heir)s.",
             worker=change.worker.full_name, heir=change.old_name)


def _decide(decision, heir_change_id: int):
    return queue_decision(decision, heir_change_id, find=visible_heir_change,
                          template="heir_changes/_heir_change_item.html", name="heir_change",
                          message_for=_decided,
                          agent_of=lambda heir_change: heir_change.worker.agent)


def _note() -> str:
    return (request.form.get("note") or "")[:1000]


@bp.post("/<int:heir_change_id>/approve")
@roles_required("supervisor")
def approve(heir_change_id: int):
    return _decide(lambda: approve_heir_change(db.session, heir_change_id, supervisor=current_user,
                                               actor=current_actor(), note=_note()),
                   heir_change_id)


@bp.post("/<int:heir_change_id>/reject")
@roles_required("supervisor")
def reject(heir_change_id: int):
    return _decide(lambda: reject_heir_change(db.session, heir_change_id, supervisor=current_user,
                                              actor=current_actor(), note=_note()),
                   heir_change_id)
