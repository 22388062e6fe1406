"""English through Flask-Babel: the `lang` cookie picks the catalogue, Indonesian is the default,
and the committed catalogue is complete and compiled."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

import perisai

LC_MESSAGES = Path(perisai.__file__).parent / "translations" / "en" / "LC_MESSAGES"
HOST = "perisai.test"  # SERVER_NAME in tests; a cookie must carry it to be sent


def english(client):
    client.set_cookie("lang", "en", domain=HOST)


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


# Per page: (user or None, path, English strings that must show, Indonesian strings that must not)
PAGES = [
    (None, "/login", ["Log in", "Username", "Password", "public check page"], ["Kata sandi", "Nama pengguna"]),
    ("agent1", "/", ["Hello", "Cash on hand", "Received today", "Deposit cash at the branch", "Collect payment",
                     "Register worker"], ["Uang tunai di tangan", "Setor uang ke cabang"]),
    ("agent1", "/workers/new", ["Check documents and register", "1. Documents", "Full name", "Date of birth",
                                "I have checked the original KTP", "– choose –", "Male", "Register worker"],
     ["Periksa dokumen dan daftarkan", "Nama lengkap", "– pilih –"]),
    ("agent1", "/collect", ["Collect payment", "Payment code (12 digits)", "Find code"],
     ["Kode bayar (12 angka)", "Cari kode"]),
    ("supervisor1", "/supervisor/agents", ["Agents of branch", "Cash on hand", "Sort by", "This month",
                                           "Open the queue on the home page"],
     ["Agen cabang", "Buka antrean di beranda", "Urutkan"]),
    ("admin", "/admin", ["Overview", "Branch offices", "Rate rows", "Reports page", "Log out"],
     ["Kantor cabang", "Halaman laporan"]),
]


@pytest.mark.parametrize("user, path, shown, hidden", PAGES, ids=[p[1] for p in PAGES])
def test_pages_in_english_with_the_cookie(client, auth, user, path, shown, hidden):
    if user:
        auth.login(user)
    english(client)
    body = page(client, path)
    assert '<html lang="en">' in body
    for text in shown:
        assert text in body, (path, text)
    for text in hidden:
        assert text not in body, (path, text)
    assert "Bahasa Indonesia</button>" in body  # the switch offers the way back


@pytest.mark.parametrize("user, path, shown, hidden", PAGES, ids=[p[1] for p in PAGES])
def test_pages_in_indonesian_by_default(client, auth, user, path, shown, hidden):
    if user:
        auth.login(user)
    body = page(client, path)
    assert '<html lang="id">' in body
    for text in hidden:
        assert text in body, (path, text)
    assert "English</button>" in body


def test_unknown_language_falls_back_to_indonesian(client):
    client.set_cookie("lang", "fr", domain=HOST)
    body = page(client, "/login")
    assert '<html lang="id">' in body and "Kata sandi" in body


def test_language_switch_sets_the_cookie_and_redirects(client, auth):
    token = auth.token("/login")
    response = client.post("/lang", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/login")
    body = page(client, "/login")
    assert '<html lang="en">' in body and "Password" in body

    response = client.post("/lang", data={"lang": "id", "next": "/login", "csrf_token": token})
    assert response.status_code == 303
    body = page(client, "/login")
    assert '<html lang="id">' in body and "Kata sandi" in body


@pytest.mark.csrf
def test_language_switch_needs_the_csrf_token(client):
    response = client.post("/lang", data={"lang": "en", "next": "/login"})
    assert response.status_code == 400
    assert "Kata sandi" in page(client, "/login")  # no cookie was set


def test_error_page_in_english(client):
    english(client)
    response = client.get("/no-such-page")
    body = response.get_data(as_text=True)
    assert response.status_code == 404
    assert '<html lang="en">' in body and "Not found" in body and "Go to home" in body


def test_percent_escape_renders_once(client, auth):
    """`%%` in a template msgid renders as one `%` (Flask-Babel's newstyle gettext formats)."""
    auth.login("admin")
    assert "100 basis poin = 1% dari penghasilan." in page(client, "/admin/rates")
    english(client)
    assert "100 basis points = 1% of income." in page(client, "/admin/rates")


def test_lazy_form_labels_follow_the_cookie(client, auth):
    """`_l()` labels are made at import time but translated per request."""
    auth.login("agent1")
    english(client)
    assert "Monthly income (Rp)" in page(client, "/workers/new")
    client.set_cookie("lang", "id", domain=HOST)
    assert "Penghasilan sebulan (Rp)" in page(client, "/workers/new")


def test_domain_labels_follow_the_cookie(client, auth):
    """Fixed domain texts (checklist lines, statuses, occupations) are translated where shown;
    a text built with values (the age rule here) stays Indonesian."""
    from conftest import csrf_token
    auth.login("agent1")
    english(client)
    checklist = client.post("/workers/new/check", headers={"HX-Request": "true"}, data={
        "csrf_token": csrf_token(client, "/workers/new"), "nik": "3273015208950007",
        "birth_date": "1995-08-13", "sex": "F"}).get_data(as_text=True)
    for text in ("Original KTP checked", "Valid NIK (16 digits)",
                 "The date of birth does not match the NIK. Check the KTP again.",
                 "Enter the home address."):
        assert text in checklist, text
    assert "KTP asli sudah diperiksa" not in checklist and "Usia 15 sampai di bawah 65 tahun" not in checklist
    assert "Age 15 to under 65" in checklist  # a label with values, translated as a whole
    form = page(client, "/workers/new")
    assert "Farmer / smallholder" in form and "Petani / pekebun" not in form
    worker = page(client, "/workers")
    assert "Awaiting first payment" in worker or "Active" in worker or "In arrears" in worker
    client.set_cookie("lang", "id", domain=HOST)
    assert "Petani / pekebun" in page(client, "/workers/new")


def _catalog():
    with open(LC_MESSAGES / "messages.po", "rb") as f:
        return read_po(f, locale="en")


def test_every_message_is_translated():
    catalog = _catalog()
    messages = [m for m in catalog if m.id]
    assert len(messages) > 250
    untranslated = [m.id for m in messages
                    if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert untranslated == []
    assert [m.id for m in messages if m.fuzzy] == []


def test_compiled_catalogue_matches_the_po(tmp_path):
    catalog = _catalog()
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    fresh = read_mo(buffer)
    with open(LC_MESSAGES / "messages.mo", "rb") as f:
        committed = read_mo(f)

    def entries(cat):
        return {(m.context, m.id if not isinstance(m.id, list) else tuple(m.id)):
                tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
                for m in cat if m.id}

    assert entries(committed) == entries(fresh), "run `make translations` to recompile messages.mo"


def test_held_for_in_the_readers_language(app):
    """How long cash has been held (the agents' table), from the request's catalogue."""
    from perisai.templating import held_for
    with app.test_request_context("/", headers={"Cookie": "lang=en"}):
        assert held_for(27.5) == "1 d 3 h" and held_for(5) == "5 h"
    with app.test_request_context("/"):
        assert held_for(27.5) == "1 hari 3 jam" and held_for(0.5) == "< 1 jam"
        assert held_for(None) == "–"
