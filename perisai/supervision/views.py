"""Supervisor pages (agents' cash, ageing, flags, statements) and the money decisions around
them: deposits declared by agents, reversals requested by agents, both decided by a supervisor
of the same branch."""
from __future__ import annotations

import secrets

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..collect.views import receipt_page
from ..domain import DomainError
from ..domain.clock import utcnow
from ..domain.months import add_months, month_of
from ..extensions import db
from ..models import Collection
from ..services import deposits as deposit_service
from ..services import reversals as reversal_service
from ..services import supervision
from ..services.agent_dashboard import agent_dashboard
from ..services.incentives import monthly_incentives
from ..web import branch_zone, current_actor, render_page, roles_required, see_other, today, wants_fragment
from . import bp


# --- template helpers: the agent's dashboard and the receipt include our fragments ---------

@bp.app_template_global()
def new_form_key() -> str:
    """A fresh idempotency key for a form that must not be recorded twice."""
    return secrets.token_urlsafe(24)


@bp.app_template_global()
def deposit_panel(cash_on_hand: int | None = None):
    """The agent's deposit box: its deposits and the cash it can still declare."""
    from ..services.ledger import cash_on_hand as agent_cash
    if not (current_user.is_authenticated and current_user.is_agent):
        return None
    if cash_on_hand is None:
        cash_on_hand = agent_cash(db.session, current_user.id)
    return deposit_service.panel_for_agent(db.session, current_user.id, cash_on_hand)


@bp.app_template_global()
def held_for(hours: float | None) -> str:
    """How long the oldest undeposited rupiah has been held, for people: "1 hari 3 jam"."""
    if hours is None:
        return "–"
    whole = int(hours)
    if whole < 1:
        return "< 1 jam"
    days, rest = divmod(whole, 24)
    return f"{days} hari {rest} jam" if days else f"{rest} jam"


@bp.app_template_global()
def reversal_for(collection):
    return reversal_service.latest_for_collection(db.session, collection.id)


bp.add_app_template_global(deposit_service.STATUS_LABELS, "deposit_status_labels")
bp.add_app_template_global(reversal_service.STATUS_LABELS, "reversal_status_labels")
bp.add_app_template_global(supervision.FLAG_LABELS, "agent_flag_labels")
bp.add_app_template_global(supervision.KIND_LABELS, "ledger_kind_labels")


# --- supervisor pages --------------------------------------------------------------------

def _queue():
    branch_id = current_user.branch_id
    return (supervision.pending_deposits(db.session, branch_id),
            supervision.pending_reversals(db.session, branch_id))


@bp.get("/supervisor")
@roles_required("supervisor")
def home():
    branch = current_user.branch
    rows = supervision.agent_rows(db.session, branch, today())
    pending_deposits, pending_reversals = _queue()
    totals = supervision.branch_totals(db.session, branch, today(), rows, pending_deposits,
                                       pending_reversals)
    return render_page("supervision/home.html", "supervision/_queue.html", branch=branch,
                       totals=totals, flagged=[row for row in rows if row.flags],
                       pending_deposits=pending_deposits, pending_reversals=pending_reversals,
                       next_url=url_for("supervision.home"))


AGENTS_PER_PAGE = 50


def _agents_page(error: str | None = None, status: int = 200):
    sort = request.args.get("sort", "worst")
    if sort not in supervision.SORTS:
        sort = "worst"
    rows = supervision.agent_rows(db.session, current_user.branch, today(), sort=sort)
    # A branch can have hundreds of agents: a page of them at a time keeps the page light
    # (DESIGN §5: ≤ 8 KB); the sort puts the agents that need attention on the first page.
    pages = max(1, -(-len(rows) // AGENTS_PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = rows[(page - 1) * AGENTS_PER_PAGE:page * AGENTS_PER_PAGE]
    pending_deposits, pending_reversals = _queue()
    return render_page("supervision/agents.html", "supervision/_agents.html", status=status,
                       page=page, pages=pages,
                       rows=rows, sort=sort, sorts=supervision.SORTS, branch=current_user.branch,
                       pending_deposits=pending_deposits, pending_reversals=pending_reversals,
                       error=error, next_url=url_for("supervision.agents"),
                       now=utcnow())


@bp.get("/supervisor/agents")
@roles_required("supervisor")
def agents():
    return _agents_page()


@bp.get("/supervisor/agents/<username>")
@roles_required("supervisor")
def agent(username: str):
    agent, account = supervision.branch_agent(db.session, current_user.branch_id, username)
    branch = current_user.branch
    error = None
    status = 200
    try:
        date_from, date_to = supervision.parse_period(request.args.get("from"),
                                                      request.args.get("to"), today())
        statement = supervision.statement(db.session, agent.id, date_from, date_to,
                                          branch.timezone,
                                          page=request.args.get("page", 1, type=int) or 1,
                                          per_page=supervision.STATEMENT_LINES)
    except DomainError as problem:
        error, status, statement = problem.message, problem.status_code, None
    row = supervision.agent_rows(db.session, branch, today(), only=(agent, account))[0]
    this_month = month_of(today())
    incentives = monthly_incentives(db.session, agent.id, add_months(this_month, -1), 2,
                                    branch.timezone)[::-1]  # this month first
    return render_page("supervision/agent.html", "supervision/_statement.html", status=status,
                       agent=agent, row=row, statement=statement, error=error,
                       incentives=[i for i in incentives if i is not None],
                       raw_from=(request.args.get("from") or "")[:20],
                       raw_to=(request.args.get("to") or "")[:20], now=utcnow())


def _back_to_queue():
    """Where a plain form returns after a decision: the page it was sent from, if ours."""
    target = request.form.get("next") or ""
    if target.startswith(("/supervisor", "/receipts/")) and "//" not in target \
            and "\\" not in target:
        return target
    return url_for("supervision.agents")


# --- deposits ----------------------------------------------------------------------------

def _deposit_form_page(error: str, status: int):
    form = {"amount": (request.form.get("amount") or "")[:20],
            "reference": (request.form.get("reference") or "")[:60],
            "note": (request.form.get("note") or "")[:300],
            "idempotency_key": (request.form.get("idempotency_key") or "")[:64]}
    if wants_fragment():
        return render_page("dashboard/agent.html", "dashboard/_deposit.html", status=status,
                           deposit_error=error, deposit_form=form)
    board = agent_dashboard(db.session, current_user.id, branch_zone(), today())
    return render_page("dashboard/agent.html", "dashboard/_deposit.html", status=status,
                       board=board, today=today(), deposit_error=error, deposit_form=form)


@bp.post("/deposits")
@roles_required("agent")
def declare_deposit():
    try:
        amount = deposit_service.parse_amount(request.form.get("amount"))
        deposit, created = deposit_service.declare(
            db.session, agent=current_user, amount=amount,
            reference=(request.form.get("reference") or "")[:200],
            note=(request.form.get("note") or "")[:1000],
            idempotency_key=request.form.get("idempotency_key") or "", actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        return _deposit_form_page(error.message, error.status_code)
    message = (f"Setoran {deposit.reference} dicatat dan menunggu verifikasi pengawas."
               if created else "Setoran ini sudah tercatat sebelumnya; tidak dicatat dua kali.")
    if wants_fragment():
        return render_page("dashboard/agent.html", "dashboard/_deposit.html", status=201 if created else 200,
                           deposit_message=message)
    flash(message, "ok")
    return see_other(url_for("dashboard.home"))


def _decide(decision, item_id: int, *, find, template: str, name: str, message_for):
    """A supervisor's decision on an item of the queue (a deposit or a reversal): for htmx the
    item is drawn again in place, otherwise back to the page it was decided from; a refused
    decision says why in the same place."""
    try:
        decision()
    except DomainError as error:
        db.session.rollback()
        if error.status_code in (403, 404):
            raise
        if not wants_fragment():
            return _agents_page(error=error.message, status=error.status_code)
        return render_page("supervision/agents.html", template, status=error.status_code,
                           item_error=error.message, next_url=_back_to_queue(),
                           **{name: find(db.session, item_id, current_user)})
    item = find(db.session, item_id, current_user)
    message = message_for(item)
    if wants_fragment():
        return render_page("supervision/agents.html", template, item_message=message,
                           next_url=_back_to_queue(), **{name: item})
    flash(message, "ok")
    return see_other(_back_to_queue())


def _deposit_decided(deposit) -> str:
    label = deposit_service.STATUS_LABELS[deposit.status].lower()
    return f"Setoran {deposit.reference} dari {deposit.agent.full_name} {label}."


def _decide_deposit(decision):
    return _decide(decision, request.view_args["deposit_id"],
                   find=deposit_service.visible_deposit, template="supervision/_deposit_item.html",
                   name="deposit", message_for=_deposit_decided)


@bp.post("/deposits/<int:deposit_id>/verify")
@roles_required("supervisor")
def verify_deposit(deposit_id: int):
    return _decide_deposit(lambda: deposit_service.verify(
        db.session, deposit_id, supervisor=current_user, actor=current_actor()))


@bp.post("/deposits/<int:deposit_id>/reject")
@roles_required("supervisor")
def reject_deposit(deposit_id: int):
    return _decide_deposit(lambda: deposit_service.reject(
        db.session, deposit_id, supervisor=current_user, actor=current_actor(),
        reason=(request.form.get("reason") or "")[:1000]))


# --- reversals ---------------------------------------------------------------------------

def _own_collection(number: str) -> Collection:
    collection = db.session.scalars(select(Collection).where(
        Collection.receipt_number == number[:20])).first()
    if collection is None or collection.agent_id != current_user.id:
        raise DomainError("Kuitansi tidak ditemukan.", status_code=404)
    return collection


def _receipt_with(collection: Collection, status: int = 200, **extra):
    return receipt_page(collection, "collect/_reversal_request.html", status=status, **extra)


@bp.post("/receipts/<number>/reversal")
@roles_required("agent")
def request_reversal(number: str):
    collection = _own_collection(number)
    try:
        reversal_service.request_reversal(db.session, collection.receipt_number,
                                          agent=current_user,
                                          reason=(request.form.get("reason") or "")[:2000],
                                          actor=current_actor())
    except DomainError as error:
        db.session.rollback()
        if error.status_code in (403, 404):
            raise
        return _receipt_with(_own_collection(number), status=error.status_code,
                             reversal_error=error.message,
                             reversal_reason=(request.form.get("reason") or "")[:500])
    message = "Permintaan pembatalan dikirim ke pengawas. Pembayaran tetap sah sampai disetujui."
    if wants_fragment():
        return _receipt_with(_own_collection(number), status=201, reversal_message=message)
    flash(message, "ok")
    return see_other(url_for("collect.receipt", number=collection.receipt_number))


def _reversal_decided(reversal) -> str:
    receipt = reversal.collection.receipt_number
    return (f"Pembayaran {receipt} dibatalkan." if reversal.status == "approved"
            else f"Permintaan pembatalan {receipt} ditolak; pembayaran tetap sah.")


def _decide_reversal(decision):
    return _decide(decision, request.view_args["reversal_id"],
                   find=reversal_service.visible_reversal,
                   template="supervision/_reversal_item.html", name="reversal",
                   message_for=_reversal_decided)


@bp.post("/reversals/<int:reversal_id>/approve")
@roles_required("supervisor")
def approve_reversal(reversal_id: int):
    return _decide_reversal(lambda: reversal_service.approve(
        db.session, reversal_id, supervisor=current_user, actor=current_actor(),
        note=(request.form.get("note") or "")[:1000]))


@bp.post("/reversals/<int:reversal_id>/reject")
@roles_required("supervisor")
def reject_reversal(reversal_id: int):
    return _decide_reversal(lambda: reversal_service.reject(
        db.session, reversal_id, supervisor=current_user, actor=current_actor(),
        reason=(request.form.get("reason") or "")[:1000]))
