"""Who may open what: every route x every role, walked over real HTTP against seeded data.

MATRIX is the one table to edit when a route is added. Its key is the rule exactly as
`flask routes` prints it; for each method it gives the URL to request (placeholders come from the
seeded `world`), the form data for a POST, and the expected status for each role in ROLES order.
A POST is made with a valid CSRF token, and the database and session are restored after it, so
every cell is independent of the others. 302 for anonymous = sent to the login page.
"""
from __future__ import annotations

import re
import secrets
import shutil
import sqlite3
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from conftest import DEMO_PASSWORD, csrf_token
from helpers import (VALID, amount_of_bill, bill_code_from, collect_form, issue_bill, nik_for,
                     public_slip_url, receipt_from, register, worker_id_from)
from markup import one
from perisai.extensions import db

ROLES = ("anonymous", "agent1", "agent2", "agent3", "supervisor1", "supervisor2", "admin")


@dataclass(frozen=True)
class Case:
    url: str
    expected: tuple[int, ...]  # one status per role, in ROLES order
    data: dict = field(default_factory=dict)


def new_worker_form(world) -> dict:
    nik = nik_for(date(1990, 3, 4), "M", world.next_serial())
    return dict(VALID, nik=nik, sex="M", birth_date="1990-03-04", full_name="Budi Santoso")


def edit_form(world) -> dict:
    return {"phone": "0813 1111 2222", "address": "Jl. Braga 5, Bandung", "occupation": "ojek",
            "occupation2": "", "declared_income": "2.000.000", "programs": "2",
            "heir_name": "Asep Marlina", "heir_relation": "suami"}


#                   anon agent1 agent2 agent3 sup1 sup2 admin
EVERYONE_200 = (200, 200, 200, 200, 200, 200, 200)
LOGGED_IN_200 = (302, 200, 200, 200, 200, 200, 200)
AGENTS_ONLY = (302, 200, 200, 200, 403, 403, 403)
SUPERVISORS_ONLY = (302, 403, 403, 403, 200, 200, 403)
OWNER_AND_BRANCH_SUPERVISOR = (302, 200, 404, 404, 200, 404, 403)
BRANCH_SUPERVISOR_DECIDES = (302, 403, 403, 403, 303, 404, 403)
SUPERVISORS_AND_ADMIN = (302, 403, 403, 403, 200, 200, 200)
ADMIN_ONLY = (302, 403, 403, 403, 403, 403, 200)
ADMIN_DOES = (302, 403, 403, 403, 403, 403, 303)

MATRIX: dict[str, dict[str, Case]] = {
    "/": {"GET": Case("/", LOGGED_IN_200)},
    "/login": {
        "GET": Case("/login", (200, 302, 302, 302, 302, 302, 302)),
        "POST": Case("/login", (422, 302, 302, 302, 302, 302, 302),
                     {"username": "agent1", "password": "wrong-password"}),
    },
    "/logout": {"POST": Case("/logout", (302, 303, 303, 303, 303, 303, 303))},
    "/lang": {"POST": Case("/lang", (303,) * 7, {"lang": "en", "next": "/cek"})},
    "/admin": {"GET": Case("/admin", (302, 403, 403, 403, 403, 403, 200))},
    "/workers": {"GET": Case("/workers?q=rina", (302, 200, 200, 200, 200, 200, 403))},
    "/workers/new": {
        "GET": Case("/workers/new", AGENTS_ONLY),
        "POST": Case("/workers/new", (302, 303, 303, 303, 403, 403, 403), {"form": new_worker_form}),
    },
    "/workers/new/check": {"POST": Case("/workers/new/check", AGENTS_ONLY, {"nik": "3273015208950007"})},
    "/workers/<int:worker_id>": {"GET": Case("/workers/{worker_id}", OWNER_AND_BRANCH_SUPERVISOR)},
    "/workers/<int:worker_id>/edit": {
        "GET": Case("/workers/{worker_id}/edit", (302, 200, 404, 404, 403, 403, 403)),
        "POST": Case("/workers/{worker_id}/edit", (302, 303, 404, 404, 403, 403, 403),
                     {"form": edit_form}),
    },
    "/heir-changes/<int:heir_change_id>/approve": {
        "POST": Case("/heir-changes/{heir_change_id}/approve", BRANCH_SUPERVISOR_DECIDES,
                     {"note": "Dikonfirmasi lewat telepon"}),
    },
    "/heir-changes/<int:heir_change_id>/reject": {
        "POST": Case("/heir-changes/{heir_change_id}/reject", BRANCH_SUPERVISOR_DECIDES,
                     {"note": "Pekerja tidak tahu"}),
    },
    "/workers/<int:worker_id>/bills": {
        "POST": Case("/workers/{worker_id}/bills", (302, 303, 404, 404, 403, 403, 403), {"months": "1"}),
    },
    "/bills/<code>": {"GET": Case("/bills/{open_code}", OWNER_AND_BRANCH_SUPERVISOR)},
    "/collect": {
        "GET": Case("/collect?code={open_code}", (302, 200, 409, 409, 403, 403, 403)),
        "POST": Case("/collect", (302, 303, 409, 409, 403, 403, 403),
                     {"code": "{open_code}", "amount": "{open_amount}", "idempotency_key": "{fresh_key}"}),
    },
    "/receipts": {"GET": Case("/receipts?day={today}", AGENTS_ONLY)},
    "/collect/codes": {"GET": Case("/collect/codes", AGENTS_ONLY)},
    "/sw.js": {"GET": Case("/sw.js", EVERYONE_200)},
    "/outbox": {"GET": Case("/outbox", AGENTS_ONLY)},
    "/receipts/<number>": {"GET": Case("/receipts/{receipt}", OWNER_AND_BRANCH_SUPERVISOR)},
    "/supervisor": {"GET": Case("/supervisor", SUPERVISORS_ONLY)},
    "/supervisor/agents": {"GET": Case("/supervisor/agents", SUPERVISORS_ONLY)},
    "/supervisor/complaints": {"GET": Case("/supervisor/complaints", SUPERVISORS_ONLY)},
    "/supervisor/integrity": {"GET": Case("/supervisor/integrity", SUPERVISORS_ONLY)},
    "/complaints/<int:complaint_id>/resolve": {
        "POST": Case("/complaints/{complaint_id}/resolve", BRANCH_SUPERVISOR_DECIDES,
                     {"note": "Sudah dicek, uang disetor."}),
    },
    "/supervisor/agents/<username>": {
        "GET": Case("/supervisor/agents/agent1", (302, 403, 403, 403, 200, 404, 403)),
    },
    # An online collection waits for no look: the branch's supervisor is told so (409).
    "/supervisor/collections/<number>/seen": {
        "POST": Case("/supervisor/collections/{receipt}/seen", (302, 403, 403, 403, 409, 404, 403)),
    },
    "/deposits": {
        "POST": Case("/deposits", (302, 303, 422, 422, 403, 403, 403),
                     {"amount": "1000", "reference": "BRI-777", "idempotency_key": "{fresh_key}"}),
    },
    "/deposits/<int:deposit_id>/verify": {
        "POST": Case("/deposits/{deposit_id}/verify", BRANCH_SUPERVISOR_DECIDES, {"next": "/supervisor"}),
    },
    "/deposits/<int:deposit_id>/reject": {
        "POST": Case("/deposits/{deposit_id}/reject", BRANCH_SUPERVISOR_DECIDES,
                     {"reason": "Referensi bank tidak ditemukan"}),
    },
    "/receipts/<number>/reversal": {
        "POST": Case("/receipts/{receipt}/reversal", (302, 303, 404, 404, 403, 403, 403),
                     {"reason": "Salah kode, pekerja lain"}),
    },
    "/reversals/<int:reversal_id>/approve": {
        "POST": Case("/reversals/{reversal_id}/approve", BRANCH_SUPERVISOR_DECIDES, {"note": "ok"}),
    },
    "/reversals/<int:reversal_id>/reject": {
        "POST": Case("/reversals/{reversal_id}/reject", BRANCH_SUPERVISOR_DECIDES,
                     {"reason": "Pembayaran benar"}),
    },
    "/reports": {"GET": Case("/reports", SUPERVISORS_AND_ADMIN)},
    "/reports/collections.csv": {
        "GET": Case("/reports/collections.csv?branch=BDG01&from={month_start}&to={today}",
                    SUPERVISORS_AND_ADMIN),
        "POST": Case("/reports/collections.csv", ADMIN_ONLY,
                     {"branch": "BDG01", "from": "{month_start}", "to": "{today}"}),
    },
    "/reports/agents.csv": {"GET": Case("/reports/agents.csv?branch=BDG01&month={month}", SUPERVISORS_AND_ADMIN)},
    "/admin/branches": {
        "GET": Case("/admin/branches", ADMIN_ONLY),
        "POST": Case("/admin/branches", ADMIN_DOES, {"code": "JKT01", "name": "Kantor Cabang Jakarta",
                                                     "timezone": "Asia/Jakarta", "cash_limit": "2000000"}),
    },
    "/admin/branches/<int:branch_id>": {
        "GET": Case("/admin/branches/{branch_id}", ADMIN_ONLY),
        "POST": Case("/admin/branches/{branch_id}", ADMIN_DOES,
                     {"name": "Kantor Cabang Bandung", "timezone": "Asia/Jakarta", "cash_limit": "3000000"}),
    },
    "/admin/rates": {
        "GET": Case("/admin/rates", ADMIN_ONLY),
        "POST": Case("/admin/rates", (302, 403, 403, 403, 403, 403, 422), {"jkm_flat": "-1"}),
    },
    "/admin/sponsored": {
        "GET": Case("/admin/sponsored", ADMIN_ONLY),
        "POST": Case("/admin/sponsored", (302, 403, 403, 403, 403, 403, 422), {}),
    },
    "/admin/users": {
        "GET": Case("/admin/users", ADMIN_ONLY),
        "POST": Case("/admin/users", ADMIN_DOES, {"username": "agent9", "full_name": "Agen Baru",
                                                  "role": "agent", "branch": "BDG01",
                                                  "password": "password-123"}),
    },
    "/admin/users/<int:user_id>": {"GET": Case("/admin/users/{agent2_id}", ADMIN_ONLY)},
    "/admin/users/<int:user_id>/deactivate": {
        "POST": Case("/admin/users/{agent2_id}/deactivate", ADMIN_DOES, {}),
    },
    "/admin/users/<int:user_id>/reactivate": {
        "POST": Case("/admin/users/{agent2_id}/reactivate", (302, 403, 403, 403, 403, 403, 409), {}),
    },
    "/admin/users/<int:user_id>/password": {
        "POST": Case("/admin/users/{agent2_id}/password", ADMIN_DOES, {"password": "new-password-123"}),
    },
    "/admin/users/<int:user_id>/move": {
        "POST": Case("/admin/users/{agent2_id}/move", ADMIN_DOES, {"branch": "MKS01"}),
    },
    "/cek": {"GET": Case("/cek", EVERYONE_200)},
    "/healthz": {"GET": Case("/healthz", EVERYONE_200)},
    "/s/<token>": {"GET": Case("/s/{token}", EVERYONE_200)},
    "/verify": {"GET": Case("/verify?receipt={receipt}&birth_date=1995-08-12", EVERYONE_200)},
    "/status": {"GET": Case("/status?member={member}&birth_date=1995-08-12", EVERYONE_200)},
    "/sponsored": {"GET": Case("/sponsored?nik=3273015208950007", EVERYONE_200)},
    "/card/<token>": {"GET": Case("/card/{card_token}", EVERYONE_200)},
    "/program": {"GET": Case("/program", EVERYONE_200)},
    "/complaint": {
        "GET": Case("/complaint?receipt={receipt}", EVERYONE_200),
        "POST": Case("/complaint", (303,) * 7, {"receipt": "{receipt}", "birth_date": "1995-08-12",
                                                 "message": "Uang saya belum disetor agen."}),
    },
    "/complaint/<ticket>": {"GET": Case("/complaint/{ticket}", EVERYONE_200)},
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def app_rules(app) -> dict[str, set[str]]:
    rules: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        rules.setdefault(rule.rule, set()).update(set(rule.methods) - IGNORED_METHODS)
    return rules


def case_for(rule: str, method: str) -> Case:
    """The matrix row, or for a route not yet in the matrix (its own test fails) a plain request
    with its URL variables filled by 1."""
    case = MATRIX.get(rule, {}).get(method)
    if case is None:
        case = Case(re.sub(r"<(?:\w+:)?\w+>", "1", rule), ())
    return case


def test_every_route_is_in_the_matrix(app):
    rules = app_rules(app)
    missing = sorted(f"{method} {rule}" for rule, methods in rules.items()
                     for method in methods if method not in MATRIX.get(rule, {}))
    stale = sorted(f"{method} {rule}" for rule, methods in MATRIX.items()
                   for method in methods if method not in rules.get(rule, set()))
    assert not missing, f"routes missing from MATRIX in {__file__}: {missing}"
    assert not stale, f"MATRIX rows for routes that no longer exist: {stale}"
    print(f"\naccess matrix: {len(MATRIX)} rules, "
          f"{sum(len(m) for m in MATRIX.values())} rule×method rows, {len(ROLES)} roles")


# --- the seeded world -------------------------------------------------------------------------

class World(dict):
    """Ids, codes and tokens of the seeded data, as URL placeholders."""

    serial = 100

    def next_serial(self) -> int:
        World.serial += 1
        return World.serial

    def fill(self, text: str) -> str:
        def value(match):
            name = match.group(1)
            if name == "fresh_key":
                return secrets.token_urlsafe(24)
            return str(self[name])
        return re.sub(r"\{(\w+)\}", value, text)


def build_world(client, auth) -> World:
    """As agent1: a registered worker, one paid month (a receipt) and an open code."""
    world = World()
    assert auth.login("agent1").status_code == 303
    response = register(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    worker_id = worker_id_from(response)
    code = bill_code_from(issue_bill(client, worker_id, 1))
    form = collect_form(client, code)
    response = client.post("/collect", data=dict(form, amount=str(amount_of_bill(client, code))))
    assert response.status_code == 303, response.get_data(as_text=True)
    receipt = receipt_from(response)
    slip = client.get(f"/receipts/{receipt}").get_data(as_text=True)
    token = public_slip_url(slip).split("/s/", 1)[1]
    open_code = bill_code_from(issue_bill(client, worker_id, 1))
    page = client.get(f"/workers/{worker_id}").get_data(as_text=True)
    member = re.search(r"\b(\d{11})\b", page.replace(" ", "")).group(1)
    world.update(worker_id=worker_id, receipt=receipt, token=token, open_code=open_code,
                 open_amount=amount_of_bill(client, open_code), member=member,
                 paid_code=code, username="agent1")
    extend_world(client, world)
    extend_world_member_data(client, world)
    auth.logout()
    return world


def extend_world(client, world: World) -> None:
    """Seeded data of the supervision and admin routes: a second paid worker whose payment has a
    pending reversal, a pending deposit, and the ids the admin pages need."""
    from perisai.domain.clock import local_today
    from perisai.models import Branch, Deposit, Reversal, User
    from sqlalchemy import select
    nik = nik_for(date(1988, 6, 9), "M", 77)
    response = register(client, nik=nik, sex="M", birth_date="1988-06-09", full_name="Ujang Sutisna")
    assert response.status_code == 303, response.get_data(as_text=True)
    code = bill_code_from(issue_bill(client, worker_id_from(response), 1))
    response = client.post("/collect", data=dict(collect_form(client, code),
                                                  amount=str(amount_of_bill(client, code))))
    second = receipt_from(response)
    token = csrf_token(client, f"/receipts/{second}")
    response = client.post(f"/receipts/{second}/reversal", data={"reason": "Salah kode bayar",
                                                                   "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    response = client.post("/deposits", data={"amount": "5000", "reference": "BRI-001",
                                              "idempotency_key": secrets.token_urlsafe(24),
                                              "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    app = client.application
    with app.app_context():
        session = db.session
        from perisai.commands import SYSTEM
        from perisai.commands.complaints import file_complaint
        from perisai.models import Collection
        paid = session.scalars(select(Collection).where(
            Collection.receipt_number == world["receipt"])).one()
        complaint = file_complaint(session, worker=paid.worker, collection=paid,
                                   message="Uang saya belum disetor agen.", phone=None,
                                   actor=SYSTEM)
        world.update(
            deposit_id=session.scalar(select(Deposit.id).where(Deposit.reference == "BRI-001")),
            reversal_id=session.scalar(select(Reversal.id)),
            complaint_id=complaint.id, ticket=complaint.ticket,
            agent2_id=session.scalar(select(User.id).where(User.username == "agent2")),
            branch_id=session.scalar(select(Branch.id).where(Branch.code == "BDG01")),
            reversed_receipt=second)
        today = local_today("Asia/Jakarta")
        world.update(today=today.isoformat(), month_start=today.replace(day=1).isoformat(),
                     month=today.strftime("%Y-%m"))
        session.remove()


def extend_world_member_data(client, world: World) -> None:
    """A change of heir of the first worker waiting for the supervisor, and its card's token."""
    from perisai.models import HeirChange
    from sqlalchemy import select
    page = client.get(f"/workers/{world['worker_id']}")
    world["card_token"] = one(page, "a#card-link")["href"].split("/card/", 1)[1]
    response = client.post(f"/workers/{world['worker_id']}/edit", data=dict(
        edit_form(world), heir_name="Dewi Lestari", heir_relation="anak",
        csrf_token=csrf_token(client, f"/workers/{world['worker_id']}/edit")))
    assert response.status_code == 303, response.get_data(as_text=True)
    with client.application.app_context():
        world["heir_change_id"] = db.session.scalar(select(HeirChange.id))
        db.session.remove()


def sqlite_path(app) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


class Snapshot:
    """A copy of the SQLite file to put back after each POST, so cells do not affect each other."""

    def __init__(self, app, folder: Path):
        self.app = app
        self.path = sqlite_path(app)
        self.copy = folder / "snapshot.sqlite3"
        self._release()
        # Closed, not only committed (`with` does not close): a connection left open keeps the
        # old shared-memory file mapped, and writes after a restore then fail ("disk I/O error").
        conn = sqlite3.connect(self.path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            conn.close()
        shutil.copy(self.path, self.copy)

    def _release(self):
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()

    def restore(self):
        self._release()
        for suffix in ("-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        shutil.copy(self.copy, self.path)


def login_as(client, role: str) -> None:
    if role == "anonymous":
        return
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"username": role, "password": DEMO_PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303, f"login as {role} failed"


def restore_cookie(client, cookie) -> None:
    """Put the session cookie back as it was before a POST (a logout clears it)."""
    if cookie is None:
        client.delete_cookie("session", domain="perisai.test")
        return
    client.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path,
                      origin_only=cookie.origin_only)


def post_data(case: Case, world: World, token: str) -> dict:
    data = {}
    for name, value in case.data.items():
        if callable(value):
            data.update(value(world))
        else:
            data[name] = world.fill(value)
    data["csrf_token"] = token
    return data


def walk(app, client, auth, tmp_path, role: str, methods=("GET", "POST")) -> list[str]:
    world = build_world(client, auth)
    client = app.test_client()
    login_as(client, role)
    token = csrf_token(client, "/cek")
    session_cookie = client.get_cookie("session", domain="perisai.test")
    # After the login: the snapshot holds its server-side session, which a restore brings back.
    snapshot = Snapshot(app, tmp_path)
    column = ROLES.index(role)
    wrong = []
    for rule, cases in MATRIX.items():
        for method, case in cases.items():
            if method not in methods:
                continue
            url = world.fill(case.url)
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data=post_data(case, world, token))
            response.get_data()  # a streamed CSV is read to its end, as a browser would
            response.close()
            expected = case.expected[column]
            if response.status_code != expected:
                wrong.append(f"{method} {url} as {role}: {response.status_code}, expected {expected}")
            if method == "POST":
                snapshot.restore()
                restore_cookie(client, session_cookie)
    return wrong


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app, client, auth, tmp_path, role):
    wrong = walk(app, client, auth, tmp_path, role)
    assert not wrong, "\n".join(wrong)


def test_method_not_allowed_on_get_only_routes(app, client, auth):
    login_as(client, "agent1")
    token = csrf_token(client, "/cek")
    for rule, cases in MATRIX.items():
        if "POST" not in cases and "<" not in rule:
            assert client.post(rule, data={"csrf_token": token}).status_code == 405, rule
