"""A membership's life after registration: a lapsed member registers again (the same worker row
is re-activated), and sponsored months are marked paid whenever a sponsor takes them on (a list
imported after registering, a period that starts later, a corrected entry)."""
from __future__ import annotations

import html as html_lib
import io
import json
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select

from conftest import Auth, csrf_token
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, issue_bill, nik_for,
                     receipt_from, register, run_together, worker_id_from)
from perisai.domain import Conflict
from perisai.domain.checklist import OK, ExistingMember, Registration, check_registration
from perisai.domain.clock import local_today
from perisai.domain.months import MONTH_NAMES_ID, add_months, month_of
from perisai.domain.status import membership_status
from perisai.extensions import db
from perisai.models import (AgentMonth, AuditEvent, Bill, Collection, Heir, Membership, SponsoredEntry,
                            User, Worker)
from perisai.commands import SYSTEM, Actor, books
from perisai.commands.collecting import collect
from perisai.commands.registration import DUPLICATE, register_worker
from perisai.commands.sponsored_import import import_sponsored
from test_domain_rates import book_from_seed

HX = {"HX-Request": "true"}
ASEP_NIK = "3273011708850001"  # demo worker of agent1 (Kantor Cabang Bandung Suci)
ASEP = dict(VALID, nik=ASEP_NIK, birth_date="1985-08-17", sex="M", full_name="Asep Saepudin Baru",
            phone="0813 1111 2222", address="Jl. Pettarani 20, Makassar", occupation="nelayan",
            declared_income="1.500.000", programs="2", heir_name="Ujang Saepudin",
            heir_relation="anak")
HEADER = "nik,sponsor_code,sponsor_name,programs,valid_from,valid_to\n"


def this_month(zone: str = "Asia/Jakarta") -> date:
    return month_of(local_today(zone))


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def login_client(app, username: str):
    client = app.test_client()
    assert Auth(client).login(username).status_code == 303
    return client


def asep(app) -> Worker:
    with app.app_context():
        worker = db.session.scalars(select(Worker).where(Worker.nik == ASEP_NIK)).one()
        db.session.expunge(worker)
        return worker


def set_worker(app, nik: str, **values) -> None:
    with app.app_context():
        worker = db.session.scalars(select(Worker).where(Worker.nik == nik)).one()
        for name, value in values.items():
            setattr(worker, name, value)
        db.session.commit()


def lapse(app, nik: str = ASEP_NIK, months_ago: int = 6) -> None:
    """Never paid since `months_ago` months: more than 3 overdue months, so lapsed."""
    set_worker(app, nik, first_month=add_months(this_month(), -months_ago), paid_through=None)


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def day_label(day: date) -> str:
    return f"{day.day} {MONTH_NAMES_ID[day.month - 1]} {day.year}"


# --- the document check (domain) -----------------------------------------------------------

def test_checklist_lets_a_lapsed_nik_through_with_an_informational_line():
    raw = dict(VALID)
    lapsed = ExistingMember("Kantor Cabang Bandung Suci", "Siti Aminah", "12345678901",
                            lapsed_since=date(2026, 4, 16))
    result = check_registration(raw, today=date(2026, 9, 1), rate_book=book_from_seed(),
                                existing=lapsed)
    assert result.complete
    item = next(item for item in result.items if item.key == "nik_unique")
    assert item.state == OK
    assert str(item.message) == ("Kepesertaan lama (nomor peserta 123…901, nonaktif sejak "
                            "16 April 2026) akan diaktifkan kembali.")
    active = ExistingMember("Kantor Cabang Bandung Suci", "Siti Aminah", "12345678901")
    refused = check_registration(raw, today=date(2026, 9, 1), rate_book=book_from_seed(),
                                 existing=active)
    assert not refused.complete
    assert [item.key for item in refused.problems] == ["nik_unique"]


# --- re-registration over HTTP -------------------------------------------------------------

@pytest.mark.both_backends
def test_a_lapsed_member_registers_again_and_the_same_worker_is_reactivated(app, backend):
    agent1 = login_client(app, "agent1")
    old = asep(app)
    # History: a paid month, then an open code that was never paid.
    response = issue_bill(agent1, old.id, 1)
    paid_code = bill_code_from(response)
    paid = agent1.post("/collect", data=dict(collect_form(agent1, paid_code),
                                             amount=str(amount_of_bill(agent1, paid_code))))
    assert paid.status_code == 303, text(paid)
    open_code = bill_code_from(issue_bill(agent1, old.id, 1))
    set_worker(app, ASEP_NIK, first_month=add_months(this_month(), -12),
               paid_through=add_months(this_month(), -8))

    agent3 = login_client(app, "agent3")  # another agent, in another branch (Makassar)
    data = dict(ASEP, csrf_token=csrf_token(agent3, "/workers/new"))
    response = agent3.post("/workers/new", data=data)
    assert response.status_code == 303, text(response)
    assert response.headers["Location"].endswith(f"/workers/{old.id}")

    new = asep(app)
    today = local_today("Asia/Makassar")
    with app.app_context():
        agent3_user = db.session.scalars(select(User).where(User.username == "agent3")).one()
        assert (new.agent_id, new.branch_id) == (agent3_user.id, agent3_user.branch_id)
        heirs = db.session.scalars(select(Heir).where(Heir.worker_id == old.id)).all()
        assert [(h.name, h.relation) for h in heirs] == [("Ujang Saepudin", "anak")]
        bills = {b.code: b.status for b in db.session.scalars(
            select(Bill).where(Bill.worker_id == old.id))}
        assert bills == {paid_code: "paid", open_code: "cancelled"}
        collection = db.session.scalars(select(Collection).where(
            Collection.worker_id == old.id)).one()
        assert collection.first_month == this_month()  # the old payment is untouched
        assert books.verify_books(db.session).months == []
    assert new.member_number == old.member_number and new.nik == ASEP_NIK
    assert (new.full_name, new.phone, new.occupation) == ("Asep Saepudin Baru", "081311112222",
                                                          "nelayan")
    assert (new.declared_income, new.programs) == (1_500_000, 2)
    assert new.first_month == month_of(today) and new.paid_through is None
    assert new.registered_at > old.registered_at and new.consent_at > old.consent_at
    assert membership_status(new.first_month, new.paid_through, today).code == "awaiting"

    page = text(agent3.get(f"/workers/{old.id}"))
    assert "Menunggu pembayaran pertama" in page and old.member_number in page
    assert "Ujang Saepudin" in page and "Yati Saepudin" not in page

    [event] = events(app, "worker.reregister")
    assert event.object_id == str(old.id)
    after, before = json.loads(event.after), json.loads(event.before)
    assert after["nik_last4"] == "0001" and after["member_number"] == old.member_number
    assert after["agent_id"] == agent3_user.id and before["agent_id"] == old.agent_id
    assert before["status"] == "lapsed" and before["open_codes_cancelled"] == [open_code]
    assert ASEP_NIK not in event.after and ASEP_NIK not in event.before
    # The cancelled code can no longer be paid.
    with app.app_context():
        agent1_user = db.session.scalars(select(User).where(User.username == "agent1")).one()
        amount = db.session.scalars(select(Bill.amount).where(Bill.code == open_code)).one()
        with pytest.raises(Conflict, match="tidak berlaku"):
            collect(db.session, code=open_code, amount=amount, idempotency_key=uuid.uuid4().hex,
                    agent=agent1_user, actor=Actor(agent1_user.id, "agent1"),
                    today=local_today("Asia/Jakarta"))


@pytest.mark.both_backends
@pytest.mark.parametrize("state", ["awaiting", "active", "arrears"])
def test_a_member_who_has_not_lapsed_is_still_refused(app, state, backend):
    if state == "active":
        set_worker(app, ASEP_NIK, paid_through=this_month())
    elif state == "arrears":
        set_worker(app, ASEP_NIK, first_month=add_months(this_month(), -2), paid_through=None)
    agent3 = login_client(app, "agent3")
    response = agent3.post("/workers/new", data=dict(ASEP, csrf_token=csrf_token(agent3, "/workers/new")))
    assert response.status_code == 422
    body = text(response)
    number = asep(app).member_number
    assert "NIK ini sudah terdaftar" in body and "Satu NIK hanya boleh satu kepesertaan" in body
    # agent3 is in another branch: only that, and whom to ask (issue 11, finding 4).
    assert "kantor cabang lain" in body
    assert "Kantor Cabang Bandung Suci" not in body and "Siti Aminah" not in body
    assert f"{number[:3]}…" not in body and number not in body
    assert "diaktifkan kembali" not in body
    assert asep(app).full_name == "Asep Saepudin"
    assert events(app, "worker.reregister") == []


def test_the_live_check_announces_the_reactivation_of_a_lapsed_nik(app):
    lapse(app, months_ago=6)
    agent2 = login_client(app, "agent2")
    token = csrf_token(agent2, "/workers/new")
    response = agent2.post("/workers/new/check", headers=HX, data=dict(ASEP, csrf_token=token))
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="checklist"')
    number = asep(app).member_number
    since = add_months(add_months(this_month(), -6), 3).replace(day=16)
    assert (f"Kepesertaan lama (nomor peserta {number[:3]}…{number[-3:]}, nonaktif sejak "
            f"{day_label(since)}) akan diaktifkan kembali.") in body
    assert "sudah terdaftar" not in body and "Lengkap dan cocok" in body
    assert number not in body
    assert events(app, "worker.reregister") == []  # the check changes nothing


def test_a_retry_of_the_same_reregistration_lands_on_the_worker(app):
    lapse(app)
    agent2 = login_client(app, "agent2")
    first = agent2.post("/workers/new", data=dict(ASEP, csrf_token=csrf_token(agent2, "/workers/new")))
    second = agent2.post("/workers/new", data=dict(ASEP, csrf_token=csrf_token(agent2, "/workers/new")))
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert len(events(app, "worker.reregister")) == 1


# --- simultaneous re-registrations ---------------------------------------------------------


def registration_of(data: dict) -> Registration:
    return Registration(data["nik"], data["full_name"], date.fromisoformat(data["birth_date"]),
                        data["sex"], "081311112222", data["address"], data["occupation"], None,
                        1_500_000, int(data["programs"]), data["heir_name"], data["heir_relation"])


def service_register(app, username: str, registration: Registration, today: date | None = None):
    with app.app_context():
        try:
            agent = db.session.scalars(select(User).where(User.username == username)).one()
            worker = register_worker(db.session, registration, agent=agent,
                                     actor=Actor(agent.id, agent.username, "thread"),
                                     today=today or local_today(agent.branch.timezone))
            return ("ok", worker.id, username)
        except Conflict as conflict:
            return ("conflict", conflict.message, username)
        except Exception as error:  # noqa: BLE001 - any other outcome fails the test
            return ("error", repr(error), username)
        finally:
            db.session.remove()


@pytest.mark.both_backends
def test_simultaneous_reregistrations_reactivate_once(app, backend):
    lapse(app)
    usernames = ["agent1", "agent2", "agent3", "agent2"]
    registration = registration_of(ASEP)
    results = run_together(len(usernames),
                           lambda i: service_register(app, usernames[i], registration))
    winners = [r for r in results if r[0] == "ok"]
    assert len(winners) == 1, results
    assert all(r[0] == "conflict" and r[1] == DUPLICATE for r in results if r[0] != "ok"), results
    assert len(events(app, "worker.reregister")) == 1
    with app.app_context():
        winner = db.session.scalars(select(User).where(User.username == winners[0][2])).one()
        worker = db.session.scalars(select(Worker).where(Worker.nik == ASEP_NIK)).one()
        assert worker.agent_id == winner.id and worker.id == winners[0][1]
        assert db.session.scalar(select(func.count(Heir.id)).where(Heir.worker_id == worker.id)) == 1
        assert books.verify_books(db.session).months == []


@pytest.mark.both_backends
def test_a_lapsed_member_on_a_sponsored_list_is_reactivated_as_paid(app, backend):
    """Re-registration sets paid_through afresh, then applies the sponsor's months."""
    lapse(app)
    month = this_month()
    with app.app_context():
        import_sponsored(db.session, io.BytesIO((HEADER + f"{ASEP_NIK},SG,Pemprov,2,"
                                                 f"{month},{add_months(month, 2)}\n").encode()),
                         actor=SYSTEM)
        worker = db.session.scalars(select(Worker).where(Worker.nik == ASEP_NIK)).one()
        assert worker.paid_through is None  # the cover starts long after the first unpaid month
    result = service_register(app, "agent2", registration_of(ASEP))
    assert result[0] == "ok", result
    worker = asep(app)
    assert worker.first_month == month and worker.paid_through == add_months(month, 2)
    assert json.loads(events(app, "worker.reregister")[0].after)["sponsored_through"] == \
        add_months(month, 2).isoformat()


@pytest.mark.both_backends
def test_history_still_verifies_after_a_paying_member_reregisters(app, backend):
    """The old membership's payment and registration stay where they were: the incentive
    tallies and the agents' months recount the same, and the old payment cannot be reversed
    (it would move the new membership's months)."""
    agent1 = login_client(app, "agent1")
    code = bill_code_from(issue_bill(agent1, asep(app).id, 1))
    paid = agent1.post("/collect", data=dict(collect_form(agent1, code),
                                             amount=str(amount_of_bill(agent1, code))))
    receipt = receipt_from(paid)
    with app.app_context():
        months_before = {(row.agent_id, row.month): row.registrations
                         for row in db.session.scalars(select(AgentMonth))}
    later = add_months(this_month(), 8)  # paid this month only: lapsed eight months on
    assert service_register(app, "agent2", registration_of(ASEP), today=later)[0] == "ok"
    with app.app_context():
        assert books.verify_books(db.session).tallies == []
        assert books.verify_books(db.session).months == []
        agent1_id, agent2_id = (db.session.scalar(select(User.id).where(User.username == name))
                                for name in ("agent1", "agent2"))
        rows = {(row.agent_id, row.month): row.registrations
                for row in db.session.scalars(select(AgentMonth))}
        # agent1 keeps its registration of Asep; agent2 gains one this month.
        assert {k: v for k, v in rows.items() if k[0] == agent1_id} == \
            {k: v for k, v in months_before.items() if k[0] == agent1_id}
        assert sum(v for k, v in rows.items() if k[0] == agent2_id) == \
            sum(v for k, v in months_before.items() if k[0] == agent2_id) + 1
        history = db.session.scalars(select(Membership).where(
            Membership.worker_id == asep(app).id).order_by(Membership.id)).all()
        assert [(m.agent_id, m.renewal) for m in history] == [(agent1_id, False), (agent2_id, True)]
    response = agent1.post(f"/receipts/{receipt}/reversal", data={
        "csrf_token": csrf_token(agent1, f"/receipts/{receipt}"), "reason": "salah kode"})
    assert response.status_code == 409 and "kepesertaan lama" in text(response)


# --- sponsored months after registration ---------------------------------------------------

def import_list(app, text_rows: str, name: str = "list.csv"):
    with app.app_context():
        return import_sponsored(db.session, io.BytesIO((HEADER + text_rows).encode()),
                                actor=SYSTEM, source_name=name)


def registered(app, client, serial: int, programs: str = "2") -> tuple[int, str]:
    born = date(1987, 3, 9)
    nik = nik_for(born, "M", serial)
    response = register(client, nik=nik, birth_date=born.isoformat(), sex="M", programs=programs,
                        full_name="Ujang Terdaftar")
    assert response.status_code == 303, text(response)
    return worker_id_from(response), nik


def paid_through(app, worker_id: int) -> date | None:
    with app.app_context():
        return db.session.get(Worker, worker_id).paid_through


@pytest.mark.both_backends
def test_a_list_imported_after_registration_marks_the_months_paid(app, client, auth, backend):
    auth.login("agent1")
    worker_id, nik = registered(app, client, 5101)
    month = this_month()
    result = import_list(app, f"{nik},SG,Pemprov Jawa Barat,2,{month},{add_months(month, 2)}\n")
    assert (result.added, result.updated, result.workers_advanced) == (1, 0, 1)
    assert paid_through(app, worker_id) == add_months(month, 2)
    assert "Aktif" in text(client.get(f"/workers/{worker_id}"))
    [event] = events(app, "worker.sponsored_months")
    assert event.object_id == str(worker_id)
    assert json.loads(event.before) == {"paid_through": None}
    assert json.loads(event.after) == {"paid_through": add_months(month, 2).isoformat()}
    assert '"workers_advanced":1' in events(app, "sponsored.import")[-1].after

    # The next code starts after the sponsored months, priced in full.
    response = issue_bill(client, worker_id, 1)
    assert response.status_code == 303, text(response)
    with app.app_context():
        bill = db.session.scalars(select(Bill).where(Bill.code == bill_code_from(response))).one()
        assert bill.first_month == add_months(month, 3) and bill.amount > 0


@pytest.mark.both_backends
def test_issuing_a_code_first_marks_sponsored_months_paid(app, client, auth, backend):
    """An entry that no import applied (listed before this was built): the code skips it."""
    auth.login("agent1")
    worker_id, nik = registered(app, client, 5102)
    month = this_month()
    with app.app_context():
        db.session.add(SponsoredEntry(nik=nik, sponsor_code="SD", sponsor_name="Desa Sukamaju",
                                      programs=2, valid_from=month,
                                      valid_to=add_months(month, 1)))
        db.session.commit()
    response = issue_bill(client, worker_id, 3)
    assert response.status_code == 303, text(response)
    with app.app_context():
        bill = db.session.scalars(select(Bill).where(Bill.code == bill_code_from(response))).one()
        assert bill.first_month == add_months(month, 2)
        lines = json.loads(bill.breakdown)
        assert len(lines) == 3 and not any(line["sponsored"] for line in lines)
    assert paid_through(app, worker_id) == add_months(month, 1)
    assert len(events(app, "worker.sponsored_months")) == 1


@pytest.mark.both_backends
def test_paying_up_to_a_later_sponsor_period_extends_paid_through_at_collection(app, client, auth, backend):
    auth.login("agent1")
    worker_id, nik = registered(app, client, 5103)
    month = this_month()
    result = import_list(app, f"{nik},SG,Pemprov,2,{add_months(month, 1)},"
                              f"{add_months(month, 4).replace(day=28)}\n")
    assert result.workers_advanced == 0  # this month is still the worker's to pay
    assert paid_through(app, worker_id) is None
    code = bill_code_from(issue_bill(client, worker_id, 1))
    response = client.post("/collect", data=dict(collect_form(client, code),
                                                 amount=str(amount_of_bill(client, code))))
    assert response.status_code == 303, text(response)
    assert paid_through(app, worker_id) == add_months(month, 4)
    [event] = events(app, "collection.record")[-1:]
    assert json.loads(event.after)["paid_through"] == add_months(month, 4).isoformat()


@pytest.mark.both_backends
def test_a_corrected_entry_is_updated_and_extends_the_paid_months(app, client, auth, backend):
    auth.login("agent1")
    worker_id, nik = registered(app, client, 5104)
    month = this_month()
    first = f"{nik},SG,Pemprov,2,{month},{add_months(month, 1)}\n"
    assert import_list(app, first).added == 1
    assert paid_through(app, worker_id) == add_months(month, 1)

    corrected = f"{nik},SG,Pemprov Jawa Barat,2,{month},{add_months(month, 4).replace(day=30)}\n"
    result = import_list(app, corrected, "corrected.csv")
    assert (result.rows, result.added, result.updated, result.skipped) == (1, 0, 1, 0)
    assert paid_through(app, worker_id) == add_months(month, 4)
    with app.app_context():
        entry = db.session.scalars(select(SponsoredEntry).where(SponsoredEntry.nik == nik)).one()
        assert (entry.sponsor_name, entry.valid_to) == ("Pemprov Jawa Barat",
                                                        add_months(month, 4).replace(day=30))
    after = json.loads(events(app, "sponsored.import")[-1].after)
    assert after["updated"] == 1 and after["skipped"] == 0
    [change] = after["corrections"]
    assert change["nik_last4"] == nik[-4:] and change["after"]["sponsor_name"] == "Pemprov Jawa Barat"
    assert change["before"]["valid_to"] == add_months(month, 1).isoformat()
    assert nik not in events(app, "sponsored.import")[-1].after

    again = import_list(app, corrected, "corrected.csv")
    assert (again.added, again.updated, again.skipped, again.workers_advanced) == (0, 0, 1, 0)

    # Shortened later: months already marked paid stay paid.
    shortened = import_list(app, f"{nik},SG,Pemprov Jawa Barat,2,{month},{month}\n")
    assert shortened.updated == 1
    assert paid_through(app, worker_id) == add_months(month, 4)


def test_cli_counts_updated_rows(app, runner, tmp_path):
    nik = nik_for(date(1987, 3, 9), "M", 5105)
    path = tmp_path / "a.csv"
    path.write_text(HEADER + f"{nik},SG,Pemprov,2,2026-01-01,2026-06-30\n")
    with app.app_context():
        assert runner.invoke(args=["import-sponsored", str(path)]).exit_code == 0
    path.write_text(HEADER + f"{nik},SG,Pemprov,3,2026-01-01,2026-06-30\n")
    with app.app_context():
        result = runner.invoke(args=["import-sponsored", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 rows read: 0 added, 0 already on the list, 1 updated" in result.output
