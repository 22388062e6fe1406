"""Registering a worker: one membership per NIK, created whole or not at all."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..domain import Conflict
from ..domain.checklist import ExistingMember, Registration
from ..domain.clock import utcnow
from ..domain.codes import MEMBER_NUMBER_LENGTH, random_number
from ..domain.months import month_of
from ..models import Branch, Heir, User, Worker
from . import Actor, agent_months, audit, ledger
from .sponsorship import covered_through
from .tx import write_transaction


def existing_member(session: Session, nik: str) -> ExistingMember | None:
    worker = session.scalars(select(Worker).where(Worker.nik == nik)).first()
    if worker is None:
        return None
    return ExistingMember(branch_name=worker.branch.name, agent_name=worker.agent.full_name,
                          member_number=worker.member_number)


def _new_member_number(session: Session) -> str:
    while True:
        number = random_number(MEMBER_NUMBER_LENGTH)
        if session.scalar(select(Worker.id).where(Worker.member_number == number)) is None:
            return number


def register_worker(session: Session, registration: Registration, *, agent: User, actor: Actor,
                    today: date) -> Worker:
    """Create the worker, its heir and the audit event in one transaction.

    A second registration of the same NIK, even at the same moment, raises Conflict: the unique
    index on `workers.nik` decides between simultaneous ones.
    """
    agent_id, branch_id = agent.id, agent.branch_id
    try:
        with write_transaction(session):
            if session.scalar(select(Worker.id).where(Worker.nik == registration.nik)):
                raise Conflict("NIK ini sudah terdaftar. Satu NIK hanya boleh satu kepesertaan.")
            now = utcnow()
            first_month = month_of(today)
            worker = Worker(
                nik=registration.nik, full_name=registration.full_name,
                name_key=registration.full_name.lower(), birth_date=registration.birth_date,
                sex=registration.sex, phone=registration.phone, address=registration.address,
                occupation=registration.occupation, occupation2=registration.occupation2,
                declared_income=registration.declared_income, programs=registration.programs,
                member_number=_new_member_number(session), agent_id=agent_id,
                branch_id=branch_id, registered_at=now, first_month=first_month,
                doc_ktp=True, doc_kk=True, consent_at=now)
            # Months a sponsor pays in full (all the worker's programs) are paid already.
            worker.paid_through = covered_through(session, registration.nik, first_month,
                                                  registration.programs)
            session.add(worker)
            session.flush()
            session.add(Heir(worker_id=worker.id, name=registration.heir_name,
                             relation=registration.heir_relation))
            ledger.note_registration(session, agent_id, now)
            agent_months.record(session, agent_id=agent_id, branch_id=branch_id, at=now,
                                zone=session.get(Branch, branch_id).timezone, registrations=1)
            audit.record(session, actor, "worker.register", "worker", worker.id, after={
                "member_number": worker.member_number, "nik_last4": registration.nik[-4:],
                "programs": worker.programs, "declared_income": worker.declared_income,
                "agent_id": agent_id, "branch_id": branch_id,
                "sponsored_through": worker.paid_through})
    except IntegrityError as error:
        if session.scalar(select(Worker.id).where(Worker.nik == registration.nik)):
            raise Conflict("NIK ini sudah terdaftar. Satu NIK hanya boleh satu kepesertaan.") from error
        raise
    return worker
