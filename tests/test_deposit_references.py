"""Finding 2: one bank transfer declared twice (two forms, two idempotency keys) must not be
verified twice. A bank reference is unique per agent while pending or verified (the database
holds the rule), and the supervisor is warned about a near-duplicate before verifying."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from helpers import form_key, login_client, paid_receipt, relogin, run_together
from markup import has, one, parse, text_of
from perisai.commands import books
from perisai.domain.clock import utcnow
from perisai.domain.deposits import is_near_duplicate, reference_key, similar_references
from perisai.extensions import db
from perisai.models import AgentAccount, Deposit, User
from test_deposits import account_of, as_supervisor, audit_actions, declare, decision_token, deposits_of


@pytest.mark.both_backends
def test_one_transfer_declared_from_two_forms_is_refused_the_second_time(app, client, auth, backend):
    auth.login("agent1")
    _, amount = paid_receipt(client, months=3)
    half = amount // 2
    assert declare(client, amount=str(half), reference="BRI 777001").status_code == 303
    # A second form (its own idempotency key), the same transfer: refused, nothing recorded.
    for typed, same_amount in (("BRI 777001", half), ("bri-777001", half), ("BRI777001", 1000)):
        response = declare(client, amount=str(same_amount), reference=typed)
        assert response.status_code == 409, (typed, response.status_code)
        shown = text_of(one(response, "#deposit .flash.error"))
        assert "Nomor referensi BRI 777001 sudah dipakai" in shown
        assert "menunggu verifikasi" in shown and "Tidak ada yang dicatat" in shown
    assert len(deposits_of(app, "agent1")) == 1
    assert audit_actions(app).count("deposit.declare") == 1

    as_supervisor(client, auth)
    [deposit] = deposits_of(app, "agent1")
    assert client.post(f"/deposits/{deposit.id}/verify",
                       data={"csrf_token": decision_token(client)}).status_code == 303
    relogin(client, auth, "agent1")
    response = declare(client, amount=str(half), reference="BRI 777001")
    assert response.status_code == 409
    assert "sudah terverifikasi" in text_of(one(response, "#deposit .flash.error"))
    account = account_of(app, "agent1")
    assert (account.cash_on_hand, account.total_deposited) == (amount - half, half)
    with app.app_context():
        assert books.verify_books(db.session).ledger == []


@pytest.mark.both_backends
def test_a_rejected_deposit_frees_its_reference(app, client, auth, backend):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    assert declare(client, amount=str(amount + 0), reference="TRF-55").status_code == 303
    [first] = deposits_of(app, "agent1")
    as_supervisor(client, auth)
    assert client.post(f"/deposits/{first.id}/reject",
                       data={"csrf_token": decision_token(client),
                             "reason": "jumlah salah"}).status_code == 303
    relogin(client, auth, "agent1")
    assert declare(client, amount=str(amount), reference="TRF-55").status_code == 303
    assert [d.status for d in deposits_of(app, "agent1")] == ["rejected", "pending"]


@pytest.mark.both_backends
def test_the_database_refuses_a_second_live_deposit_with_one_reference(app, backend):
    with app.app_context():
        agent = db.session.scalars(select(User).where(User.username == "agent1")).one()

        def add(key: str, status: str) -> None:
            db.session.add(Deposit(agent_id=agent.id, branch_id=agent.branch_id, amount=1000,
                                   reference="BRI 1", reference_key="BRI1",
                                   idempotency_key=key, status=status, declared_at=utcnow()))
            db.session.commit()

        add("k-1", "rejected")
        add("k-2", "pending")
        with pytest.raises(IntegrityError):
            add("k-3", "pending")
        db.session.rollback()
        with pytest.raises(IntegrityError):
            add("k-4", "verified")
        db.session.rollback()


@pytest.mark.both_backends
def test_two_forms_sent_at_the_same_time_declare_one_deposit(app, backend):
    phones = [login_client(app, "agent1"), login_client(app, "agent1")]
    _, amount = paid_receipt(phones[0], months=3)
    forms = [dict(form_key_fields(phone), amount=str(amount // 2), reference="MANDIRI 4242")
             for phone in phones]
    statuses = run_together(2, lambda i: phones[i].post("/deposits", data=forms[i]).status_code)
    assert sorted(statuses) == [303, 409]
    [deposit] = deposits_of(app, "agent1")
    assert deposit.reference == "MANDIRI 4242"


def form_key_fields(client) -> dict:
    html = client.get("/").get_data(as_text=True)
    page = parse(html)
    assert has(page, '#deposit form[action="/deposits"]')
    return {"idempotency_key": form_key(html), "csrf_token": ""}


@pytest.mark.both_backends
def test_the_supervisor_is_warned_of_a_near_duplicate(app, client, auth, backend):
    auth.login("agent1")
    _, amount = paid_receipt(client, months=6)
    third = amount // 3
    assert declare(client, amount=str(third), reference="BRI 5501").status_code == 303
    assert declare(client, amount=str(third), reference="BRI 5502").status_code == 303  # same amount
    assert declare(client, amount="1000", reference="00123456").status_code == 303
    assert declare(client, amount="2000", reference="123456").status_code == 303  # zeros left off
    assert declare(client, amount="3000", reference="ZZ 9").status_code == 303
    first, second, zeros, short, alone = deposits_of(app, "agent1")
    with app.app_context():
        # A duplicate older than the one-reference rule has no stored key (migration
        # d2f4b6a8c0e1): its reference is compared all the same.
        db.session.execute(update(Deposit).where(Deposit.id == second.id)
                           .values(reference_key=None))
        db.session.commit()
    as_supervisor(client, auth)
    # The branch's queue, and the agent's page (which reads them in one statement of its own).
    for path in ("/supervisor", "/supervisor/agents/agent1"):
        page = parse(client.get(path))
        for deposit, other in ((first, second), (second, first), (zeros, short), (short, zeros)):
            warning = one(page, f"#deposit-{deposit.id} .near-duplicate")
            assert "mungkin satu transfer dilaporkan dua kali" in text_of(warning)
            assert other.reference in text_of(warning)
        assert not has(page, f"#deposit-{alone.id} .near-duplicate")


@pytest.mark.parametrize("typed, key", [("BRI 777001", "BRI777001"), ("bri-777.001", "BRI777001"),
                                         ("---", "---")])
def test_reference_key(typed, key):
    assert reference_key(typed) == key


def test_near_duplicate_rules():
    assert similar_references("00123456", "123456")
    assert similar_references("TRF123456", "123456")
    assert not similar_references("12345", "123456")  # too short to say
    assert not similar_references("BRI5501", "BRI5502")
    assert is_near_duplicate(5000, "A1", 1.0, 5000, "B2")
    assert not is_near_duplicate(5000, "A1", 4.0, 5000, "B2")
    assert not is_near_duplicate(5000, "A1", 0.1, 6000, "B2")
