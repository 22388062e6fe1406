"""A believable month in the demo's Bandung branch, so that a newcomer sees every state of every
page: members paid up, in arrears, lapsed and waiting for their first payment; an agent holding
cash for days (flagged); a deposit and a reversal waiting for the supervisor; past deposits the
supervisor verified. The Makassar branch stays empty, to show the empty states.

Everything goes through the ordinary commands (registration, codes, payments, deposits,
reversals), dated in the past where the story needs it. Each step is keyed (the worker's NIK, a
payment's or a deposit's idempotency key, the reversal of a payment), so running it again
creates nothing twice. Needs the demo users (`seed-demo`) first.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.checklist import Registration
from ..domain.clock import local_today, utcnow
from ..domain.months import add_months, month_of
from ..domain.statuses import DepositStatus
from ..models import Collection, Reversal, User, Worker
from . import Actor
from .billing import issue_bill
from .collecting import collect
from .deposits import declare, verify
from .registration import register_worker
from .reversals import request_reversal


@dataclass(frozen=True)
class Payment:
    key: str          # idempotency key of the payment (at least 16 characters)
    agent: str
    nik: str
    months: int
    days_ago: int     # when the cash was taken
    hour: int = 10    # local time of day


@dataclass(frozen=True)
class DemoDeposit:
    key: str
    agent: str
    reference: str
    payment_keys: tuple[str, ...]  # the payments whose cash it carries
    days_ago: int
    verified_days_ago: int | None  # None: still waiting for the supervisor


# (agent, months ago they registered, registration). NIKs follow the real layout.
NEW_WORKERS = (
    ("agent1", 4, Registration("3273016107930005", "Nining Suryani", date(1993, 7, 21), "F",
                               "081234567805", "Jl. Gegerkalong Hilir 21, Bandung", "pedagang",
                               None, 1_200_000, 2, "Dedi Suryana", "suami")),
    ("agent2", 9, Registration("3273021102790006", "Ujang Permana", date(1979, 2, 11), "M",
                               "081234567806", "Kampung Babakan Ciparay 3, Bandung",
                               "buruh_harian", None, 1_500_000, 3, "Iis Permana", "istri")),
    ("agent2", 0, Registration("3273026608000007", "Rina Wati", date(2000, 8, 26), "F",
                               "081234567807", "Gg. Babakan Tarogong 8, Bandung", "pedagang",
                               None, 1_000_000, 2, "Enok Wati", "ibu")),
)
PAYMENTS = (
    # Nining paid three months when she registered, then stopped: in arrears now.
    Payment("demo-pay-nining-first", "agent1", "3273016107930005", 3, 4 * 30 + 2, 11),
    # Ujang paid his first month nine months ago and never again: lapsed.
    Payment("demo-pay-ujang-first", "agent2", "3273021102790006", 1, 9 * 30 + 3, 9),
    # Dadang paid six months four days ago; Budi still holds that cash (flagged).
    Payment("demo-pay-dadang-six", "agent2", "3273020101800003", 6, 4, 16),
    # Today Siti took Asep's three months and Euis's month (the latter by mistake).
    Payment("demo-pay-asep-three", "agent1", "3273011708850001", 3, 0, 9),
    Payment("demo-pay-euis-one", "agent1", "3273014503900002", 1, 0, 10),
)
DEPOSITS = (
    DemoDeposit("demo-deposit-siti-old", "agent1", "BRI 0087-1120-4471",
                ("demo-pay-nining-first",), 4 * 30 + 1, 4 * 30),
    DemoDeposit("demo-deposit-budi-old", "agent2", "BNI 0412-7780-0912",
                ("demo-pay-ujang-first",), 9 * 30 + 2, 9 * 30 + 1),
    DemoDeposit("demo-deposit-siti-today", "agent1", "BRI 0087-1203-5519",
                ("demo-pay-asep-three",), 0, None),
)
# Siti asks to reverse Euis's payment; it waits for the supervisor.
REVERSAL = ("demo-pay-euis-one", "Salah catat: Euis belum membayar, uangnya dari Asep.")


def _moment(today: date, zone: str, days_ago: int, hour: int) -> datetime:
    """`days_ago` days before `today` at `hour` o'clock in `zone`, as naive UTC; never later
    than now (a step dated today at a later hour happens now)."""
    day = today - timedelta(days=days_ago)
    local = datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone))
    moment = local.astimezone(timezone.utc).replace(tzinfo=None)
    return min(moment, utcnow() - timedelta(minutes=1))


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise DomainError("Jalankan seed-demo dulu: pengguna demo %(name)s belum ada.",
                          name=username)
    return user


def _actor(user: User) -> Actor:
    return Actor(user.id, user.username, "seed-demo")


def _collection(session: Session, key: str) -> Collection | None:
    return session.scalars(select(Collection).where(Collection.idempotency_key == key)).first()


def seed_activity(session: Session) -> str:
    done: list[str] = []
    supervisor = _user(session, "supervisor1")
    zone = supervisor.branch.timezone
    today = local_today(zone)
    for username, months_ago, registration in NEW_WORKERS:
        if session.scalar(select(Worker.id).where(Worker.nik == registration.nik)) is None:
            agent = _user(session, username)
            day = add_months(month_of(today), -months_ago) + timedelta(days=1)
            register_worker(session, registration, agent=agent, actor=_actor(agent),
                            today=day, now=_moment(day, zone, 0, 9))
            done.append(registration.full_name)
    for payment in PAYMENTS:
        if _collection(session, payment.key) is not None:
            continue
        agent = _user(session, payment.agent)
        worker = session.scalars(select(Worker).where(Worker.nik == payment.nik)).one()
        at = _moment(today, zone, payment.days_ago, payment.hour)
        day = today - timedelta(days=payment.days_ago)
        bill = issue_bill(session, worker.id, payment.months, agent=agent, actor=_actor(agent),
                          today=day, now=at)
        collect(session, code=bill.code, amount=bill.amount, idempotency_key=payment.key,
                agent=agent, actor=_actor(agent), today=day, now=at + timedelta(minutes=3))
        done.append(f"{worker.full_name} {payment.months} bulan")
    for plan in DEPOSITS:
        agent = _user(session, plan.agent)
        amount = sum(_collection(session, key).amount for key in plan.payment_keys)
        deposit, created = declare(session, agent=agent, amount=amount, reference=plan.reference,
                                   note=None, idempotency_key=plan.key, actor=_actor(agent),
                                   now=_moment(today, zone, plan.days_ago, 15))
        if created:
            done.append(f"setoran {plan.reference}")
        if plan.verified_days_ago is not None and deposit.status == DepositStatus.PENDING:
            verify(session, deposit.id, supervisor=supervisor, actor=_actor(supervisor),
                   now=_moment(today, zone, plan.verified_days_ago, 10))
    key, reason = REVERSAL
    collection = _collection(session, key)
    if session.scalar(select(Reversal.id).where(Reversal.collection_id == collection.id)) is None:
        agent = _user(session, "agent1")
        request_reversal(session, collection.receipt_number, agent=agent, reason=reason,
                         actor=_actor(agent))
        done.append(f"pembatalan {collection.receipt_number}")
    return f"Demo activity: {len(done)} new ({', '.join(done) or 'nothing new'})."
