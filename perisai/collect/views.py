"""Taking the cash against a code: find the code, see what is owed, confirm."""
from flask import jsonify, request, url_for
from flask_wtf.csrf import generate_csrf
from flask_login import current_user

from ..commands.collecting import AlreadyPaid, KeyUsed, collect as record_collection
from ..domain import DomainError
from ..domain.bills import require_amount
from ..domain.codes import parse_code
from ..domain.inputs import is_form_key, new_form_key, parse_rupiah
from ..domain.lateness import parse_taken_at
from ..domain.statuses import BillStatus
from ..extensions import db
from ..pages import receipt_page
from ..domain.clock import utcnow
from ..i18n import month_name
from ..queries.bills import bill_for_agent, collection_of, open_codes
from ..web import current_actor, render_page, roles_required, see_other, today, wants_fragment
from . import bp
from .forms import CollectForm


def _collect_page(form: CollectForm, bill=None, error=None, status: int = 200):
    if not is_form_key(form.idempotency_key.data):
        form.idempotency_key.data = new_form_key()
    # Never send a huge or odd input back to the phone.
    form.code.data = (form.code.data or "")[:40]
    form.amount.data = (form.amount.data or "")[:20]
    state = bill.state if bill else None
    paid = collection_of(db.session, bill) if state == BillStatus.PAID else None
    return render_page("collect/collect.html", "collect/_collect.html", status=status, form=form,
                       bill=bill, error=error, lines=bill.lines if bill else [], state=state,
                       paid_collection=paid)


def _refused(form: CollectForm, code: str | None, error: DomainError):
    """The form again with why the cash was not taken, and the code's bill when it is this
    agent's. The bill is read only now (a payment that goes through reads it once, in its
    transaction), and what is wrong with the code itself is said first, as before the amount."""
    bill = None
    if code:
        try:
            bill = bill_for_agent(db.session, code, current_user)
        except DomainError as about_code:
            error = about_code
    return _collect_page(form, bill=bill, error=error.text, status=error.status_code)


@bp.get("")
@roles_required("agent")
def collect():
    form = CollectForm(formdata=request.args, meta={"csrf": False})
    form.amount.data = ""
    typed = (request.args.get("code") or "")[:40]
    if not typed.strip():
        return _collect_page(form)
    try:
        code = parse_code(typed)
        bill = bill_for_agent(db.session, code, current_user)
    except DomainError as error:
        return _collect_page(form, error=error.text, status=error.status_code)
    form.code.data = code
    return _collect_page(form, bill=bill)


@bp.post("")
@roles_required("agent")
def collect_post():
    form = CollectForm()
    code = None
    try:
        code = parse_code((form.code.data or "")[:40])
        amount = require_amount(parse_rupiah((form.amount.data or "")[:20]))
        taken_at = parse_taken_at(request.form.get("taken_at"))
        collection, _created = record_collection(
            db.session, code=code, amount=amount, idempotency_key=form.idempotency_key.data or "",
            agent=current_user, actor=current_actor(), today=today(), taken_at=taken_at)
    except AlreadyPaid as paid:
        return render_page("collect/paid.html", "collect/_paid.html", status=409,
                           collection=paid.collection)
    except KeyUsed as used:
        if used.collection is None:
            return _collect_page(CollectForm(formdata=None), error=used.text, status=409)
        return render_page("collect/paid.html", "collect/_paid.html", status=409,
                           collection=used.collection, key_used=True)
    except DomainError as error:
        return _refused(form, code, error)
    target = url_for("receipts.show", number=collection.receipt_number)
    if wants_fragment():
        # One round trip for htmx: answer with the slip itself and put its URL in the bar.
        response = receipt_page(collection)
        response.headers["HX-Push-Url"] = target
        return response
    return see_other(target)


@bp.get("/codes")
@roles_required("agent")
def codes():
    """The agent's open codes for the phone (static/js/outbox.js), with a fresh CSRF token for
    sending what was recorded offline. Never cached: it is personal and changes often."""
    now = utcnow()
    response = jsonify(
        user=current_user.username, csrf=generate_csrf(), at=now.isoformat() + "Z",
        codes=[{"code": bill.code, "name": name, "months": bill.months,
                "period": month_name(bill.first_month) + (
                    "" if bill.months == 1 else " – " + month_name(bill.last_month)),
                "amount": bill.amount, "expires": bill.expires_at.isoformat() + "Z"}
               for bill, name in open_codes(db.session, current_user.id, now)])
    response.headers["Cache-Control"] = "no-store"
    return response
