"""Pages anyone can open: the slip and the member card behind a QR code, checks by number (or
NIK) and birth date, and what the programs cover.

A wrong birth date and an unknown number get the same answer, so these pages cannot be used to
learn whether a number exists. They are rate-limited per address.
"""
from datetime import date

from flask import current_app, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import text as sql

from ..domain.clock import HEAD_OFFICE_ZONE, local_today
from ..domain.codes import MEMBER_NUMBER_LENGTH, RECEIPT_NUMBER_LENGTH, is_well_formed, normalise
from ..domain.inputs import parse_iso_date
from ..domain.nik import clean as clean_nik, validation_error
from ..domain.privacy import last_digits_only, masked_name
from ..domain.status import membership_status
from ..extensions import db, limiter
from ..links import (member_from_card_token, public_card_url, public_slip_url, qr_svg,
                     receipt_from_token)
from ..models import Collection
from ..queries.cash_state import cash_state
from ..queries.receipts import (by_number, is_reversed, member_for_check, receipt_for_worker,
                                worker_by_nik)
from ..queries.sponsorship import entries_for
from ..queries.worker_changes import worker_by_member_number
from . import bp
from .forms import SponsoredForm, StatusForm, VerifyForm

NOT_FOUND = _l("Tidak ditemukan. Periksa lagi nomor dan tanggal lahir.")
NOT_FOUND_NIK = _l("Tidak ditemukan. Periksa lagi NIK dan tanggal lahir.")


def _public_limit():
    return current_app.config["RATELIMIT_PUBLIC"]


def _slip_context(collection: Collection, public_url: str) -> dict:
    reversed_ = is_reversed(db.session, collection)
    return dict(collection=collection, bill=collection.bill, lines=collection.bill.lines,
                reversed=reversed_, qr=qr_svg(public_url),
                cash=None if reversed_ else cash_state(db.session, collection))


def _forget_personal_input(form, number_field: str) -> None:
    """Public pages never print a birth date (shared phones, screenshots) nor a huge input."""
    form.birth_date.data = ""
    field = getattr(form, number_field)
    field.data = (field.data or "")[:40]


@bp.get("/cek")
def index():
    return render_template("public/index.html", verify=VerifyForm(meta={"csrf": False}),
                           status=StatusForm(meta={"csrf": False}),
                           sponsored=SponsoredForm(meta={"csrf": False}))


@bp.get("/s/<token>")
@limiter.limit(_public_limit)
def slip(token: str):
    number = receipt_from_token(token, current_app.config["SECRET_KEY"])
    collection = by_number(db.session, number) if number is not None else None
    if collection is None:
        return render_template("public/slip.html", collection=None), 404
    return render_template("public/slip.html",
                           **_slip_context(collection, public_slip_url(collection.receipt_number)))


@bp.get("/verify")
@limiter.limit(_public_limit)
def verify():
    form = VerifyForm(formdata=request.args, meta={"csrf": False})
    if not request.args:
        return render_template("public/verify.html", form=form)
    number = normalise((form.receipt.data or "")[:40])
    born = parse_iso_date((form.birth_date.data or "")[:10])
    _forget_personal_input(form, "receipt")
    collection = None
    if is_well_formed(number, RECEIPT_NUMBER_LENGTH) and born:
        collection = receipt_for_worker(db.session, number, born)
    if collection is None:
        return render_template("public/verify.html", form=form, not_found=NOT_FOUND), 404
    return render_template("public/verify.html", form=form,
                           **_slip_context(collection, public_slip_url(collection.receipt_number)))


@bp.get("/status")
@limiter.limit(_public_limit)
def status():
    form = StatusForm(formdata=request.args, meta={"csrf": False})
    if not request.args:
        return render_template("public/status.html", form=form)
    if "nik" in request.args and "member" not in request.args:
        return _status_by_nik(form)
    number = normalise((form.member.data or "")[:40])
    born = parse_iso_date((form.birth_date.data or "")[:10])
    _forget_personal_input(form, "member")
    worker = None
    if is_well_formed(number, MEMBER_NUMBER_LENGTH) and born:
        worker = member_for_check(db.session, number, born)
    if worker is None:
        return render_template("public/status.html", form=form, not_found=NOT_FOUND), 404
    today = local_today(worker.branch.timezone)
    return render_template("public/status.html", form=form, worker=worker,
                           name=masked_name(worker.full_name),
                           membership=membership_status(worker.first_month, worker.paid_through, today))


def _status_by_nik(form: StatusForm):
    """A lost member number: the status by NIK and birth date, the number's last 4 digits only.

    An unknown NIK and a wrong birth date do the same work (one read of the NIK's row) and get
    the same answer; the NIK and birth date typed are not printed back."""
    nik = clean_nik((form.nik.data or "")[:40])
    born = parse_iso_date((form.birth_date.data or "")[:10])
    form.nik.data = ""
    form.birth_date.data = ""
    problem = validation_error(nik)
    if problem:
        return render_template("public/status.html", form=form, by_nik=True, problem=problem), 422
    worker = worker_by_nik(db.session, nik)
    if worker is None or born is None or worker.birth_date != born:
        return render_template("public/status.html", form=form, by_nik=True,
                               not_found=NOT_FOUND_NIK), 404
    today = local_today(worker.branch.timezone)
    return render_template("public/status.html", form=form, worker=worker, by_nik=True,
                           name=masked_name(worker.full_name),
                           member_number=last_digits_only(worker.member_number),
                           membership=membership_status(worker.first_month, worker.paid_through, today))


@bp.get("/card/<token>")
@limiter.limit(_public_limit)
def card(token: str):
    """The member's digital card; its QR code opens this page again (the status today)."""
    number = member_from_card_token(token, current_app.config["SECRET_KEY"])
    worker = worker_by_member_number(db.session, number) if number is not None else None
    if worker is None:
        return render_template("public/card.html", worker=None), 404
    url = public_card_url(worker.member_number)
    today = local_today(worker.branch.timezone)
    return render_template("public/card.html", worker=worker, card_url=url, qr=qr_svg(url),
                           a4=request.args.get("size") == "a4", today=today,
                           membership=membership_status(worker.first_month, worker.paid_through, today))


@bp.get("/program")
def program():
    return render_template("public/program.html")


@bp.get("/sponsored")
@limiter.limit(_public_limit)
def sponsored():
    form = SponsoredForm(formdata=request.args, meta={"csrf": False})
    if not request.args:
        return render_template("public/sponsored.html", form=form)
    nik = clean_nik((form.nik.data or "")[:40])
    problem = validation_error(nik)
    if problem:
        return render_template("public/sponsored.html", form=form, problem=problem), 422
    today = local_today(HEAD_OFFICE_ZONE)
    entries = entries_for(db.session, nik, today.replace(day=1))
    worker = worker_by_nik(db.session, nik)
    return render_template("public/sponsored.html", form=form, entries=entries, checked=True,
                           name=masked_name(worker.full_name) if worker else None)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    db.session.execute(sql("SELECT 1"))
    return {"status": "ok", "date": date.today().isoformat()}
