"""Deposits over HTTP: an agent declares, a supervisor of the same branch verifies once or
rejects; bad amounts and a second verification change nothing."""
import pytest
from sqlalchemy import func, select

from helpers import form_key, paid_receipt, relogin
from markup import field_value, has, one, parse, text_of
from perisai.extensions import db
from perisai.models import AgentAccount, AuditEvent, Deposit, LedgerEntry, User
from perisai.commands import books
from perisai.domain import DomainError


def account_of(app, username):
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == username)).one()
        account = db.session.get(AgentAccount, user.id)
        db.session.expunge_all()
        return account


def deposits_of(app, username):
    with app.app_context():
        rows = db.session.scalars(select(Deposit).join(User, User.id == Deposit.agent_id)
                                  .where(User.username == username).order_by(Deposit.id)).all()
        db.session.expunge_all()
        return rows


def audit_actions(app):
    with app.app_context():
        return db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()


def deposit_form(client, **fields):
    page = parse(client.get("/"))
    assert has(page, '#deposit form[action="/deposits"]')
    data = {"idempotency_key": field_value(page, "idempotency_key", within="#deposit"),
            "csrf_token": field_value(page, "csrf_token", within="#deposit") or "",
            "amount": "", "reference": "TRF-0001"}
    data.update(fields)
    return data


def declare(client, **fields):
    return client.post("/deposits", data=deposit_form(client, **fields))


def as_supervisor(client, auth, username="supervisor1"):
    relogin(client, auth, username)


def decision_token(client):
    return form_key(client.get("/supervisor/agents").get_data(as_text=True), "csrf_token")


@pytest.mark.both_backends
def test_declare_verify_moves_cash_once(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client, months=3)
    response = declare(client, amount=str(amount), reference="BRI 123456", note="setor pagi")
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    page = client.get("/").get_data(as_text=True)
    assert "BRI 123456" in page and "Menunggu verifikasi" in page
    [deposit] = deposits_of(app, "agent1")
    assert (deposit.status, deposit.amount, deposit.note) == ("pending", amount, "setor pagi")
    assert account_of(app, "agent1").cash_on_hand == amount  # only a verified deposit counts

    as_supervisor(client, auth)
    listing = client.get("/supervisor").get_data(as_text=True)
    assert "BRI 123456" in text_of(one(listing, f"#deposit-{deposit.id}"))
    token = decision_token(client)
    response = client.post(f"/deposits/{deposit.id}/verify", data={"csrf_token": token})
    assert response.status_code == 303
    account = account_of(app, "agent1")
    assert (account.cash_on_hand, account.total_deposited, account.oldest_undeposited_at) == (0, amount, None)
    assert deposits_of(app, "agent1")[0].status == "verified"

    again = client.post(f"/deposits/{deposit.id}/verify", data={"csrf_token": token})
    assert again.status_code == 409
    assert "sudah terverifikasi" in again.get_data(as_text=True)
    assert account_of(app, "agent1").total_deposited == amount
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id)).where(
            LedgerEntry.kind == "deposit")) == 1
        assert books.verify_books(db.session).ledger == []
    actions = audit_actions(app)
    assert actions.count("deposit.declare") == 1 and actions.count("deposit.verify") == 1


@pytest.mark.both_backends
@pytest.mark.parametrize("typed, message", [
    ("0", "lebih dari nol"),
    ("-5000", "lebih dari nol"),
    ("", "Isi jumlah setoran"),
    ("lima ribu", "hanya berisi angka"),
    ("12,5", "hanya berisi angka"),
    ("99999999", "lebih besar dari uang tunai di tangan"),
])
def test_bad_amounts_are_refused_and_nothing_changes(app, client, auth, typed, message):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    events = len(audit_actions(app))
    response = declare(client, amount=typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert has(html, "#deposit form") and "Perlu ditagih" in html  # the same dashboard, full page
    assert deposits_of(app, "agent1") == []
    assert account_of(app, "agent1").cash_on_hand == amount
    assert len(audit_actions(app)) == events


def test_reference_is_required_and_the_typed_values_stay(app, client, auth):
    auth.login("agent1")
    paid_receipt(client)
    response = declare(client, amount="10000", reference="  ", note="catatan saya")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "nomor referensi" in html
    assert field_value(html, "amount", within="#deposit") == "10000"
    assert field_value(html, "note", within="#deposit") == "catatan saya"
    assert deposits_of(app, "agent1") == []


def test_pending_deposits_count_against_what_can_still_be_declared(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    assert declare(client, amount=str(amount - 1000)).status_code == 303
    response = declare(client, amount="2000", reference="TRF-2")
    assert response.status_code == 422
    assert "sudah diajukan dan menunggu verifikasi" in response.get_data(as_text=True)
    assert declare(client, amount="1000", reference="TRF-3").status_code == 303
    assert [d.amount for d in deposits_of(app, "agent1")] == [amount - 1000, 1000]


def test_the_same_form_sent_twice_declares_once(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    data = deposit_form(client, amount=str(amount), reference="TRF-9")
    first = client.post("/deposits", data=data)
    second = client.post("/deposits", data=data)
    assert first.status_code == second.status_code == 303
    assert len(deposits_of(app, "agent1")) == 1
    assert audit_actions(app).count("deposit.declare") == 1


def test_htmx_declare_answers_with_the_fragment_and_a_fresh_key(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    data = deposit_form(client, amount=str(amount), reference="TRF-HX")
    response = client.post("/deposits", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 201
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<section id="deposit"') and "<html" not in html
    assert "TRF-HX" in html and "menunggu verifikasi pengawas" in html
    assert form_key(html) != data["idempotency_key"]
    assert "HX-Request" in response.headers["Vary"]
    bad = client.post("/deposits", data=dict(data, idempotency_key=form_key(html), amount="0"),
                      headers={"HX-Request": "true"})
    assert bad.status_code == 422
    assert "<html" not in bad.get_data(as_text=True)
    assert "lebih dari nol" in bad.get_data(as_text=True)


@pytest.mark.both_backends
def test_reject_needs_a_reason_and_leaves_cash_alone(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    declare(client, amount=str(amount), reference="TRF-R")
    [deposit] = deposits_of(app, "agent1")
    as_supervisor(client, auth)
    token = decision_token(client)
    response = client.post(f"/deposits/{deposit.id}/reject", data={"csrf_token": token, "reason": " "})
    assert response.status_code == 422
    assert "alasan" in response.get_data(as_text=True).lower()
    assert deposits_of(app, "agent1")[0].status == "pending"
    response = client.post(f"/deposits/{deposit.id}/reject",
                           data={"csrf_token": token, "reason": "Tidak ada di rekening"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.startswith(f'<div class="card" id="deposit-{deposit.id}">')
    assert "Ditolak" in html and "Tidak ada di rekening" in html and "<form" not in html
    rejected = deposits_of(app, "agent1")[0]
    assert (rejected.status, rejected.reject_reason) == ("rejected", "Tidak ada di rekening")
    assert account_of(app, "agent1").cash_on_hand == amount
    late = client.post(f"/deposits/{deposit.id}/verify", data={"csrf_token": token},
                       headers={"HX-Request": "true"})
    assert late.status_code == 409 and "sudah ditolak" in late.get_data(as_text=True)
    assert account_of(app, "agent1").cash_on_hand == amount
    assert "deposit.reject" in audit_actions(app)
    relogin(client, auth, "agent1")
    assert "Tidak ada di rekening" in client.get("/").get_data(as_text=True)


def test_htmx_verify_swaps_the_item(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    declare(client, amount=str(amount), reference="TRF-H")
    [deposit] = deposits_of(app, "agent1")
    as_supervisor(client, auth)
    listing = client.get("/supervisor").get_data(as_text=True)
    form = one(listing, f'form[method="post"][action="/deposits/{deposit.id}/verify"]')
    assert form["hx-post"] == f"/deposits/{deposit.id}/verify"
    assert form["hx-target"] == f"#deposit-{deposit.id}" and form.has_attr("hx-disabled-elt")
    response = client.post(f"/deposits/{deposit.id}/verify", data={"csrf_token": decision_token(client)},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Terverifikasi" in text_of(one(html, f"#deposit-{deposit.id}")) and "<html" not in html
    assert account_of(app, "agent1").cash_on_hand == 0


def test_only_a_supervisor_of_the_same_branch_decides(app, client, auth):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    declare(client, amount=str(amount), reference="TRF-X")
    [deposit] = deposits_of(app, "agent1")
    token = auth.token("/")
    assert client.post(f"/deposits/{deposit.id}/verify", data={"csrf_token": token}).status_code == 403
    as_supervisor(client, auth, "supervisor2")
    token = decision_token(client)
    assert "TRF-X" not in client.get("/supervisor").get_data(as_text=True)
    for action in ("verify", "reject"):
        response = client.post(f"/deposits/{deposit.id}/{action}",
                               data={"csrf_token": token, "reason": "x"})
        assert response.status_code == 404
    assert client.post("/deposits/999999/verify", data={"csrf_token": token}).status_code == 404
    assert deposits_of(app, "agent1")[0].status == "pending"
    assert account_of(app, "agent1").cash_on_hand == amount
    # A supervisor cannot declare deposits.
    assert client.post("/deposits", data={"csrf_token": token, "amount": "1", "reference": "x",
                                          "idempotency_key": "k" * 20}).status_code == 403


@pytest.mark.both_backends
def test_two_simultaneous_verifications_move_the_cash_once(app, client, auth):
    import threading

    from perisai.commands import Actor
    from perisai.commands import deposits as deposit_service

    auth.login("agent1")
    _, amount = paid_receipt(client)
    declare(client, amount=str(amount), reference="TRF-RACE")
    [deposit] = deposits_of(app, "agent1")
    barrier = threading.Barrier(2)
    outcomes = []

    def verify_once():
        with app.app_context():
            supervisor = db.session.scalars(select(User).where(User.username == "supervisor1")).one()
            barrier.wait()
            try:
                deposit_service.verify(db.session, deposit.id, supervisor=supervisor,
                                       actor=Actor(supervisor.id, "supervisor1"))
                outcomes.append("verified")
            except DomainError as error:
                db.session.rollback()
                outcomes.append(error.status_code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=verify_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes, key=str) == [409, "verified"]
    account = account_of(app, "agent1")
    assert (account.cash_on_hand, account.total_deposited) == (0, amount)
    with app.app_context():
        assert db.session.scalar(select(func.count(LedgerEntry.id)).where(
            LedgerEntry.kind == "deposit")) == 1
        assert books.verify_books(db.session).ledger == []


@pytest.mark.both_backends
def test_contract_fields_alone_declare_a_deposit_once(app, client, auth):
    """`POST /deposits` with only `amount` and `reference` (no server-made key, as an outside
    tool would send): declared once; the same amount and reference again is the same deposit."""
    auth.login("agent1")
    _, amount = paid_receipt(client, months=3)
    token = form_key(client.get("/").get_data(as_text=True), "csrf_token")
    fields = {"csrf_token": token, "amount": str(amount), "reference": "BRI 99881"}
    first = client.post("/deposits", data=fields)
    assert first.status_code == 303
    again = client.post("/deposits", data=fields)
    assert again.status_code == 303
    assert "sudah tercatat sebelumnya" in client.get("/").get_data(as_text=True)
    [deposit] = deposits_of(app, "agent1")
    assert (deposit.amount, deposit.reference, deposit.status) == (amount, "BRI 99881", "pending")
    assert audit_actions(app).count("deposit.declare") == 1
    # Another reference is another deposit, still bounded by the cash on hand.
    other = client.post("/deposits", data=dict(fields, reference="BRI 99882"))
    assert other.status_code == 422 and "lebih besar" in other.get_data(as_text=True)
    assert len(deposits_of(app, "agent1")) == 1
