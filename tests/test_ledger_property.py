"""Property: whatever happens (collections, deposit declarations, verifications, rejections,
reversal requests, approvals, refusals), every agent's cash on hand equals the sum of its ledger
entries and collected − reversed − deposited, is never negative, and a refused step changes
nothing. Driven through the services, checked against a simple model after every step."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from helpers import nik_for
from perisai.domain import DomainError
from perisai.domain.checklist import Registration
from perisai.domain.clock import local_today
from perisai.extensions import db
from perisai.models import (AgentAccount, Bill, Collection, Deposit, LedgerEntry, Reversal, User,
                            Worker)
from perisai.commands import Actor, books
from perisai.commands import deposits as deposit_service
from perisai.commands import reversals as reversal_service
from perisai.commands.billing import issue_bill
from perisai.commands.collecting import collect
from perisai.commands.registration import register_worker
from perisai.queries.reversals import latest_valid_collection
from perisai.queries.deposits import cash_on_hand

OPERATIONS = ("collect", "declare", "verify", "reject_deposit", "verify_again", "request",
              "approve", "reject_reversal")
step = st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 50), st.integers(0, 10**6))


@dataclass
class Model:
    """What the money should be, kept by the test independently of the app."""
    cash: dict[int, int] = field(default_factory=dict)
    pending: dict[int, int] = field(default_factory=dict)  # deposit id → amount
    collections: list[int] = field(default_factory=list)


class World:
    def __init__(self, session):
        self.session = session
        self.today = local_today("Asia/Jakarta")
        self.agent_ids = [session.scalar(select(User.id).where(User.username == name))
                          for name in ("agent1", "agent2")]
        self.supervisor_id = session.scalar(select(User.id).where(User.username == "supervisor1"))
        self.workers: dict[int, list[int]] = {}
        serial = 500
        for agent_id in self.agent_ids:
            self.workers[agent_id] = []
            for programs in (2, 3, 3):
                serial += 1
                worker = register_worker(session, Registration(
                    nik_for(date(1991, 2, 3), "M", serial), f"Pekerja {serial}",
                    date(1991, 2, 3), "M", "081234560000", "Jl. Uji 1",
                    "pedagang", None, 1_000_000, programs, "Ahli Waris", "istri"),
                    agent=self.user(agent_id), actor=self.actor(agent_id), today=self.today)
                self.workers[agent_id].append(worker.id)
        self.model = Model(cash={agent_id: cash_on_hand(session, agent_id)
                                 for agent_id in self.agent_ids})

    def user(self, user_id: int) -> User:
        return self.session.get(User, user_id)

    def actor(self, user_id: int) -> Actor:
        return Actor(user_id, self.user(user_id).username, "hypothesis")

    # -- the steps ------------------------------------------------------------------------
    def run(self, operation: str, pick: int, number: int) -> None:
        getattr(self, operation)(pick, number)

    def collect(self, pick, number):
        agent_id = self.agent_ids[pick % 2]
        worker_id = self.workers[agent_id][number % 3]
        months = (1, 3, 6, 12)[number % 4]
        bill = issue_bill(self.session, worker_id, months, agent=self.user(agent_id),
                          actor=self.actor(agent_id), today=self.today)
        collection, created = collect(self.session, code=bill.code, amount=bill.amount,
                                      idempotency_key=secrets.token_urlsafe(24),
                                      agent=self.user(agent_id), actor=self.actor(agent_id),
                                      today=self.today)
        assert created
        self.model.cash[agent_id] += collection.amount
        self.model.collections.append(collection.id)

    def declare(self, pick, number):
        agent_id = self.agent_ids[pick % 2]
        available = self.model.cash[agent_id] - sum(
            self.session.get(Deposit, d).amount for d in self.model.pending
            if self.session.get(Deposit, d).agent_id == agent_id)
        # Mostly a fitting amount, sometimes too much, zero or negative.
        amount = [number % (available + 1), available + 1 + number % 5000, 0, -number][pick % 4]
        expected_ok = 0 < amount <= available
        # A reference of its own: one bank transfer is one deposit (a repeated reference is
        # refused), which is not what this test is about.
        reference = f"TRF-{number}-{secrets.token_hex(4)}"
        outcome = self._attempt(lambda: deposit_service.declare(
            self.session, agent=self.user(agent_id), amount=amount, reference=reference,
            note=None, idempotency_key=secrets.token_urlsafe(24), actor=self.actor(agent_id)))
        assert (outcome is not None) == expected_ok, (amount, available)
        if outcome is not None:
            deposit, created = outcome
            assert created
            self.model.pending[deposit.id] = amount

    def _pending_deposit(self, pick):
        pending = sorted(self.model.pending)
        return pending[pick % len(pending)] if pending else None

    def verify(self, pick, number):
        deposit_id = self._pending_deposit(pick)
        if deposit_id is None:
            return
        deposit = self.session.get(Deposit, deposit_id)
        agent_id, amount = deposit.agent_id, deposit.amount
        expected_ok = self.model.cash[agent_id] >= amount
        outcome = self._attempt(lambda: deposit_service.verify(
            self.session, deposit_id, supervisor=self.user(self.supervisor_id),
            actor=self.actor(self.supervisor_id)))
        assert (outcome is not None) == expected_ok
        if outcome is not None:
            self.model.cash[agent_id] -= amount
            del self.model.pending[deposit_id]

    def reject_deposit(self, pick, number):
        deposit_id = self._pending_deposit(pick)
        if deposit_id is None:
            return
        deposit_service.reject(self.session, deposit_id, supervisor=self.user(self.supervisor_id),
                               reason="Tidak ada di rekening", actor=self.actor(self.supervisor_id))
        del self.model.pending[deposit_id]

    def verify_again(self, pick, number):
        decided = self.session.scalars(select(Deposit.id).where(Deposit.status != "pending")
                                       .order_by(Deposit.id)).all()
        if not decided:
            return
        outcome = self._attempt(lambda: deposit_service.verify(
            self.session, decided[pick % len(decided)], supervisor=self.user(self.supervisor_id),
            actor=self.actor(self.supervisor_id)))
        assert outcome is None

    def request(self, pick, number):
        if not self.model.collections:
            return
        collection = self.session.get(Collection, self.model.collections[number % len(self.model.collections)])
        states = set(self.session.scalars(select(Reversal.status).where(
            Reversal.collection_id == collection.id)))
        latest = latest_valid_collection(self.session, collection.worker_id)
        expected_ok = not ({"pending", "approved"} & states) and latest.id == collection.id
        outcome = self._attempt(lambda: reversal_service.request_reversal(
            self.session, collection.receipt_number, agent=self.user(collection.agent_id),
            reason="Salah catat", actor=self.actor(collection.agent_id)))
        assert (outcome is not None) == expected_ok

    def _pending_reversal(self, pick):
        pending = self.session.scalars(select(Reversal).where(Reversal.status == "pending")
                                       .order_by(Reversal.id)).all()
        return pending[pick % len(pending)] if pending else None

    def approve(self, pick, number):
        reversal = self._pending_reversal(pick)
        if reversal is None:
            return
        collection = self.session.get(Collection, reversal.collection_id)
        agent_id, amount, reversal_id = collection.agent_id, collection.amount, reversal.id
        latest = latest_valid_collection(self.session, collection.worker_id)
        expected_ok = latest.id == collection.id and self.model.cash[agent_id] >= amount
        outcome = self._attempt(lambda: reversal_service.approve(
            self.session, reversal_id, supervisor=self.user(self.supervisor_id),
            actor=self.actor(self.supervisor_id)))
        assert (outcome is not None) == expected_ok
        if outcome is not None:
            self.model.cash[agent_id] -= amount

    def reject_reversal(self, pick, number):
        reversal = self._pending_reversal(pick)
        if reversal is None:
            return
        reversal_service.reject(self.session, reversal.id, supervisor=self.user(self.supervisor_id),
                                actor=self.actor(self.supervisor_id), reason="Pembayaran benar")

    def _attempt(self, action):
        """Run a step that may be refused; a refusal must leave every figure as it was."""
        before = self.snapshot()
        try:
            return action()
        except DomainError:
            self.session.rollback()
            assert self.snapshot() == before
            return None

    # -- what must always hold -------------------------------------------------------------
    def snapshot(self):
        s = self.session
        return (s.execute(select(AgentAccount.agent_id, AgentAccount.cash_on_hand,
                                 AgentAccount.total_collected, AgentAccount.total_reversed,
                                 AgentAccount.total_deposited).order_by(AgentAccount.agent_id)).all(),
                s.scalar(select(func.count(LedgerEntry.id))),
                s.execute(select(Deposit.id, Deposit.status).order_by(Deposit.id)).all(),
                s.execute(select(Reversal.id, Reversal.status).order_by(Reversal.id)).all(),
                s.execute(select(Worker.id, Worker.paid_through).order_by(Worker.id)).all(),
                s.execute(select(Bill.id, Bill.status).order_by(Bill.id)).all())

    def expected_oldest(self, agent_id, cash):
        """Deposits take the oldest cash first: the cash left is the newest valid collections."""
        approved = set(self.session.scalars(select(Reversal.collection_id).where(
            Reversal.status == "approved")))
        newest_first = sorted(
            ((c.collected_at, c.id, c.amount) for c in self.session.scalars(
                select(Collection).where(Collection.agent_id == agent_id)) if c.id not in approved),
            reverse=True)
        oldest = None
        for collected_at, _, amount in newest_first:
            if cash <= 0:
                break
            oldest, cash = collected_at, cash - amount
        return oldest

    def check(self):
        s = self.session
        s.rollback()  # read what is committed
        assert books.verify_books(s).ledger == []
        approved = select(Reversal.collection_id).where(Reversal.status == "approved")
        for agent_id in self.agent_ids:
            account = s.get(AgentAccount, agent_id)
            entries = s.scalar(select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                LedgerEntry.agent_id == agent_id))
            collected = s.scalar(select(func.coalesce(func.sum(Collection.amount), 0)).where(
                Collection.agent_id == agent_id))
            reversed_ = s.scalar(select(func.coalesce(func.sum(Collection.amount), 0)).where(
                Collection.agent_id == agent_id, Collection.id.in_(approved)))
            deposited = s.scalar(select(func.coalesce(func.sum(Deposit.amount), 0)).where(
                Deposit.agent_id == agent_id, Deposit.status == "verified"))
            assert account.cash_on_hand == entries == collected - reversed_ - deposited
            assert (account.total_collected, account.total_reversed, account.total_deposited) == \
                (collected, reversed_, deposited)
            assert account.cash_on_hand >= 0
            assert account.cash_on_hand == self.model.cash[agent_id]
            assert account.oldest_undeposited_at == self.expected_oldest(agent_id, account.cash_on_hand)
        # Each member is paid through the last month of its latest valid collection.
        for worker_id in [w for ws in self.workers.values() for w in ws]:
            worker = s.get(Worker, worker_id)
            latest = latest_valid_collection(s, worker_id)
            assert worker.paid_through == (latest.last_month if latest else None)
        cancelled = s.scalars(select(Bill.status).join(Collection, Collection.bill_id == Bill.id)
                              .where(Collection.id.in_(approved))).all()
        assert set(cancelled) <= {"cancelled"}


@pytest.mark.both_backends
def test_random_operations_keep_cash_equal_to_the_ledger(app, backend):
    with app.app_context():
        world = World(db.session)
        world.check()

        @settings(max_examples=25 if backend == "sqlite" else 12, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.lists(step, min_size=1, max_size=14))
        # Run first, on a fresh branch: every kind of step succeeds or is refused at least once.
        @example([("collect", 0, 0), ("request", 0, 0), ("request", 0, 0), ("approve", 0, 0),
                  ("collect", 0, 1), ("declare", 1, 7), ("declare", 0, 1000), ("verify", 0, 0),
                  ("verify_again", 0, 0), ("collect", 1, 2), ("declare", 0, 500),
                  ("request", 0, 2), ("approve", 0, 0), ("reject_deposit", 0, 0),
                  ("collect", 0, 4), ("request", 0, 3), ("reject_reversal", 0, 0)])
        def operations_keep_the_invariant(steps):
            for operation, pick, number in steps:
                world.run(operation, pick, number)
                world.check()

        operations_keep_the_invariant()
        # The runs did exercise every kind of outcome.
        s = db.session
        assert s.scalar(select(func.count(Collection.id))) > 0
        assert s.scalar(select(func.count(Deposit.id)).where(Deposit.status == "verified")) > 0
        assert s.scalar(select(func.count(Reversal.id)).where(Reversal.status == "approved")) > 0
