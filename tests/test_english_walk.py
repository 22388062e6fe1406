"""With English chosen, every page of every role reads in English: the access matrix's routes are
walked (GET pages, and POSTs followed to the page they lead to, including their error answers)
and the visible text, placeholders, labels and titles are searched for common Indonesian words.

Data typed by people stays as typed (names, branch names, reasons) and is left out by
`DATA_TEXT`; the CSV reports keep Indonesian column headers (README: "Reports") and are not
pages, so they are not walked."""
from __future__ import annotations

import re

import pytest

from conftest import csrf_token
from markup import parse
from test_access_matrix import (MATRIX, ROLES, Snapshot, build_world, login_as, post_data,
                                restore_cookie)

HOST = "perisai.test"

# Words that appear in almost any Indonesian sentence of this app and in no English one.
INDONESIAN = {
    "yang", "dan", "untuk", "dengan", "belum", "sudah", "tidak", "bulan", "pembayaran", "bayar",
    "kode", "uang", "setoran", "tunai", "hari", "menunggu", "peserta", "pekerja", "agen", "ini",
    "atau", "dari", "pada", "ke", "di", "akan", "harus", "kembali", "masuk", "keluar", "simpan",
    "daftar", "terima", "tanggal", "lahir", "nama", "alamat", "jumlah", "bukti", "cetak",
    "tautan", "salin", "tolak", "setujui", "alasan", "catatan", "laporan", "pengguna", "sandi",
    "tarif", "iuran", "aktif", "menunggak", "berhenti", "lunas", "dibatalkan", "pembatalan",
    "verifikasi", "diverifikasi", "ditolak", "baru", "semua", "cari", "periksa", "lengkap",
    "minggu", "tahun", "sejak", "sampai", "hingga", "oleh", "bisa", "dapat", "lagi", "kami",
}

# Text that is data, not interface: names and places the seed and the tests typed.
DATA_TEXT = [
    r"Kantor Cabang \w+", r"Budi Santoso", r"Ujang Sutisna", r"Agen Baru", r"Salah kode, pekerja lain",
    r"Pembayaran benar", r"Referensi bank tidak ditemukan", r"Salah kode bayar", r"Bahasa Indonesia",
    r"Iuran Peserta Bukan Penerima Upah", r"Uang saya belum disetor agen\.?",
    r"Jl\. [^\n]*", r"Perdir [^\n]*", r"PP \d+/\d+",
]


def visible_words(html: str) -> str:
    soup = parse(html)
    for element in soup(["script", "style", "template", "noscript"]):
        element.decompose()
    for element in soup.select("[lang]:not(html)"):  # text marked as another language on purpose
        element.decompose()
    parts = [soup.get_text(" ")]
    for attribute in ("placeholder", "aria-label", "title", "alt"):
        parts += [element[attribute] for element in soup.select(f"[{attribute}]")]
    text = " ".join(parts)
    for pattern in DATA_TEXT:
        text = re.sub(pattern, " ", text)
    return text


def indonesian_words(html: str) -> list[str]:
    text = visible_words(html)
    return sorted({word for word in re.findall(r"[A-Za-z]+", text) if word.lower() in INDONESIAN})


def in_context(html: str, words: list[str]) -> str:
    """Where the first few words stand in the page's text, to find them in the code."""
    text = " ".join(visible_words(html).split())
    spots = []
    for word in words[:3]:
        at = re.search(rf"\b{word}\b", text)
        if at:
            spots.append("«…" + text[max(0, at.start() - 40):at.end() + 40] + "…»")
    return " ".join(spots)


def checked(response) -> bool:
    return response.mimetype == "text/html" and response.status_code in (200, 403, 404, 409, 422)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_every_page_reads_in_english(app, client, auth, tmp_path, role):
    world = build_world(client, auth)
    client = app.test_client()
    client.set_cookie("lang", "en", domain=HOST)
    login_as(client, role)
    token = csrf_token(client, "/cek")
    session_cookie = client.get_cookie("session", domain=HOST)
    # After the login: the snapshot holds its server-side session, which a restore brings back.
    snapshot = Snapshot(app, tmp_path)
    found, pages = [], 0
    for rule, cases in MATRIX.items():
        for method, case in cases.items():
            url = world.fill(case.url)
            if ".csv" in url:
                continue
            if method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data=post_data(case, world, token), follow_redirects=True)
            body = response.get_data(as_text=True)
            response.close()
            if checked(response):
                pages += 1
                assert '<html lang="en">' in body or "<html" not in body, (method, url)
                words = indonesian_words(body)
                if words:
                    found.append(f"{method} {url} ({response.status_code}): {', '.join(words)} "
                                 f"{in_context(body, words)}")
            if method == "POST":
                snapshot.restore()
                restore_cookie(client, session_cookie)
                client.set_cookie("lang", "en", domain=HOST)
    assert pages > 5
    assert not found, "Indonesian words on English pages:\n" + "\n".join(found)


def test_the_walk_catches_indonesian():
    """The check itself: an Indonesian sentence is caught, an English one with data is not."""
    assert indonesian_words("<p>Kode bayar belum dibayar</p>") == ["Kode", "bayar", "belum"]
    assert indonesian_words("<p>Paid by Budi Santoso at Kantor Cabang Bandung</p>") == []
    assert indonesian_words('<p>Hello <span lang="id">Terima kasih</span></p>') == []
    assert indonesian_words('<input placeholder="Nama lengkap">') == ["Nama", "lengkap"]
