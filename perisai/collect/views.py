"""Taking the cash against a code, and the agent's view of the slip."""
import secrets

from flask import request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..domain import DomainError
from ..domain.checklist import parse_rupiah
from ..extensions import db
from ..models import Collection
from ..services.billing import effective_status, lines_of
from ..services.collecting import (IDEMPOTENCY_KEY, AlreadyPaid, collect as record_collection,
                                   find_bill_for_agent, parse_code)
from ..services.slips import is_reversed, qr_svg
from ..web import (current_actor, public_slip_url, render_page, roles_required, see_other, today,
                   wants_fragment)
from . import bp
from .forms import CollectForm


def _collect_page(form: CollectForm, bill=None, error: str | None = None, status: int = 200):
    if not IDEMPOTENCY_KEY.fullmatch(form.idempotency_key.data or ""):
        form.idempotency_key.data = secrets.token_urlsafe(24)
    # Never send a huge or odd input back to the phone.
    form.code.data = (form.code.data or "")[:40]
    form.amount.data = (form.amount.data or "")[:20]
    state = effective_status(bill) if bill else None
    paid = (db.session.scalars(select(Collection).where(Collection.bill_id == bill.id)).first()
            if state == "paid" else None)
    context = dict(form=form, bill=bill, error=error, lines=lines_of(bill) if bill else [],
                   state=state, paid_collection=paid)
    return render_page("collect/collect.html", "collect/_collect.html", status=status, **context)


@bp.get("/collect")
@roles_required("agent")
def collect():
    form = CollectForm(formdata=request.args, meta={"csrf": False})
    form.amount.data = ""
    typed = (request.args.get("code") or "")[:40]
    if not typed.strip():
        return _collect_page(form)
    try:
        code = parse_code(typed)
    except DomainError as error:
        return _collect_page(form, error=error.message, status=422)
    try:
        bill = find_bill_for_agent(db.session, code, current_user)
    except DomainError as error:
        return _collect_page(form, error=error.message, status=error.status_code)
    form.code.data = code
    return _collect_page(form, bill=bill)


@bp.post("/collect")
@roles_required("agent")
def collect_post():
    form = CollectForm()
    bill = None
    try:
        code = parse_code((form.code.data or "")[:40])
        bill = find_bill_for_agent(db.session, code, current_user)
        amount = parse_rupiah((form.amount.data or "")[:20])
        if amount is None:
            raise DomainError("Isi jumlah uang yang diterima, dalam rupiah (mis. 36800).")
        collection, _created = record_collection(
            db.session, code=code, amount=amount, idempotency_key=form.idempotency_key.data or "",
            agent=current_user, actor=current_actor(), today=today())
    except AlreadyPaid as paid:
        db.session.rollback()
        return render_page("collect/paid.html", "collect/_paid.html", status=409,
                           collection=paid.collection)
    except DomainError as error:
        db.session.rollback()
        if bill is not None:
            db.session.refresh(bill)
        return _collect_page(form, bill=bill, error=error.message, status=error.status_code)
    target = url_for("collect.receipt", number=collection.receipt_number)
    if wants_fragment():
        # One round trip for htmx: answer with the slip itself and put its URL in the bar.
        response = receipt_page(collection)
        response.headers["HX-Push-Url"] = target
        return response
    return see_other(target)


def receipt_page(collection: Collection, fragment: str = "collect/_receipt.html",
                 status: int = 200, **extra):
    """The slip page; htmx gets `fragment` (the whole receipt, or only the reversal card)."""
    public_url = public_slip_url(collection.receipt_number)
    return render_page("collect/receipt.html", fragment, status=status, collection=collection,
                       bill=collection.bill, lines=lines_of(collection.bill),
                       reversed=is_reversed(db.session, collection), public_url=public_url,
                       qr=qr_svg(public_url), **extra)


@bp.get("/receipts/<number>")
@roles_required("agent", "supervisor")
def receipt(number: str):
    collection = db.session.scalars(select(Collection).where(
        Collection.receipt_number == number[:20])).first()
    allowed = collection is not None and (
        (current_user.is_agent and collection.agent_id == current_user.id)
        or (current_user.is_supervisor and collection.branch_id == current_user.branch_id))
    if not allowed:
        raise DomainError("Kuitansi tidak ditemukan.", status_code=404)
    return receipt_page(collection)
