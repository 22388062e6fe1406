"""Admin over HTTP: branches, users, rates; role checks; each change audited."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from conftest import DEMO_PASSWORD, Auth, csrf_token
from markup import every
from helpers import (amount_of_bill, bill_code_from, collect_form, issue_bill, login_client, register,
                     worker_id_from)
from perisai.domain.clock import local_today
from perisai.domain.months import add_months, month_of
from perisai.extensions import db
from perisai.models import AuditEvent, Branch, RateSchedule, User

ADMIN_PAGES = ["/admin", "/admin/branches", "/admin/users", "/admin/rates", "/admin/sponsored",
               "/admin/branches/1", "/admin/users/1"]


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).all()


def user(app, username: str) -> User:
    with app.app_context():
        found = db.session.scalars(select(User).where(User.username == username)).one()
        db.session.expunge(found)
        return found


def post(client, path: str, data: dict, token_from: str = "/admin"):
    return client.post(path, data=dict(data, csrf_token=csrf_token(client, token_from)))


@pytest.mark.parametrize("path", ADMIN_PAGES)
@pytest.mark.parametrize("username", ["agent1", "supervisor1"])
def test_admin_pages_are_forbidden_to_other_roles(client, auth, path, username):
    auth.login(username)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/admin/branches", "/admin/users", "/admin/rates",
                                  "/admin/users/1/deactivate", "/admin/users/1/password",
                                  "/admin/users/1/move", "/admin/branches/1"])
def test_admin_posts_are_forbidden_to_other_roles(app, client, auth, path):
    auth.login("supervisor1")
    response = client.post(path, data={"csrf_token": csrf_token(client, "/workers"), "name": "X",
                                       "password": "whatever-123", "branch": "MKS01"})
    assert response.status_code == 403
    assert events(app, "user.deactivate") == [] and events(app, "branch.update") == []


def test_anonymous_is_sent_to_login(client):
    response = client.get("/admin/users")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_sees_every_page(client, auth, path):
    auth.login("admin")
    assert client.get(path).status_code == 200


@pytest.mark.csrf
def test_post_without_csrf_token_is_refused(app, client, auth):
    auth.login("admin")
    response = client.post("/admin/branches", data={"code": "SBY01", "name": "Surabaya",
                                                    "timezone": "Asia/Jakarta", "cash_limit": "1000000"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Branch).where(Branch.code == "SBY01")) is None


# --- branches -------------------------------------------------------------------------------

@pytest.mark.both_backends
def test_admin_creates_and_edits_a_branch(app, client, auth, backend):
    auth.login("admin")
    response = post(client, "/admin/branches", {"code": "jyp01", "name": "Kantor Cabang Jayapura",
                                                "timezone": "Asia/Jayapura", "cash_limit": "1.500.000"})
    assert response.status_code == 303
    page = client.get("/admin/branches").get_data(as_text=True)
    assert "JYP01" in page and "Kantor Cabang Jayapura" in page and "Rp1.500.000" in page
    with app.app_context():
        branch = db.session.scalars(select(Branch).where(Branch.code == "JYP01")).one()
        branch_id = branch.id
        assert (branch.timezone, branch.cash_limit) == ("Asia/Jayapura", 1_500_000)
    assert '"cash_limit":1500000' in events(app, "branch.create")[0].after

    response = post(client, f"/admin/branches/{branch_id}",
                    {"name": "KC Jayapura", "timezone": "Asia/Makassar", "cash_limit": "3000000"})
    assert response.status_code == 303
    with app.app_context():
        branch = db.session.get(Branch, branch_id)
        assert (branch.name, branch.timezone, branch.cash_limit) == ("KC Jayapura", "Asia/Makassar", 3_000_000)
    update = events(app, "branch.update")[0]
    assert '"timezone":"Asia/Jayapura"' in update.before and '"timezone":"Asia/Makassar"' in update.after


@pytest.mark.parametrize("data, message", [
    ({"code": "X", "name": "A", "timezone": "Asia/Jakarta", "cash_limit": "1000"}, "Kode cabang 3–10"),
    ({"code": "ABC01", "name": "", "timezone": "Asia/Jakarta", "cash_limit": "1000"}, "Nama cabang wajib"),
    ({"code": "ABC01", "name": "A", "timezone": "Europe/Paris", "cash_limit": "1000"}, "Pilih zona waktu"),
    ({"code": "ABC01", "name": "A", "timezone": "Asia/Jakarta", "cash_limit": "0"}, "Batas uang tunai"),
    ({"code": "ABC01", "name": "A", "timezone": "Asia/Jakarta", "cash_limit": "-5"}, "Batas uang tunai"),
])
def test_bad_branch_input_is_422_with_a_message(app, client, auth, data, message):
    auth.login("admin")
    response = post(client, "/admin/branches", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert events(app, "branch.create") == []


def test_a_taken_branch_code_is_409_and_a_bad_edit_is_422(app, client, auth):
    auth.login("admin")
    response = post(client, "/admin/branches", {"code": "BDG01", "name": "Lagi", "timezone": "Asia/Jakarta",
                                                "cash_limit": "1000000"})
    assert response.status_code == 409 and "sudah dipakai" in response.get_data(as_text=True)
    response = post(client, "/admin/branches/1", {"name": "Bandung", "timezone": "Asia/Tokyo",
                                                  "cash_limit": "1000000"})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Branch, 1).timezone == "Asia/Jakarta"


# --- users ----------------------------------------------------------------------------------

@pytest.mark.both_backends
def test_admin_creates_a_user_who_can_log_in(app, client, auth, backend):
    auth.login("admin")
    response = post(client, "/admin/users", {"username": "agent9", "full_name": "Agen Sembilan",
                                             "role": "agent", "branch": "MKS01",
                                             "password": "rahasia-123"})
    assert response.status_code == 303
    created = user(app, "agent9")
    assert created.role == "agent" and created.agent_code.startswith("MKS01-")
    assert events(app, "user.create")[-1].object_id == "agent9"
    fresh = app.test_client()
    assert Auth(fresh).login("agent9", "rahasia-123").status_code == 303
    assert fresh.get("/workers").status_code == 200


@pytest.mark.parametrize("data, status, message", [
    ({"username": "A B", "role": "agent", "branch": "BDG01", "password": "rahasia-123"}, 422, "Nama pengguna"),
    ({"username": "agent10", "role": "agent", "branch": "BDG01", "password": "short"}, 422, "paling sedikit 8"),
    ({"username": "agent10", "role": "boss", "branch": "BDG01", "password": "rahasia-123"}, 422, "Peran tidak dikenal"),
    ({"username": "agent10", "role": "agent", "branch": "NOPE", "password": "rahasia-123"}, 422, "kantor cabang"),
    ({"username": "agent1", "role": "agent", "branch": "BDG01", "password": "rahasia-123"}, 409, "sudah dipakai"),
])
def test_bad_user_input_is_refused_with_a_message(app, client, auth, data, status, message):
    auth.login("admin")
    before = len(events(app, "user.create"))
    response = post(client, "/admin/users", dict(data, full_name="X"))
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert len(events(app, "user.create")) == before


@pytest.mark.both_backends
def test_deactivation_ends_existing_sessions_and_blocks_login(app, client, auth, backend):
    agent_client = app.test_client()
    Auth(agent_client).login("agent1")
    assert agent_client.get("/workers").status_code == 200
    agent = user(app, "agent1")

    auth.login("admin")
    response = post(client, f"/admin/users/{agent.id}/deactivate", {})
    assert response.status_code == 303
    assert user(app, "agent1").session_version == agent.session_version + 1
    assert events(app, "user.deactivate")[0].object_id == "agent1"

    response = agent_client.get("/workers")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    fresh = app.test_client()
    Auth(fresh).login("agent1")
    assert fresh.get("/workers").status_code == 302

    again = post(client, f"/admin/users/{agent.id}/deactivate", {})
    assert again.status_code == 409
    assert post(client, f"/admin/users/{agent.id}/reactivate", {}).status_code == 303
    assert Auth(fresh).login("agent1").status_code == 303
    assert fresh.get("/workers").status_code == 200


def test_admin_cannot_deactivate_itself(app, client, auth):
    auth.login("admin")
    admin = user(app, "admin")
    response = post(client, f"/admin/users/{admin.id}/deactivate", {})
    assert response.status_code == 422
    assert "sendiri" in response.get_data(as_text=True)
    assert user(app, "admin").active


@pytest.mark.both_backends
def test_password_reset_ends_sessions_and_the_new_password_works(app, client, auth, backend):
    supervisor_client = app.test_client()
    Auth(supervisor_client).login("supervisor1")
    assert supervisor_client.get("/workers").status_code == 200
    target = user(app, "supervisor1")

    auth.login("admin")
    short = post(client, f"/admin/users/{target.id}/password", {"password": "short"})
    assert short.status_code == 422 and "paling sedikit 8" in short.get_data(as_text=True)
    assert supervisor_client.get("/workers").status_code == 200  # nothing changed yet

    response = post(client, f"/admin/users/{target.id}/password", {"password": "kata-sandi-baru"})
    assert response.status_code == 303
    assert supervisor_client.get("/workers").status_code == 302
    event = events(app, "user.reset_password")[0]
    stored_hash = user(app, "supervisor1").password_hash
    recorded = (event.before or "") + (event.after or "")
    assert event.object_id == "supervisor1"
    assert "kata-sandi-baru" not in recorded and stored_hash not in recorded
    assert stored_hash.split("$")[0] not in recorded  # not even the method and salt
    fresh = Auth(app.test_client())
    assert fresh.login("supervisor1", DEMO_PASSWORD).status_code != 303
    assert fresh.login("supervisor1", "kata-sandi-baru").status_code == 303


@pytest.mark.both_backends
def test_admin_moves_an_agent_without_cash_to_another_branch(app, client, auth, backend):
    agent = user(app, "agent2")
    auth.login("admin")
    response = post(client, f"/admin/users/{agent.id}/move", {"branch": "MKS01"})
    assert response.status_code == 303
    assert user(app, "agent2").branch.code == "MKS01"
    event = events(app, "user.move")[0]
    assert '"branch":"BDG01"' in event.before and '"branch":"MKS01"' in event.after
    same = post(client, f"/admin/users/{agent.id}/move", {"branch": "MKS01"})
    assert same.status_code == 422
    supervisor = user(app, "supervisor1")
    not_agent = post(client, f"/admin/users/{supervisor.id}/move", {"branch": "MKS01"})
    assert not_agent.status_code == 422 and "Hanya agen" in not_agent.get_data(as_text=True)


@pytest.mark.both_backends
def test_an_agent_holding_cash_cannot_be_moved(app, client, auth, backend):
    auth.login("agent1")
    worker_id = worker_id_from(register(client))
    code = bill_code_from(issue_bill(client, worker_id, 1))
    amount = amount_of_bill(client, code)
    assert client.post("/collect", data=dict(collect_form(client, code), amount=str(amount))).status_code == 303
    auth.logout()
    agent = user(app, "agent1")
    auth.login("admin")
    response = post(client, f"/admin/users/{agent.id}/move", {"branch": "MKS01"})
    assert response.status_code == 409
    assert "masih memegang" in response.get_data(as_text=True)
    assert user(app, "agent1").branch.code == "BDG01"
    assert events(app, "user.move") == []


# --- rate schedule --------------------------------------------------------------------------

RATE = {"jkk_basis_points": "100", "jkm_flat": "7.000", "jht_basis_points": "200",
        "min_income": "1000000", "max_income": "20700000", "income_step": "100000",
        "source": "PP contoh 2027"}


@pytest.mark.both_backends
def test_admin_adds_a_future_rate_and_past_ones_stay_read_only(app, client, auth, backend):
    auth.login("admin")
    page = client.get("/admin/rates").get_data(as_text=True)
    assert "2015-07" in page and "berlaku" in page
    # The only rate form adds a new one: no edit form for an existing rate.
    assert [form["action"] for form in every(page, 'form[method="post"]')
            if form["action"].startswith("/admin/rates")] == ["/admin/rates"]
    next_month = add_months(month_of(local_today("Asia/Jakarta")), 1)
    response = post(client, "/admin/rates", dict(RATE, effective_from=f"{next_month:%Y-%m}"))
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        rate = db.session.scalars(select(RateSchedule).where(RateSchedule.effective_from == next_month)).one()
        assert (rate.jkm_flat, rate.source) == (7_000, "PP contoh 2027")
    assert events(app, "rate.create")[0].object_id == next_month.isoformat()
    page = client.get("/admin/rates").get_data(as_text=True)
    assert "akan datang" in page and "Rp7.000" in page

    duplicate = post(client, "/admin/rates", dict(RATE, effective_from=f"{next_month:%Y-%m-%d}"))
    assert duplicate.status_code == 409


@pytest.mark.parametrize("effective_from, message", [
    ("current", "bulan yang akan datang"),
    ("2015-07", "bulan yang akan datang"),
    ("next-15", "hari pertama bulan"),
    ("2027-13", "hari pertama bulan"),
    ("", "hari pertama bulan"),
])
def test_a_rate_must_start_on_the_first_day_of_a_future_month(app, client, auth, effective_from, message):
    this_month = month_of(local_today("Asia/Jakarta"))
    if effective_from == "current":
        effective_from = f"{this_month:%Y-%m}"
    elif effective_from == "next-15":
        effective_from = f"{add_months(this_month, 1):%Y-%m}-15"
    auth.login("admin")
    response = post(client, "/admin/rates", dict(RATE, effective_from=effective_from))
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert events(app, "rate.create") == []


def test_bad_rate_numbers_are_422(app, client, auth):
    auth.login("admin")
    next_month = add_months(month_of(local_today("Asia/Jakarta")), 1)
    response = post(client, "/admin/rates", dict(RATE, effective_from=f"{next_month:%Y-%m}",
                                                 jkm_flat="-1", max_income="10", source=""))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "JKM (Rp): isi angka" in html and "Sumber" in html
    assert events(app, "rate.create") == []


@pytest.mark.both_backends
def test_a_moved_agent_takes_its_members_and_open_codes_along(app, client, auth, backend):
    auth.login("agent2")
    worker_id = worker_id_from(register(client))
    code = bill_code_from(issue_bill(client, worker_id, 1))
    auth.logout()
    agent = user(app, "agent2")
    auth.login("admin")
    assert post(client, f"/admin/users/{agent.id}/move", {"branch": "MKS01"}).status_code == 303
    event = events(app, "user.move")[0]
    with app.app_context():
        from perisai.models import Worker
        members = db.session.scalars(select(Worker).where(Worker.agent_id == agent.id)).all()
        assert {worker.branch.code for worker in members} == {"MKS01"}
    assert f'"members":{len(members)}' in event.after and '"open_codes":1' in event.after
    # The members now belong to the new branch: its supervisor sees them, the old one does not.
    assert login_client(app, "supervisor2").get(f"/workers/{worker_id}").status_code == 200
    assert login_client(app, "supervisor2").get(f"/bills/{code}").status_code == 200
    assert login_client(app, "supervisor1").get(f"/workers/{worker_id}").status_code == 404
    assert login_client(app, "supervisor1").get(f"/bills/{code}").status_code == 404
    # The agent keeps its members and can still collect their open code, in the new branch.
    moved = login_client(app, "agent2")
    assert moved.get(f"/workers/{worker_id}").status_code == 200
    amount = amount_of_bill(moved, code)
    paid = moved.post("/collect", data=dict(collect_form(moved, code), amount=str(amount)))
    assert paid.status_code == 303
    with app.app_context():
        from perisai.models import Collection
        collection = db.session.scalars(select(Collection)).one()
        assert collection.branch_id == user(app, "agent3").branch_id


@pytest.mark.both_backends
def test_an_agent_with_a_pending_reversal_cannot_be_moved(app, client, auth, backend):
    from helpers import paid_receipt
    from perisai.commands import Actor, deposits
    auth.login("agent1")
    number, amount = paid_receipt(client)
    client.post(f"/receipts/{number}/reversal",
                data={"csrf_token": csrf_token(client, f"/receipts/{number}"), "reason": "salah kode"})
    auth.logout()
    with app.app_context():  # the cash itself is deposited and verified: hands are empty
        agent1, supervisor1 = (db.session.scalars(select(User).where(User.username == name)).one()
                               for name in ("agent1", "supervisor1"))
        deposit, _ = deposits.declare(db.session, agent=agent1, amount=amount, reference="TRF-MV",
                                      note=None, idempotency_key="k" * 24,
                                      actor=Actor(agent1.id, "agent1", "127.0.0.1"))
        deposits.verify(db.session, deposit.id, supervisor=supervisor1,
                        actor=Actor(supervisor1.id, "supervisor1", "127.0.0.1"))
    agent = user(app, "agent1")
    auth.login("admin")
    response = post(client, f"/admin/users/{agent.id}/move", {"branch": "MKS01"})
    assert response.status_code == 409 and "pembatalan" in response.get_data(as_text=True)
    assert user(app, "agent1").branch.code == "BDG01"
    assert events(app, "user.move") == []


def test_the_users_list_comes_in_pages_and_finds_a_username(app, client, auth):
    """Thousands of agents nationally: 50 users a page (by role, then username), a prefix
    search on the username, the page number clamped."""
    from perisai.extensions import db
    from perisai.models import Branch, User
    with app.app_context():
        branch_id = db.session.scalars(select(Branch.id).where(Branch.code == "BDG01")).one()
        db.session.add_all(User(username=f"field{n:03d}", full_name=f"Agen {n}", role="agent",
                                branch_id=branch_id, agent_code=f"BDG01-9{n:04d}",
                                password_hash="x") for n in range(70))
        db.session.commit()
        total = db.session.query(User).count()
    auth.login("admin")

    def rows(path):
        html = client.get(path).get_data(as_text=True)
        return [row.find("a").get_text() for row in every(html, "tbody tr")], html

    first, html = rows("/admin/users")
    pages = -(-total // 50)
    assert len(first) == 50 and f"Halaman 1/{pages}" in html and "page=2" in html
    last, html = rows("/admin/users?page=99")
    assert len(last) == total - 50 * (pages - 1) and f"Halaman {pages}/{pages}" in html
    found, html = rows("/admin/users?q=field06")
    assert found == [f"field06{n}" for n in range(10)] and "Halaman" not in html
    assert rows("/admin/users?q=%25")[0] == []  # a wildcard is a character, not a pattern


def _many_branches(app, count: int) -> None:
    """`count` more branches (a national install has hundreds)."""
    with app.app_context():
        db.session.add_all(Branch(code=f"KC{n:04d}", name=f"Kantor Cabang Uji {n}",
                                  timezone="Asia/Jakarta", cash_limit=2_000_000)
                           for n in range(count))
        db.session.commit()


@pytest.mark.both_backends
def test_the_branch_list_comes_in_pages_and_finds_a_code_or_a_name(app, client, auth, backend):
    _many_branches(app, 120)
    with app.app_context():
        total = db.session.query(Branch).count()
    auth.login("admin")

    def codes(path):
        html = client.get(path).get_data(as_text=True)
        return [row.find("td").get_text() for row in every(html, "tbody tr")], html

    first, html = codes("/admin/branches")
    pages = -(-total // 50)
    assert first == sorted(first) and len(first) == 50
    assert f"Halaman 1/{pages}" in html and "page=2" in html
    last, html = codes("/admin/branches?page=99")
    assert len(last) == total - 50 * (pages - 1) and f"Halaman {pages}/{pages}" in html
    assert codes("/admin/branches?q=kc011")[0] == [f"KC011{n}" for n in range(10)]  # a code
    assert codes("/admin/branches?q=uji 7")[0] == ["KC0007"] + [f"KC007{n}" for n in range(10)]
    nothing, html = codes("/admin/branches?q=%25")  # a wildcard is a character
    assert nothing == ["Tidak ada cabang yang cocok."] and "Halaman" not in html


@pytest.mark.both_backends
def test_with_many_branches_the_forms_take_a_typed_branch_code(app, client, auth, backend):
    """Past 100 branches no form lists them all (two thousand options weigh 80 KB): the
    branch is typed as its code, in any case, and an unknown code is refused."""
    from perisai.queries.admin import BRANCH_CHOICES_MAX
    auth.login("admin")
    few = client.get("/admin/users").get_data(as_text=True)
    assert 'select id="branch" name="branch"' in few and 'value="MKS01"' in few
    _many_branches(app, BRANCH_CHOICES_MAX)
    for path in ("/admin/users", f"/admin/users/{user(app, 'agent2').id}", "/reports"):
        html = client.get(path).get_data(as_text=True)
        assert 'name="branch"' in html and "<option value=\"KC0001\"" not in html, path
        assert '<input id="branch" name="branch"' in html or path == "/reports"
        assert len(html) < 30_000, (path, len(html))
    response = post(client, "/admin/users", {"username": "agen.baru", "full_name": "Agen Baru",
                                             "role": "agent", "branch": " kc0042 ",
                                             "password": "rahasia-sekali-1"})
    assert response.status_code == 303
    assert user(app, "agen.baru").branch.code == "KC0042"
    refused = post(client, "/admin/users", {"username": "agen.lain", "full_name": "Agen Lain",
                                            "role": "agent", "branch": "XX999",
                                            "password": "rahasia-sekali-1"})
    assert refused.status_code in (404, 422) and "agen.lain" in refused.get_data(as_text=True)
    moved = post(client, f"/admin/users/{user(app, 'agent2').id}/move", {"branch": "kc0007"})
    assert moved.status_code == 303 and user(app, "agent2").branch.code == "KC0007"
    csv = client.get("/reports/agents.csv?branch=kc0007&month=2026-01")
    assert csv.status_code == 200
