"""A worker's complaint, filed without an account, and its ticket page.

The worker proves who they are as on the other public checks (a receipt or member number with
the birth date): a wrong birth date and an unknown number get the same answer, so the form
tells nothing about anyone else. Filing is rate-limited per address more tightly than reading.
"""
from flask import current_app, render_template, request, url_for

from ..commands import Actor
from ..commands.complaints import file_complaint
from ..domain import DomainError
from ..domain.codes import MEMBER_NUMBER_LENGTH, RECEIPT_NUMBER_LENGTH, is_well_formed, normalise
from ..domain.complaints import MAX_MESSAGE
from ..domain.inputs import parse_iso_date
from ..domain.privacy import masked_name
from ..extensions import db, limiter
from ..queries.complaints import by_ticket
from ..queries.receipts import member_for_check, receipt_for_worker
from ..web import see_other
from . import bp
from .forms import ComplaintForm
from .views import NOT_FOUND

ASK_FOR_NUMBER = "Isi nomor kuitansi atau nomor peserta, dan tanggal lahir pekerja."


def _public_limit():
    return current_app.config["RATELIMIT_PUBLIC"]


def _complaint_limit():
    return current_app.config["RATELIMIT_COMPLAINT"]


def _form_page(form: ComplaintForm, status: int = 200, error=None):
    form.birth_date.data = ""  # never printed back (shared phones, screenshots)
    for name in ("receipt", "member", "phone"):
        field = getattr(form, name)
        field.data = (field.data or "")[:40]
    form.message.data = (form.message.data or "")[:MAX_MESSAGE + 100]
    return render_template("public/complaint.html", form=form, error=error,
                           max_message=MAX_MESSAGE), status


def _identify(form: ComplaintForm):
    """(worker, collection) named by the form, or None: the same None for a wrong birth date,
    an unknown number and a malformed one."""
    born = parse_iso_date((form.birth_date.data or "")[:10])
    receipt = normalise((form.receipt.data or "")[:40])
    member = normalise((form.member.data or "")[:40])
    if born is None:
        return None
    if receipt:
        if not is_well_formed(receipt, RECEIPT_NUMBER_LENGTH):
            return None
        collection = receipt_for_worker(db.session, receipt, born)
        return (collection.worker, collection) if collection else None
    if member and is_well_formed(member, MEMBER_NUMBER_LENGTH):
        worker = member_for_check(db.session, member, born)
        return (worker, None) if worker else None
    return None


@bp.get("/complaint")
@limiter.limit(_public_limit)
def complaint():
    form = ComplaintForm(formdata=None)
    form.receipt.data = normalise((request.args.get("receipt") or "")[:40])
    form.member.data = normalise((request.args.get("member") or "")[:40])
    return _form_page(form)


@bp.post("/complaint")
@limiter.limit(_public_limit)
@limiter.limit(_complaint_limit)
def file():
    form = ComplaintForm()  # the CSRF token is checked before the view (CSRFProtect)
    if not ((form.receipt.data or "").strip() or (form.member.data or "").strip()) \
            or not (form.birth_date.data or "").strip():
        return _form_page(form, 422, error=ASK_FOR_NUMBER)
    found = _identify(form)
    if found is None:
        return _form_page(form, 422, error=NOT_FOUND)
    worker, collection = found
    try:
        filed = file_complaint(db.session, worker=worker, collection=collection,
                               message=form.message.data, phone=form.phone.data,
                               actor=Actor(None, "public", request.remote_addr))
    except DomainError as error:
        return _form_page(form, error.status_code, error=error.text)
    return see_other(url_for("public.ticket", ticket=filed.ticket))


@bp.get("/complaint/<ticket>")
@limiter.limit(_public_limit)
def ticket(ticket: str):
    found = by_ticket(db.session, ticket)
    if found is None:
        return render_template("public/ticket.html", complaint=None), 404
    return render_template("public/ticket.html", complaint=found,
                           name=masked_name(found.worker.full_name))
