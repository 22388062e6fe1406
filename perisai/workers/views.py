"""Worker list, document check + registration, the worker page and its payment codes."""
import hashlib
from datetime import timedelta

from flask import current_app, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse_many

from ..commands.billing import issue_bill as issue
from ..commands.probing import record_nik_probing
from ..commands.registration import KEY_USED, register_worker
from ..commands.worker_data import update_worker_data
from ..domain import Conflict, DomainError
from ..domain.checklist import (FORM_ORDER, check_registration, check_update, field_notes,
                               income_hint, summary)
from ..domain.statuses import BillStatus
from ..domain.clock import utcnow
from ..domain.inputs import form_digest, is_form_key, new_form_key
from ..domain.nik import clean, validation_error
from ..domain.search import parse_search
from ..domain.status import membership_status
from ..extensions import db, limiter
from ..links import public_card_url, public_slip_url, whatsapp_url
from ..models import Worker
from ..queries.bills import month_choices, recent_bills, suggested_months
from ..queries.dashboard import members_behind
from ..queries.rates import load_rate_book
from ..queries.receipts import recent_collections
from ..queries.worker_changes import data_history, decided_heir_changes, pending_heir_change
from ..queries.workers import (existing_member, registered_by, registration_key, search,
                               visible_worker)
from ..web import (current_actor, render_page, roles_required, see_other, show_next, today,
                   wants_fragment)
from . import bp
from .forms import CHOICES, BillForm, RegistrationForm, WorkerEditForm

RESUBMIT_WINDOW = timedelta(minutes=15)
# The form's fields that have a note of their own (the second occupation shares the first's).
NOTED_FIELDS = tuple(name for name in FORM_ORDER if name != "occupation2")


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
                       workers=workers, has_next=has_next, today=today(),
                       short_digits=parse_search(q).too_few_digits)


NIK_SEEN_KEY = "perisai/nik-seen/{agent}/{nik}"
NIK_PROBE_AUDITED_KEY = "perisai/nik-probe-audited/{agent}"


def _nik_lookup_allowed(nik: str) -> bool:
    """Whether this agent may be told who holds `nik`. Each agent may look up at most
    RATELIMIT_NIK_CHECK *different* NIKs (checking the same NIK again while the rest of the
    form is typed does not count). Past it, the check says so and the first refusal of each
    window is written to the audit trail: no agent registers 100 workers a minute, a script
    walking through NIKs does."""
    if not current_app.config.get("RATELIMIT_ENABLED") or not limiter.enabled:
        return True
    storage, agent = limiter.storage, current_user.id
    limits = parse_many(current_app.config["RATELIMIT_NIK_CHECK"])
    window = max(item.get_expiry() for item in limits)
    seen = NIK_SEEN_KEY.format(agent=agent, nik=hashlib.sha256(nik.encode()).hexdigest()[:24])
    if storage.incr(seen, window) > 1:
        return True
    # A fixed window per limit, counted in the limiter's storage (which falls back to memory
    # when Redis does not answer).
    if all(storage.incr(item.key_for("nik-check", str(agent)), item.get_expiry()) <= item.amount
           for item in limits):
        return True
    storage.clear(seen)  # refused: this NIK was not looked up, so it counts when it is
    if storage.incr(NIK_PROBE_AUDITED_KEY.format(agent=agent), window) == 1:
        current_app.logger.warning("NIK check limit reached by agent %s", current_user.username)
        record_nik_probing(db.session, current_actor(),
                           limit=current_app.config["RATELIMIT_NIK_CHECK"])
    return False


def _check(form: RegistrationForm):
    book = load_rate_book(db.session)
    raw = form.raw()
    nik = clean(raw.get("nik") or "")
    existing, refused = None, False
    if not validation_error(nik):
        refused = not _nik_lookup_allowed(nik)
        if not refused:
            existing = existing_member(db.session, nik, today(), current_user.branch_id)
    result = check_registration(raw, today=today(), rate_book=book, existing=existing,
                                nik_check_refused=refused)
    form.clear(result.too_long)
    return result, income_hint(book, today().replace(day=1))


def _registration_page(form: RegistrationForm, result, hint, status: int = 200, error=None,
                       first_worker=None):
    # The form's idempotency key: kept across a 422 so a corrected form is still one form.
    key = request.form.get("idempotency_key") if request.method == "POST" else None
    submitted = request.method == "POST"
    return render_template("workers/new.html", choices=CHOICES, form=form, result=result,
                           income_hint=hint, error=error, first_worker=first_worker,
                           registration_key=key if is_form_key(key) else new_form_key(),
                           **_notes(form, result, submitted)), status


def _notes(form: RegistrationForm, result, submitted: bool) -> dict:
    """What to say next to each field and by the submit button (nothing before any input)."""
    if result is None:
        return dict(notes={}, summary=None)
    raw = form.raw()
    return dict(notes=field_notes(result, raw, submitted),
                summary=summary(result, raw, submitted))


@bp.route("/new", methods=["GET", "POST"])
@roles_required("agent")
def new():
    form = RegistrationForm()
    if request.method == "GET":
        if request.args:
            return _registration_page(form, *_check(form))
        return _registration_page(form, None, income_hint(load_rate_book(db.session),
                                                          today().replace(day=1)))
    result, hint = _check(form)
    key = request.form.get("idempotency_key")
    key = key if is_form_key(key) else None
    digest = form_digest(form.raw())
    if key is not None:
        earlier = registration_key(db.session, key)
        if earlier is not None:
            if earlier.agent_id == current_user.id and earlier.content_digest == digest:
                # The same form again (a retry, an outbox replay): the first answer.
                return see_other(url_for("workers.detail", worker_id=earlier.worker_id))
            return _registration_page(form, result, hint, 409, error=KEY_USED,
                                      first_worker=earlier.worker_id
                                      if earlier.agent_id == current_user.id else None)
    if result.nik_check_refused:
        return _registration_page(form, result, hint, 429)
    if not result.complete:
        if [item.key for item in result.problems] == ["nik_unique"]:
            mine = _just_registered_by_me(clean(form.nik.data or ""))
            if mine is not None:
                # A retry after a timeout: the first submission already registered the worker.
                return see_other(url_for("workers.detail", worker_id=mine.id))
        return _registration_page(form, result, hint, 422)
    try:
        worker = register_worker(db.session, result.registration, agent=current_user,
                                 actor=current_actor(), today=today(), idempotency_key=key,
                                 content_digest=digest)
    except Conflict as conflict:
        mine = _just_registered_by_me(result.registration.nik)
        if mine is not None:
            # The same agent sent the same registration twice (a double tap, a retry).
            return see_other(url_for("workers.detail", worker_id=mine.id))
        return _registration_page(form, *_check(form), 409, error=conflict.text)
    return show_next(url_for("workers.detail", worker_id=worker.id),
                     lambda: _detail_page(worker.id))


def _just_registered_by_me(nik: str) -> Worker | None:
    mine = registered_by(db.session, nik, current_user.id)
    if mine is not None and utcnow() - mine.registered_at < RESUBMIT_WINDOW:
        return mine
    return None


@bp.post("/new/check")
@roles_required("agent")
def check():
    """The live checklist: htmx posts the form here as the agent types."""
    form = RegistrationForm()
    result, _ = _check(form)
    return render_template("workers/_check.html", result=result, form=form,
                           field_names=NOTED_FIELDS, **_notes(form, result, submitted=False))


@bp.get("/<int:worker_id>")
@roles_required("agent", "supervisor")
def detail(worker_id: int):
    return _detail_page(worker_id)


def _detail_page(worker_id: int, error=None, status: int = 200):
    worker = visible_worker(db.session, current_user, worker_id)
    card_url = public_card_url(worker.member_number)
    bills = recent_bills(db.session, worker.id)
    collections = recent_collections(db.session, worker.id)
    latest = collections[0] if collections else None
    return render_template("workers/detail.html", worker=worker, bills=bills,
                           collections=collections,
                           slip_url=public_slip_url(latest.receipt_number) if latest else None,
                           error=error, pending_heir=pending_heir_change(db.session, worker.id),
                           heir_requests=decided_heir_changes(db.session, worker.id),
                           history=data_history(db.session, worker.id), card_url=card_url,
                           card_share=whatsapp_url(worker.phone, card_url),
                           **_billing(worker, bills)), status


def _edit_page(worker: Worker, form: WorkerEditForm, result=None, status: int = 200):
    return render_template("workers/edit.html", worker=worker, form=form, result=result,
                           choices=CHOICES, pending_heir=pending_heir_change(db.session, worker.id),
                           income_hint=income_hint(load_rate_book(db.session),
                                                   today().replace(day=1))), status


@bp.route("/<int:worker_id>/edit", methods=["GET", "POST"])
@roles_required("agent")
def edit(worker_id: int):
    """Data update ("Pengkinian Data") by the owner agent; the registration's checklist rules."""
    worker = visible_worker(db.session, current_user, worker_id)
    form = WorkerEditForm()
    if request.method == "GET":
        pending = pending_heir_change(db.session, worker.id)
        heir = worker.heirs[0] if worker.heirs else None
        form.fill_from(worker, *((pending.new_name, pending.new_relation) if pending else
                                 (heir.name, heir.relation) if heir else ("", "")))
        return _edit_page(worker, form)
    raw = form.raw()
    if "occupation2" not in request.form:
        # Not one of the contract's fields (DESIGN §4): a client that does not send it keeps
        # the second occupation rather than losing it.
        raw["occupation2"] = worker.occupation2 or ""
    result = check_update(raw, today=today(), rate_book=load_rate_book(db.session))
    form.clear(result.too_long)
    if not result.complete:
        return _edit_page(worker, form, result, 422)
    update_worker_data(db.session, worker.id, result.update, agent=current_user,
                       actor=current_actor())
    return show_next(url_for("workers.detail", worker_id=worker.id),
                     lambda: _detail_page(worker.id))


def _billing(worker: Worker, bills) -> dict:
    """The worker page's payment card: the open code with its cash form, or the months to
    choose from, each with its price (only for the agent who looks after the worker)."""
    state = membership_status(worker.first_month, worker.paid_through, today())
    mine = current_user.is_agent and current_user.id == worker.agent_id
    open_bill = next((bill for bill in bills if bill.state == BillStatus.OPEN), None)
    choices = month_choices(db.session, worker, today()) if mine and state.can_bill else []
    return dict(status=state, mine=mine, open_bill=open_bill if mine else None,
                choices=choices, suggested=suggested_months(choices, state.first_unpaid, today()),
                lines=open_bill.lines if open_bill else [])


@bp.post("/<int:worker_id>/bills")
@roles_required("agent")
def issue_bill(worker_id: int):
    form = BillForm()
    if not form.validate():
        return _detail_page(worker_id, error=_("Pilih 1, 3, 6 atau 12 bulan."), status=422)
    try:
        bill = issue(db.session, worker_id, int(form.months.data), agent=current_user,
                     actor=current_actor(), today=today())
    except DomainError as error:
        if error.status_code == 404:
            raise
        return _detail_page(worker_id, error=error.text, status=error.status_code)
    if wants_fragment():
        # The worker page stays: the new code and its cash form take the place of the
        # months, so the agent types the amount without another screen.
        worker = visible_worker(db.session, current_user, worker_id)
        response = make_response(render_template("workers/_billing.html", worker=worker,
                                                 **_billing(worker, [bill])))
        response.vary.add("HX-Request")
        return response
    return see_other(url_for("bills.show", code=bill.code))
