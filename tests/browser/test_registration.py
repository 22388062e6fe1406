"""Issue 2 in a real browser: agent1 checks a worker's documents and registers them on a phone."""
import re
from datetime import date

import pytest

from helpers import nik_for

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect


def checklist_item(page, label: str):
    """The live checklist's line whose text starts with `label` (message text follows it)."""
    return page.locator("#checklist li").filter(has_text=re.compile("^" + re.escape(label)))


def test_agent_registers_a_worker_watching_the_live_checklist(new_page, login, shoot, live_server):
    birth = date(1992, 3, 21)
    nik = nik_for(birth, "F", 101)
    page = new_page()
    login(page, "agent1")
    shoot(page, "dashboard")
    page.get_by_role("navigation").get_by_role("link", name="Daftar", exact=True).click()
    expect(page).to_have_url(re.compile(r"/workers/new$"))
    expect(page.locator("#checklist")).to_contain_text("Daftar periksa muncul di sini")
    shoot(page, "empty-form")
    page.evaluate("window.stillTheSamePage = true")  # gone if the checklist reloads the page

    page.locator("#nik").press_sequentially(nik)
    expect(checklist_item(page, "NIK sah (16 angka)")).to_have_class("ok")
    match = checklist_item(page, "Tanggal lahir cocok dengan NIK")
    expect(match).to_have_class("missing")

    page.locator("#full_name").press_sequentially("Nur Hasanah")
    page.locator("#birth_date").fill("1992-03-22")  # one day off what the NIK says
    expect(match).to_have_class("bad")
    expect(match).to_contain_text("Tanggal lahir tidak cocok dengan NIK")
    shoot(page, "birth-date-mismatch")

    page.locator("#birth_date").fill(birth.isoformat())
    expect(match).to_have_class("ok")
    page.locator("#sex").select_option("F")
    expect(checklist_item(page, "Jenis kelamin cocok dengan NIK")).to_have_class("ok")
    page.locator("#phone").press_sequentially("0813 2222 3344")
    page.locator("#address").press_sequentially("Jl. Sukajadi 21, Bandung")
    page.locator("#occupation").select_option("petani")
    page.locator("#declared_income").press_sequentially("1.500.000")
    page.locator("#programs").select_option("3")
    page.locator("#heir_name").press_sequentially("Ahmad Hidayat")
    page.locator("#heir_relation").select_option("suami")
    expect(page.locator("#checklist")).to_contain_text("Belum lengkap")
    shoot(page, "before-ticks")
    page.get_by_label("KTP asli sudah saya periksa").check()
    page.get_by_label("Kartu Keluarga sudah saya periksa").check()
    page.get_by_label("Pekerja setuju datanya diproses").check()
    expect(page.locator("#checklist")).to_contain_text("Lengkap dan cocok. Siap didaftarkan.")
    expect(page.locator("#checklist li:not(.ok)")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True, "the checklist reloaded the page"
    shoot(page, "complete")

    page.get_by_role("button", name="Daftarkan pekerja").click()
    expect(page).to_have_url(re.compile(r"/workers/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nur Hasanah")
    expect(page.locator("main")).to_contain_text("Menunggu pembayaran pertama")
    member_number = page.locator("dl.facts dt:text-is('No. peserta') + dd").inner_text()
    assert re.fullmatch(r"\d{11}", member_number), member_number
    shoot(page, "worker-page")
    rows = live_server.query("SELECT member_number FROM workers WHERE nik = :nik", nik=nik)
    assert rows == [(member_number,)]


def test_registration_without_javascript_keeps_input_and_lists_what_is_missing(
        new_page, login, shoot, live_server):
    birth = date(1988, 11, 2)
    nik = nik_for(birth, "M", 102)
    page = new_page(javascript=False)
    login(page, "agent1")
    page.get_by_role("navigation").get_by_role("link", name="Daftar", exact=True).click()
    page.locator("#nik").fill(nik)
    page.locator("#full_name").fill("Ujang Sutisna")
    page.locator("#birth_date").fill(birth.isoformat())
    page.locator("#phone").fill("0852 1111 2233")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("button", name="Daftarkan pekerja").click()
    assert answer.value.status == 422
    expect(page).to_have_url(re.compile(r"/workers/new$"))
    checklist = page.locator("#checklist")
    expect(checklist).to_contain_text("Belum lengkap")
    expect(checklist_item(page, "NIK sah (16 angka)")).to_have_class("ok")
    expect(checklist_item(page, "Tanggal lahir cocok dengan NIK")).to_have_class("ok")
    expect(checklist_item(page, "Ahli waris")).to_have_class("missing")
    expect(checklist_item(page, "Pekerja setuju datanya diproses")).to_have_class("missing")
    expect(page.locator("#nik")).to_have_value(nik)
    expect(page.locator("#full_name")).to_have_value("Ujang Sutisna")
    expect(page.locator("#phone")).to_have_value("0852 1111 2233")
    shoot(page, "nojs-422")
    assert live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=nik) == []

    # The same form, still without JavaScript, completes the registration.
    page.locator("#sex").select_option("M")
    page.locator("#address").fill("Kampung Cigondewah 3, Bandung")
    page.locator("#occupation").select_option("ojek")
    page.locator("#declared_income").fill("2000000")
    page.locator("#programs").select_option("2")
    page.locator("#heir_name").fill("Entin Sutisna")
    page.locator("#heir_relation").select_option("istri")
    page.get_by_label("KTP asli sudah saya periksa").check()
    page.get_by_label("Kartu Keluarga sudah saya periksa").check()
    page.get_by_label("Pekerja setuju datanya diproses").check()
    page.get_by_role("button", name="Daftarkan pekerja").click()
    expect(page).to_have_url(re.compile(r"/workers/\d+$"))
    expect(page.locator("main")).to_contain_text("Menunggu pembayaran pertama")
    shoot(page, "nojs-registered")
    assert len(live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=nik)) == 1
