"""Issue 2 over HTTP: login walls, document check + registration, worker list and page, scope."""
import html as html_lib

import pytest
from sqlalchemy import func, select

from conftest import Auth, csrf_token
from helpers import VALID, nik_for, register, worker_id_from
from markup import field_value, has, one, parse, text_of
from perisai.domain.codes import is_well_formed
from perisai.extensions import db
from perisai.models import Heir, Worker

HX = {"HX-Request": "true"}
ASEP_NIK = "3273011708850001"  # demo worker of agent1 (BDG01)
SYAMSUL_NIK = "7371011212880004"  # demo worker of agent3 (MKS01)


def count_workers(app, **where) -> int:
    with app.app_context():
        query = select(func.count(Worker.id))
        for column, value in where.items():
            query = query.where(getattr(Worker, column) == value)
        return db.session.scalar(query)


def worker_by_nik(app, nik: str) -> Worker | None:
    with app.app_context():
        worker = db.session.scalars(select(Worker).where(Worker.nik == nik)).first()
        if worker is not None:
            db.session.expunge(worker)
        return worker


def text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def is_full_page(body: str) -> bool:
    return body.lstrip().lower().startswith("<!doctype html>") and "</html>" in body


def selected(body: str, name: str) -> str | None:
    """The chosen value of a <select> or of a group of radio buttons."""
    option = parse(body).select_one(f'select[name="{name}"] option[selected], '
                                    f'input[type="radio"][name="{name}"][checked]')
    return None if option is None else option["value"]


def login_client(app, username: str):
    """A separate browser for each user (logging out needs a page that every role can open)."""
    client = app.test_client()
    assert Auth(client).login(username).status_code == 303
    return client


@pytest.fixture
def agent1(auth):
    assert auth.login("agent1").status_code == 303
    return auth


# ---------------------------------------------------------------- login walls

PROTECTED = ["/", "/workers", "/workers?q=rina", "/workers/new", "/workers/1", "/collect",
             "/collect?code=123456789012", "/bills/123456789012", "/receipts/123456789012"]


@pytest.mark.parametrize("path", PROTECTED)
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login") or "/login?" in location
    assert "next=" in location


@pytest.mark.parametrize("path", PROTECTED)
def test_anonymous_htmx_gets_hx_redirect_not_a_login_form(client, path):
    response = client.get(path, headers=HX)
    assert response.status_code == 401
    assert "/login" in response.headers["HX-Redirect"]
    assert "password" not in response.get_data(as_text=True)


def test_login_returns_to_the_page_asked_for(client):
    response = client.get("/workers?q=rina")
    login_url = response.headers["Location"]
    token = csrf_token(client)
    from conftest import DEMO_PASSWORD
    response = client.post(login_url, data={"username": "agent1", "password": DEMO_PASSWORD,
                                            "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/workers?q=rina")


def test_wrong_password_is_422(client):
    token = csrf_token(client)
    response = client.post("/login", data={"username": "agent1", "password": "nope",
                                           "csrf_token": token})
    assert response.status_code == 422
    assert "salah" in text(response)


def test_anonymous_post_to_registration_is_refused(client):
    response = client.post("/workers/new", data=dict(VALID))
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert count_workers(client.application, nik=VALID["nik"]) == 0


@pytest.mark.parametrize("user", ["supervisor1", "admin"])
def test_only_agents_register(client, auth, user):
    auth.login(user)
    assert client.get("/workers/new").status_code == 403
    token = auth.token("/cek")
    response = client.post("/workers/new", data=dict(VALID, csrf_token=token))
    assert response.status_code == 403
    assert count_workers(client.application, nik=VALID["nik"]) == 0


# ---------------------------------------------------------------- registration form

def test_registration_form_renders_with_every_contract_field(client, agent1):
    for headers in ({}, HX):
        response = client.get("/workers/new", headers=headers)
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        form = one(body, 'form[method="post"][action="/workers/new"]')
        for name in ("nik", "full_name", "birth_date", "sex", "phone", "address", "occupation",
                     "declared_income", "programs", "heir_name", "heir_relation", "doc_ktp",
                     "doc_kk", "consent"):
            assert has(form, f'[name="{name}"]'), name
        assert form["hx-post"] == "/workers/new/check"


@pytest.mark.both_backends
def test_registration_creates_worker_and_redirects_303(client, agent1, app):
    response = register(client)
    assert response.status_code == 303
    worker_id = worker_id_from(response)
    worker = worker_by_nik(app, VALID["nik"])
    assert worker.id == worker_id
    assert len(worker.member_number) == 11 and is_well_formed(worker.member_number, 11)
    assert worker.paid_through is None and worker.programs == 3
    assert worker.declared_income == 1_000_000 and worker.phone == "081234567890"
    with app.app_context():
        assert db.session.scalar(select(func.count(Heir.id)).where(Heir.worker_id == worker_id)) == 1
    page = text(client.get(f"/workers/{worker_id}"))
    assert "Menunggu pembayaran pertama" in page
    assert worker.member_number in page and "Asep Marlina" in page and "JKK, JKM, JHT" in page
    assert "Rp1.000.000" in page


def test_registration_with_htmx_answers_with_the_worker_page_in_one_round_trip(client, agent1, app):
    data = dict(VALID, csrf_token=csrf_token(client, "/workers/new"))
    response = client.post("/workers/new", data=data, headers=HX)
    assert response.status_code == 200
    worker = worker_by_nik(app, VALID["nik"])
    assert response.headers["HX-Push-Url"] == f"/workers/{worker.id}"
    assert "HX-Redirect" not in response.headers
    body = text(response)
    main = text_of(one(body, "main#main"))
    assert worker.member_number in main and "Rina Marlina" in main


def test_live_check_returns_only_the_checklist(client, agent1, app):
    token = csrf_token(client, "/workers/new")
    response = client.post("/workers/new/check", headers=HX,
                           data={"csrf_token": token, "nik": "3273015208950007",
                                 "birth_date": "1995-08-13", "sex": "F"})
    assert response.status_code == 200
    body = text(response)
    assert not is_full_page(body) and body.lstrip().startswith('<div id="checklist"')
    assert "Tanggal lahir tidak cocok dengan NIK" in body
    assert "Periksa KTP asli pekerja" in body and "Isi nomor HP aktif" in body
    assert "Belum lengkap" in body
    complete = client.post("/workers/new/check", headers=HX, data=dict(VALID, csrf_token=token))
    assert "Lengkap dan cocok" in text(complete)
    # The live check never registers anyone.
    assert count_workers(app, nik=VALID["nik"]) == 0


@pytest.mark.csrf
def test_live_check_without_htmx_and_without_token(client, agent1):
    token = csrf_token(client, "/workers/new")
    plain = client.post("/workers/new/check", data={"csrf_token": token, "nik": "abc"})
    assert plain.status_code == 200 and "hanya boleh berisi angka" in text(plain)
    assert client.post("/workers/new/check", data={"nik": "abc"}, headers=HX).status_code == 400


def test_live_check_names_existing_registration(client, agent1):
    token = csrf_token(client, "/workers/new")
    body = text(client.post("/workers/new/check", headers=HX, data=dict(
        VALID, csrf_token=token, nik=ASEP_NIK, birth_date="1985-08-17", sex="M")))
    assert "sudah terdaftar" in body and "Kantor Cabang Bandung Suci" in body


# ---------------------------------------------------------------- bad input

BAD_INPUT = [
    ({"nik": "32730152089500AB"}, "NIK hanya boleh berisi angka"),
    ({"nik": "32730152089500071"}, "NIK harus 16 angka (yang diisi 17 angka)"),
    ({"birth_date": "1995-02-31"}, "Tanggal lahir tidak ada di kalender"),
    ({"declared_income": "abc"}, "Penghasilan harus berupa angka rupiah"),
    ({"occupation": "astronot"}, "Pekerjaan tidak ada dalam daftar"),
    ({"declared_income": "500.000"}, "Penghasilan paling sedikit Rp1.000.000"),
    ({"phone": "12345"}, "Nomor HP tidak seperti nomor seluler Indonesia"),
    ({"programs": "9"}, "Program harus 2 (JKK, JKM) atau 3"),
    ({"consent": ""}, "Bacakan pernyataan persetujuan"),
    ({"doc_kk": ""}, "Periksa Kartu Keluarga pekerja"),
    ({"heir_name": ""}, "Isi nama dan hubungan ahli waris"),
]


@pytest.mark.parametrize("changes, message", BAD_INPUT)
def test_bad_input_is_422_with_reason_and_other_input_kept(client, agent1, app, changes, message):
    before = count_workers(app)
    response = register(client, **changes)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert message in html_lib.unescape(body)
    assert is_full_page(body)
    # The agent's other input is still on the form.
    for name in ("full_name", "address", "heir_name", "phone", "nik", "declared_income"):
        if name not in changes:
            assert field_value(body, name) == VALID[name], name
    for name in ("sex", "programs", "heir_relation", "occupation"):
        if name not in changes:
            assert selected(body, name) == VALID[name], name
    assert "consent" in changes or one(body, 'input[name="consent"]').has_attr("checked")
    assert count_workers(app) == before


@pytest.mark.both_backends
def test_five_megabyte_field_is_422_and_not_echoed(client, agent1, app):
    before = count_workers(app)
    huge = "x" * (5 * 1024 * 1024)
    response = register(client, address=huge)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert len(body) < 100_000
    assert "x" * 400 not in body
    assert "terlalu panjang" in body
    assert field_value(body, "full_name") == VALID["full_name"]
    assert count_workers(app) == before


def test_five_megabyte_nik_is_422(client, agent1, app):
    before = count_workers(app)
    response = register(client, nik="3" * (5 * 1024 * 1024))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert len(body) < 100_000 and "3" * 100 not in body
    assert "NIK terlalu panjang" in body
    assert count_workers(app) == before


def test_five_megabyte_live_check_is_not_echoed(client, agent1):
    token = csrf_token(client, "/workers/new")
    response = client.post("/workers/new/check", headers=HX,
                           data=dict(VALID, csrf_token=token, full_name="y" * (5 * 1024 * 1024)))
    assert response.status_code == 200
    assert len(response.get_data()) < 50_000


@pytest.mark.parametrize("changes, message", [
    ({"birth_date": "1995-08-13"}, "Tanggal lahir tidak cocok dengan NIK"),
    ({"sex": "M"}, "Jenis kelamin tidak cocok dengan NIK"),
])
def test_nik_mismatch_is_422(client, agent1, app, changes, message):
    response = register(client, **changes)
    assert response.status_code == 422
    assert message in text(response)
    assert count_workers(app, nik=VALID["nik"]) == 0


def test_age_65_or_more_is_refused(client, agent1, app):
    from perisai.domain.clock import local_today
    today = local_today("Asia/Jakarta")
    # Exactly 65 today (a 29 February birthday is taken as the 28th in a common year).
    born = today.replace(year=today.year - 65, day=28) if (today.month, today.day) == (2, 29) \
        else today.replace(year=today.year - 65)
    nik = nik_for(born, "F", 7)
    response = register(client, nik=nik, birth_date=born.isoformat())
    assert response.status_code == 422
    assert "pendaftaran hanya untuk usia di bawah 65 tahun" in text(response)
    assert count_workers(app, nik=nik) == 0
    # One day younger is still allowed.
    from datetime import timedelta
    younger = born + timedelta(days=1)
    response = register(client, nik=nik_for(younger, "F", 8), birth_date=younger.isoformat())
    assert response.status_code == 303


@pytest.mark.both_backends
@pytest.mark.parametrize("username", ["agent2", "agent3"])
def test_duplicate_nik_names_branch_and_agent_masked(client, auth, app, username):
    auth.login(username)
    response = register(client, nik=ASEP_NIK, birth_date="1985-08-17", sex="M")
    assert response.status_code == 422  # the checklist says so (409 is for a race, see test_concurrency)
    body = text(response)
    asep = worker_by_nik(app, ASEP_NIK)
    assert "NIK ini sudah terdaftar" in body
    assert asep.member_number not in body
    if username == "agent2":  # the same branch: who registered it, the number masked
        assert "Kantor Cabang Bandung Suci" in body and "Siti Aminah" in body
        assert f"{asep.member_number[:3]}…{asep.member_number[-3:]}" in body
    else:  # another branch: only that it is registered elsewhere (issue 11, finding 4)
        assert "kantor cabang lain" in body
        assert "Kantor Cabang Bandung Suci" not in body and "Siti Aminah" not in body
        assert f"{asep.member_number[:3]}…" not in body
    assert count_workers(app, nik=ASEP_NIK) == 1


@pytest.mark.both_backends
def test_double_submit_by_same_agent_lands_on_existing_worker(client, agent1, app):
    first = register(client)
    assert first.status_code == 303
    second = register(client)
    assert second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert count_workers(app, nik=VALID["nik"]) == 1


def test_another_agent_cannot_land_on_that_worker(app):
    first = register(login_client(app, "agent1"))
    other = login_client(app, "agent2")
    second = register(other)
    assert second.status_code == 422
    assert "Location" not in second.headers and "HX-Redirect" not in second.headers
    assert worker_by_nik(app, VALID["nik"]).member_number not in text(second)
    assert count_workers(app, nik=VALID["nik"]) == 1
    assert other.get(first.headers["Location"]).status_code == 404


def test_double_submit_after_the_window_is_refused(client, agent1, app):
    from datetime import timedelta
    first = register(client)
    with app.app_context():
        worker = db.session.scalars(select(Worker).where(Worker.nik == VALID["nik"])).one()
        worker.registered_at -= timedelta(hours=1)
        db.session.commit()
    second = register(client)
    assert second.status_code == 422
    assert "NIK ini sudah terdaftar" in text(second)
    assert count_workers(app, nik=VALID["nik"]) == 1
    assert first.status_code == 303


# ---------------------------------------------------------------- scope

@pytest.fixture
def rina(app):
    """Rina, registered by agent1 of BDG01."""
    response = register(login_client(app, "agent1"))
    assert response.status_code == 303
    return worker_id_from(response)


@pytest.mark.both_backends
@pytest.mark.parametrize("username", ["agent2", "agent3", "supervisor2"])
def test_outsiders_cannot_open_the_worker(app, rina, username):
    client = login_client(app, username)
    for headers in ({}, HX):
        response = client.get(f"/workers/{rina}", headers=headers)
        assert response.status_code == 404
        body = text(response)
        assert "Rina" not in body and VALID["nik"] not in body and "0812" not in body
    listing = text(client.get("/workers?q=rina"))
    assert "Rina Marlina" not in listing
    assert "Rina Marlina" not in text(client.get(f"/workers?q={VALID['nik']}"))


def test_admin_cannot_open_worker_pages(app, rina):
    client = login_client(app, "admin")
    assert client.get(f"/workers/{rina}").status_code == 403
    assert client.get("/workers").status_code == 403


@pytest.mark.parametrize("username", ["agent1", "supervisor1"])
def test_owner_and_branch_supervisor_see_the_full_nik(app, rina, username):
    client = login_client(app, username)
    response = client.get(f"/workers/{rina}")
    assert response.status_code == 200
    body = text(response)
    assert VALID["nik"] in body and "Rina Marlina" in body
    listing = text(client.get("/workers?q=rina"))
    assert "Rina Marlina" in listing


def test_only_the_owner_agent_can_issue_a_bill_from_the_page(app, rina):
    bill_form = f'form[method="post"][action="/workers/{rina}/bills"]'
    assert not has(login_client(app, "supervisor1").get(f"/workers/{rina}"), bill_form)
    assert has(login_client(app, "agent1").get(f"/workers/{rina}"), bill_form)


@pytest.mark.parametrize("path", ["/workers/999999", "/workers/0", "/workers/abc", "/workers/-1"])
def test_unknown_worker_is_404(client, agent1, path):
    assert client.get(path).status_code == 404


# ---------------------------------------------------------------- list and search

def test_worker_list_page_and_fragment(client, agent1):
    page = client.get("/workers")
    assert page.status_code == 200
    assert "HX-Request" in page.headers.get("Vary", "")
    body = text(page)
    assert is_full_page(body) and has(body, "#results") and has(body, 'form input[name="q"]')
    assert "Asep Saepudin" in body and "Euis Komariah" in body
    assert "Dadang Suherman" not in body  # agent2's
    assert "Syamsul Bahri" not in body  # another branch
    fragment = client.get("/workers", headers=HX)
    assert fragment.status_code == 200
    assert "HX-Request" in fragment.headers.get("Vary", "")
    fbody = text(fragment)
    assert not is_full_page(fbody) and "<form" not in fbody
    assert "Asep Saepudin" in fbody
    # A boosted request is a navigation: it gets the whole page.
    boosted = client.get("/workers", headers={"HX-Request": "true", "HX-Boosted": "true"})
    assert is_full_page(text(boosted))


def test_supervisor_sees_the_whole_branch_only(app):
    body = text(login_client(app, "supervisor1").get("/workers"))
    assert "Asep Saepudin" in body and "Dadang Suherman" in body
    assert "Syamsul Bahri" not in body
    body = text(login_client(app, "supervisor2").get("/workers"))
    assert "Syamsul Bahri" in body and "Asep Saepudin" not in body


@pytest.mark.both_backends
def test_search_by_name_part_nik_and_member_number(client, agent1, app):
    register(client)
    rina = worker_by_nik(app, VALID["nik"])
    cases = {
        "rin": True, "RINA MAR": True, "  rina   marlina ": True, "marlina": True,  # any part
        VALID["nik"]: True, "3273 0152 0895 0007": True, rina.member_number: True,
        VALID["nik"][:-1] + "9": False, "zzz": False,
    }
    for q, found in cases.items():
        for headers in ({}, HX):
            body = text(client.get("/workers", query_string={"q": q}, headers=headers))
            assert ("Rina Marlina" in body) is found, (q, headers)
            if found:
                assert "Asep Saepudin" not in body, q
    empty = text(client.get("/workers", query_string={"q": "zzz"}))
    assert "Tidak ada pekerja yang cocok" in empty and "zzz" in empty


def test_search_cannot_reach_other_agents_workers_by_number(client, agent1, app):
    dadang = worker_by_nik(app, "3273020101800003")
    for q in ("3273020101800003", dadang.member_number, "dadang"):
        assert "Dadang" not in text(client.get("/workers", query_string={"q": q}))


def test_search_with_markup_and_huge_query(client, agent1):
    body = client.get("/workers", query_string={"q": "<script>alert(1)</script>"}).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in body
    response = client.get("/workers", query_string={"q": "a" * 100_000})
    assert response.status_code == 200
    assert "a" * 100 not in response.get_data(as_text=True)


@pytest.mark.both_backends
def test_pagination(client, agent1, app):
    register(client)
    app.config["WORKERS_PER_PAGE"] = 2
    first = text(client.get("/workers"))
    assert "Asep Saepudin" in first and "Euis Komariah" in first and "Rina Marlina" not in first
    assert "page=2" in first and "Berikutnya" in first
    second = text(client.get("/workers?page=2"))
    assert "Rina Marlina" in second and "Asep Saepudin" not in second
    assert "Berikutnya" not in second and "Sebelumnya" in second
    fragment = text(client.get("/workers?page=2", headers=HX))
    assert "Rina Marlina" in fragment and not is_full_page(fragment)
    # The search term is kept across pages.
    app.config["WORKERS_PER_PAGE"] = 1
    page_one = text(client.get("/workers?q=e"))
    assert "Euis Komariah" in page_one
    assert "q=e" in page_one and "page=2" not in page_one  # only one match
    for odd in ("0", "-3", "abc", "99999999999"):
        response = client.get(f"/workers?page={odd}")
        assert response.status_code == 200, odd


def test_login_page_and_logout(client, auth):
    for headers in ({}, HX):
        response = client.get("/login", headers=headers)
        assert response.status_code == 200
        body = text(response)
        form = one(body, 'form[method="post"]:has(input[name="password"])')
        assert has(form, 'input[name="username"]') and has(form, 'input[name="password"]')
    auth.login("agent1")
    assert client.get("/login").status_code == 302  # already in
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/workers")})
    assert response.status_code == 303 and "/login" in response.headers["Location"]
    assert client.get("/workers").status_code == 302
    response = client.post("/logout", data={})
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_worker_page_with_htmx_header_is_still_the_worker_page(app, rina):
    client = login_client(app, "agent1")
    response = client.get(f"/workers/{rina}", headers=HX)
    assert response.status_code == 200
    assert "Rina Marlina" in text(response) and VALID["nik"] in text(response)
