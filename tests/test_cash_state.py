"""The worker's public pages say whether the cash of their payment reached the branch: covered
by verified deposits (oldest cash first), or how long the agent has held it; after 48 hours
they invite the worker to report it."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpers import nik_for, paid_receipt, public_slip_url, relogin
from markup import every, has, one, parse, text_of
from perisai.extensions import db
from perisai.domain.clock import local_today
from perisai.models import AgentAccount, Branch, Collection, Deposit, User
from test_deposits import declare, decision_token

BORN = "1990-03-04"


def pay(client, serial: int) -> tuple[str, int]:
    return paid_receipt(client, nik=nik_for(date(1990, 3, 4), "M", serial), sex="M",
                        birth_date=BORN, full_name="Pekerja " + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[serial % 26] + "ada")


def slip_token(client, receipt: str) -> str:
    return public_slip_url(client.get(f"/receipts/{receipt}")).split("/s/", 1)[1]


def state_text(page) -> str:
    return text_of(one(page, "#cash-state"))


def verify_page(client, receipt: str):
    return parse(client.get(f"/verify?receipt={receipt}&birth_date={BORN}"))


def move_back(app, hours: int) -> None:
    """As if every payment had been taken `hours` earlier."""
    with app.app_context():
        for row in db.session.scalars(select(Collection)):
            row.collected_at -= timedelta(hours=hours)
        for account in db.session.scalars(select(AgentAccount)):
            if account.oldest_undeposited_at is not None:
                account.oldest_undeposited_at -= timedelta(hours=hours)
        db.session.commit()


@pytest.mark.both_backends
def test_a_verified_deposit_covers_the_oldest_payment_first(app, client, auth):
    auth.login("agent1")
    first, first_amount = pay(client, 301)
    second, _ = pay(client, 302)
    tokens = {number: slip_token(client, number) for number in (first, second)}
    for number in (first, second):
        for page in (parse(client.get(f"/s/{tokens[number]}")), verify_page(client, number)):
            assert "Belum disetor — agen memegang uang sejak" in state_text(page)
            assert not has(page, '#cash-state a[href^="/complaint"]')  # not yet 48 hours
    assert declare(client, amount=str(first_amount), reference="BRI-9").status_code == 303
    # Declared is not deposited: only a supervisor's verification counts.
    assert "Belum disetor" in state_text(parse(client.get(f"/s/{tokens[first]}")))
    relogin(client, auth, "supervisor1")
    with app.app_context():
        deposit_id = db.session.scalar(select(Deposit.id).where(Deposit.reference == "BRI-9"))
    response = client.post(f"/deposits/{deposit_id}/verify",
                           data={"csrf_token": decision_token(client)})
    assert response.status_code == 303
    client.post("/logout", data={"csrf_token": decision_token(client)})
    with app.app_context():
        # The slip gives the day in the branch's time (in Jakarta it is tomorrow from 17:00 UTC).
        zone = db.session.scalar(select(Branch.timezone).join(User, User.branch_id == Branch.id)
                                 .where(User.username == "agent1"))
    today = local_today(zone).strftime("%d-%m-%Y")
    for page in (parse(client.get(f"/s/{tokens[first]}")), verify_page(client, first)):
        assert state_text(page).startswith("Uang sudah disetor ke kantor cabang")
        assert f"({today})" in state_text(page)
        assert has(page, "#cash-state.deposited")
    for page in (parse(client.get(f"/s/{tokens[second]}")), verify_page(client, second)):
        assert "Belum disetor" in state_text(page) and has(page, "#cash-state.held")


@pytest.mark.both_backends
def test_after_48_hours_undeposited_the_worker_is_invited_to_report(app, client, auth):
    auth.login("agent1")
    receipt, _ = pay(client, 303)
    token = slip_token(client, receipt)
    move_back(app, 47)
    assert not has(parse(client.get(f"/s/{token}")), '#cash-state a[href^="/complaint"]')
    move_back(app, 2)
    for page in (parse(client.get(f"/s/{token}")), verify_page(client, receipt)):
        link = one(page, '#cash-state a[href^="/complaint"]')
        assert link["href"] == f"/complaint?receipt={receipt}"
        assert "lebih dari 48 jam" in state_text(page)
    # The complaint form opens with the receipt filled in.
    form = parse(client.get(f"/complaint?receipt={receipt}"))
    assert one(form, "input[name=receipt]")["value"] == receipt


def test_a_partly_deposited_payment_is_still_held(app, client, auth):
    auth.login("agent1")
    receipt, amount = pay(client, 304)
    token = slip_token(client, receipt)
    declare(client, amount=str(amount - 1000), reference="BRI-10")
    relogin(client, auth, "supervisor1")
    with app.app_context():
        deposit_id = db.session.scalar(select(Deposit.id).where(Deposit.reference == "BRI-10"))
    client.post(f"/deposits/{deposit_id}/verify", data={"csrf_token": decision_token(client)})
    assert "Belum disetor" in state_text(parse(client.get(f"/s/{token}")))


def test_a_reversed_payment_shows_no_cash_state(app, client, auth):
    from perisai.commands import reversals
    from perisai.commands import SYSTEM
    from perisai.models import Reversal, User
    auth.login("agent1")
    receipt, _ = pay(client, 305)
    token = slip_token(client, receipt)
    client.post(f"/receipts/{receipt}/reversal", data={"reason": "Salah kode bayar"})
    with app.app_context():
        supervisor = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
        reversals.approve(db.session, db.session.scalar(select(Reversal.id)), supervisor=supervisor,
                          actor=SYSTEM)
    page = parse(client.get(f"/s/{token}"))
    assert text_of(one(page, ".slip .state")) == "DIBATALKAN"
    assert not every(page, "#cash-state")
