"""Worker list, document check + registration, worker page."""
from datetime import timedelta

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..domain import Conflict
from ..domain.checklist import check_registration, income_hint
from ..domain.nik import clean, validation_error
from ..domain.status import membership_status
from ..extensions import db
from ..domain.clock import utcnow
from ..models import Bill, Collection, Worker
from ..services.billing import ALLOWED_MONTHS, effective_status
from ..services.rates import load_rate_book
from ..services.registration import existing_member, register_worker
from ..web import current_actor, render_page, roles_required, see_other, show_next, today
from . import bp
from .forms import CHOICES, RegistrationForm
from ..services.agent_dashboard import members_behind
from .queries import search, visible_worker

RESUBMIT_WINDOW = timedelta(minutes=15)


@bp.get("")
@roles_required("agent", "supervisor")
def index():
    q = request.args.get("q", "")[:60]  # never echo a huge query back
    page = request.args.get("page", 1, type=int) or 1
    page = min(max(page, 1), 10_000)
    if request.args.get("due") and current_user.is_agent:
        # The dashboard shows the most overdue; this is all of them, a page at a time.
        behind, has_next = members_behind(db.session, current_user.id, today(), page=page,
                                          per_page=current_app.config["WORKERS_PER_PAGE"])
        return render_template("workers/due.html", behind=behind, page=page, has_next=has_next)
    workers, has_next = search(db.session, current_user, q, page,
                               current_app.config["WORKERS_PER_PAGE"])
    return render_page("workers/index.html", "workers/_results.html", q=q, page=page,
                       workers=workers, has_next=has_next, today=today())


def _check(form: RegistrationForm):
    book = load_rate_book(db.session)
    raw = form.raw()
    nik = clean(raw.get("nik") or "")
    existing = existing_member(db.session, nik, today()) if not validation_error(nik) else None
    result = check_registration(raw, today=today(), rate_book=book, existing=existing)
    form.clear(result.too_long)
    return result, income_hint(book, today().replace(day=1))


@bp.route("/new", methods=["GET", "POST"])
@roles_required("agent")
def new():
    form = RegistrationForm()
    if request.method == "GET":
        result, hint = _check(form) if request.args else (None, income_hint(
            load_rate_book(db.session), today().replace(day=1)))
        return render_template("workers/new.html", choices=CHOICES, form=form, result=result, income_hint=hint)
    result, hint = _check(form)
    if not result.complete:
        if [item.key for item in result.problems] == ["nik_unique"]:
            mine = _just_registered_by_me(clean(form.nik.data or ""))
            if mine is not None:
                # A retry after a timeout: the first submission already registered the worker.
                return see_other(url_for("workers.detail", worker_id=mine.id))
        return render_template("workers/new.html", choices=CHOICES, form=form, result=result, income_hint=hint), 422
    try:
        worker = register_worker(db.session, result.registration, agent=current_user,
                                 actor=current_actor(), today=today())
    except Conflict as conflict:
        mine = _just_registered_by_me(result.registration.nik)
        if mine is not None:
            # The same agent sent the same registration twice (a double tap, a retry).
            return see_other(url_for("workers.detail", worker_id=mine.id))
        result, hint = _check(form)
        return render_template("workers/new.html", choices=CHOICES, form=form, result=result, income_hint=hint,
                               error=conflict.message), 409
    return show_next(url_for("workers.detail", worker_id=worker.id),
                     lambda: _detail_page(worker.id))


def _just_registered_by_me(nik: str) -> Worker | None:
    mine = db.session.scalars(select(Worker).where(
        Worker.nik == nik, Worker.agent_id == current_user.id)).first()
    if mine is not None and utcnow() - mine.registered_at < RESUBMIT_WINDOW:
        return mine
    return None


@bp.post("/new/check")
@roles_required("agent")
def check():
    """The live checklist: htmx posts the form here as the agent types."""
    form = RegistrationForm()
    result, _ = _check(form)
    return render_template("workers/_checklist.html", result=result)


@bp.get("/<int:worker_id>")
@roles_required("agent", "supervisor")
def detail(worker_id: int):
    return _detail_page(worker_id)


def _detail_page(worker_id: int, error: str | None = None, status: int = 200):
    worker = visible_worker(db.session, current_user, worker_id)
    bills = db.session.scalars(select(Bill).where(Bill.worker_id == worker.id)
                               .order_by(Bill.created_at.desc()).limit(10)).all()
    collections = db.session.scalars(select(Collection).where(Collection.worker_id == worker.id)
                                     .order_by(Collection.collected_at.desc()).limit(12)).all()
    return render_template("workers/detail.html", worker=worker, bills=bills,
                           collections=collections, effective_status=effective_status,
                           status=membership_status(worker.first_month, worker.paid_through, today()),
                           months_choices=ALLOWED_MONTHS, error=error), status
