"""Deposits: the agent declares cash paid in to the branch; a supervisor of that branch
verifies (the cash leaves the agent's books) or rejects it."""
from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..commands import deposits
from ..domain import DomainError
from ..domain.deposits import parse_amount
from ..domain.statuses import DEPOSIT_LABELS
from ..extensions import db
from ..i18n import localize
from ..pages import agent_home_page, queue_decision
from ..queries.deposits import panel_for_agent, visible_deposit
from ..web import current_actor, render_page, roles_required, see_other, wants_fragment
from . import bp


def _typed_form() -> dict:
    return {"amount": (request.form.get("amount") or "")[:20],
            "reference": (request.form.get("reference") or "")[:60],
            "note": (request.form.get("note") or "")[:300],
            "idempotency_key": (request.form.get("idempotency_key") or "")[:64]}


def _deposit_box(status: int, **extra):
    """The agent's deposit box: alone for htmx, in the whole dashboard otherwise."""
    if wants_fragment():
        return render_page("dashboard/agent.html", "deposits/_box.html", status=status,
                           deposit_panel=panel_for_agent(db.session, current_user.id), **extra)
    response = agent_home_page(status=status, **extra)
    response.vary.add("HX-Request")
    return response


@bp.post("")
@roles_required("agent")
def declare():
    try:
        amount = parse_amount(request.form.get("amount"))
        deposit, created = deposits.declare(
            db.session, agent=current_user, amount=amount,
            reference=(request.form.get("reference") or "")[:200],
            note=(request.form.get("note") or "")[:1000],
            idempotency_key=request.form.get("idempotency_key") or "", actor=current_actor())
    except DomainError as error:
        return _deposit_box(error.status_code, deposit_error=error.text, deposit_form=_typed_form())
    message = (_("Setoran %(reference)s dicatat dan menunggu verifikasi pengawas.", reference=deposit.reference)
               if created else _("Setoran ini sudah tercatat sebelumnya; tidak dicatat dua kali."))
    if wants_fragment():
        return _deposit_box(201 if created else 200, deposit_message=message)
    flash(message, "ok")
    return see_other(url_for("dashboard.home"))


def _decided(deposit) -> str:
    label = localize(DEPOSIT_LABELS[deposit.status]).lower()
    return _("Setoran %(reference)s dari %(agent)s %(state)s.", reference=deposit.reference,
             agent=deposit.agent.full_name, state=label)


def _decide(decision, deposit_id: int):
    return queue_decision(decision, deposit_id, find=visible_deposit,
                          template="deposits/_deposit_item.html", name="deposit",
                          message_for=_decided, agent_of=lambda deposit: deposit.agent)


@bp.post("/<int:deposit_id>/verify")
@roles_required("supervisor")
def verify(deposit_id: int):
    return _decide(lambda: deposits.verify(db.session, deposit_id, supervisor=current_user,
                                           actor=current_actor()), deposit_id)


@bp.post("/<int:deposit_id>/reject")
@roles_required("supervisor")
def reject(deposit_id: int):
    return _decide(lambda: deposits.reject(db.session, deposit_id, supervisor=current_user,
                                           actor=current_actor(),
                                           reason=(request.form.get("reason") or "")[:1000]),
                   deposit_id)
