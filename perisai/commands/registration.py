"""Registering a worker: one membership per NIK, created whole or not at all.

A membership lapses after more than 3 consecutive unpaid months, and the worker must register
again: registering a NIK whose member has lapsed re-activates the same worker row (same member
number, the unique NIK index stays) with the new form data, agent and branch, from this month.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import N_, Conflict
from ..domain.checklist import Registration
from ..domain.clock import utcnow
from ..domain.codes import MEMBER_NUMBER_LENGTH, random_number
from ..domain.months import month_of
from ..domain.status import LAPSED, MembershipStatus, membership_status
from ..domain.statuses import BillStatus
from ..models import Bill, Heir, RegistrationKey, User, Worker
from . import Actor, audit, books
from .sponsorship import apply_sponsor_cover
from .tx import lock, retry_transient, write_transaction

DUPLICATE = N_("NIK ini sudah terdaftar. Satu NIK hanya boleh satu kepesertaan.")
KEY_USED = N_("Formulir ini sudah dipakai untuk pendaftaran lain. Tidak ada yang dicatat lagi. "
              "Buka formulir baru untuk pekerja ini.")


def _status(worker: Worker, today: date) -> MembershipStatus:
    # As the worker page shows it. Sponsored months are marked paid as they come (import,
    # code, payment), so the stored months are the truth; a worker listed before that and
    # lapsed since registers again and is covered from this month.
    return membership_status(worker.first_month, worker.paid_through, today)


def _new_member_number(session: Session) -> str:
    while True:
        number = random_number(MEMBER_NUMBER_LENGTH)
        if session.scalar(select(Worker.id).where(Worker.member_number == number)) is None:
            return number


def _fill(worker: Worker, registration: Registration, *, agent_id: int, branch_id: int,
          now: datetime, today: date) -> None:
    """The form's data, the registering agent and branch, and a membership from this month."""
    worker.full_name = registration.full_name
    worker.name_key = registration.full_name.lower()
    worker.birth_date = registration.birth_date
    worker.sex = registration.sex
    worker.phone = registration.phone
    worker.address = registration.address
    worker.occupation = registration.occupation
    worker.occupation2 = registration.occupation2
    worker.declared_income = registration.declared_income
    worker.programs = registration.programs
    worker.agent_id = agent_id
    worker.branch_id = branch_id
    worker.registered_at = now
    worker.first_month = month_of(today)
    worker.paid_through = None
    worker.doc_ktp = worker.doc_kk = True
    worker.consent_at = now


@retry_transient
def register_worker(session: Session, registration: Registration, *, agent: User, actor: Actor,
                    today: date, idempotency_key: str | None = None,
                    content_digest: str = "", now: datetime | None = None) -> Worker:
    """Create the worker, its heir and the audit event in one transaction; or, when the member
    holding this NIK has lapsed, re-activate that worker (see `_reregister`).

    A second registration of the same NIK, even at the same moment, raises Conflict: the unique
    index on `workers.nik` decides between simultaneous new ones, and the lock on the existing
    row between simultaneous re-registrations (the second then finds the member active).

    With `idempotency_key`, the key and the digest of the form are kept with the registration,
    so a resent form is answered with this worker (`queries.workers.registration_key`).
    """
    agent_id, branch_id = agent.id, agent.branch_id
    try:
        with write_transaction(session):
            existing = session.scalars(lock(select(Worker).where(
                Worker.nik == registration.nik), session)).first()
            if existing is not None:
                if _status(existing, today).code != LAPSED:
                    raise Conflict(DUPLICATE)
                _reregister(session, existing, registration, agent_id=agent_id,
                            branch_id=branch_id, actor=actor, today=today)
                _keep_key(session, idempotency_key, content_digest, existing.id, agent_id)
                return existing
            now = now or utcnow()
            worker = Worker(nik=registration.nik, member_number=_new_member_number(session))
            _fill(worker, registration, agent_id=agent_id, branch_id=branch_id, now=now,
                  today=today)
            session.add(worker)
            session.flush()
            # Months a sponsor pays in full (all the worker's programs) are paid already.
            apply_sponsor_cover(session, worker, actor, record_event=False)
            session.add(Heir(worker_id=worker.id, name=registration.heir_name,
                             relation=registration.heir_relation))
            books.on_registration(session, worker, renewal=False)
            _keep_key(session, idempotency_key, content_digest, worker.id, agent_id)
            audit.record(session, actor, "worker.register", "worker", worker.id, after={
                "member_number": worker.member_number, "nik_last4": registration.nik[-4:],
                "programs": worker.programs, "declared_income": worker.declared_income,
                "agent_id": agent_id, "branch_id": branch_id,
                "sponsored_through": worker.paid_through, **_minor(registration)})
    except IntegrityError as error:
        if session.scalar(select(Worker.id).where(Worker.nik == registration.nik)):
            raise Conflict(DUPLICATE) from error
        if idempotency_key and session.get(RegistrationKey, idempotency_key) is not None:
            raise Conflict(KEY_USED) from error
        raise
    return worker


def _keep_key(session: Session, key: str | None, digest: str, worker_id: int,
              agent_id: int) -> None:
    if key:
        session.add(RegistrationKey(key=key, worker_id=worker_id, agent_id=agent_id,
                                    content_digest=digest))


def _reregister(session: Session, worker: Worker, registration: Registration, *, agent_id: int,
                branch_id: int, actor: Actor, today: date) -> None:
    """Re-activate a lapsed member (row locked by the caller) as a registration from this month.

    Old codes, payments and slips stay as they were (history); an open code is cancelled, as it
    can never be paid now. The heir declared now replaces the old heir rows: a heir is named
    at registration, the worker page lists every row as the current heirs, and an old
    declaration (a former spouse, say) must not stay beside the new one.
    """
    now = utcnow()
    old_agent_id, old_branch_id, old_registered_at = (worker.agent_id, worker.branch_id,
                                                      worker.registered_at)
    before = {"status": LAPSED, "programs": worker.programs,
              "declared_income": worker.declared_income, "agent_id": old_agent_id,
              "branch_id": old_branch_id, "registered_at": old_registered_at,
              "first_month": worker.first_month, "paid_through": worker.paid_through}
    open_codes = session.scalars(select(Bill.code).where(Bill.worker_id == worker.id,
                                                         Bill.status == BillStatus.OPEN)).all()
    if open_codes:
        session.execute(update(Bill).where(Bill.worker_id == worker.id,
                                           Bill.status == BillStatus.OPEN)
                        .values(status=BillStatus.CANCELLED, closed_at=now))
        before["open_codes_cancelled"] = list(open_codes)
    heirs_replaced = session.execute(delete(Heir).where(Heir.worker_id == worker.id)).rowcount
    session.expire(worker, ["heirs"])
    _fill(worker, registration, agent_id=agent_id, branch_id=branch_id, now=now, today=today)
    session.add(Heir(worker_id=worker.id, name=registration.heir_name,
                     relation=registration.heir_relation))
    session.flush()
    apply_sponsor_cover(session, worker, actor, record_event=False)
    # A registration of the new agent, this month; the old one stays in the old agent's
    # history (the memberships table), so no earlier month changes.
    books.on_registration(session, worker, renewal=True)
    audit.record(session, actor, "worker.reregister", "worker", worker.id, before=before, after={
        "member_number": worker.member_number, "nik_last4": worker.nik[-4:],
        "programs": worker.programs, "declared_income": worker.declared_income,
        "agent_id": agent_id, "branch_id": branch_id, "first_month": worker.first_month,
        "sponsored_through": worker.paid_through, "heirs_replaced": heirs_replaced,
        **_minor(registration)})


def _minor(registration: Registration) -> dict:
    """A worker aged 15-17 is registered only once the agent confirmed the worker really works:
    the audit event records that confirmation (UU 13/2003 art. 68-69)."""
    return {"minor_works_confirmed": True} if registration.minor_works_confirmed else {}
