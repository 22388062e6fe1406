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
    return page.locator("#checklist ul.checklist li").filter(has_text=re.compile("^" + re.escape(label)))


def type_birth_date(page, day: str, month: str, year: str) -> None:
    """Day, month, year as an agent types them: the boxes move on by themselves."""
    page.locator("#birth_day").press_sequentially(day)
    page.keyboard.type(month)
    page.keyboard.type(year)
    expect(page.locator("#birth_year")).to_have_value(year)


def test_agent_registers_a_worker_watching_the_live_checklist(new_page, login, shoot, live_server):
    birth = date(1992, 3, 21)
    nik = nik_for(birth, "F", 101)
    page = new_page()
    login(page, "agent1")
    shoot(page, "dashboard")
    page.get_by_role("navigation").get_by_role("link", name="Daftar", exact=True).click()
    expect(page).to_have_url(re.compile(r"/workers/new$"))
    expect(page.locator("#checklist")).to_contain_text("Isi dari atas")
    shoot(page, "empty-form")
    page.evaluate("window.stillTheSamePage = true")  # gone if the checklist reloads the page

    # A NIK being typed: its own box counts the digits; nothing is said about fields below.
    page.locator("#nik").press_sequentially(nik[:15])
    expect(page.locator("#nik-msg")).to_have_text("15 dari 16 angka")
    expect(page.locator("#checklist")).not_to_contain_text("Belum lengkap")
    expect(page.locator("#checklist")).to_contain_text("Belum diisi")
    for later in ("full_name", "birth_date", "phone", "heir_relation", "consent", "doc_ktp"):
        expect(page.locator(f"#{later}-msg")).to_be_empty()
    shoot(page, "nik-typing")
    page.locator("#nik").press_sequentially(nik[15:])
    expect(checklist_item(page, "NIK sah (16 angka)")).to_have_class("ok")
    expect(page.locator("#nik-msg")).to_be_empty()
    match = checklist_item(page, "Tanggal lahir cocok dengan NIK")
    expect(match).to_have_class("missing")

    page.locator("#full_name").press_sequentially("Nur Hasanah")
    type_birth_date(page, "22", "03", "1992")  # one day off what the NIK says
    expect(match).to_have_class("bad")
    expect(match).to_contain_text("Tanggal lahir tidak cocok dengan NIK")
    # Said right under the date, and summed up by the submit button with a link to it.
    expect(page.locator("#birth_date-msg")).to_contain_text("Tanggal lahir tidak cocok dengan NIK")
    expect(page.locator("#birth_date-msg")).to_have_class(re.compile(r"\bbad\b"))
    expect(page.locator("#checklist ul.to-fix a[href='#birth_day']")).to_have_count(1)
    shoot(page, "birth-date-mismatch")

    page.locator("#birth_day").fill("")
    page.locator("#birth_day").press_sequentially("21")  # on to the month box by itself
    expect(page.locator("#birth_month")).to_be_focused()
    expect(match).to_have_class("ok")
    page.get_by_label("Perempuan").check()
    expect(checklist_item(page, "Jenis kelamin cocok dengan NIK")).to_have_class("ok")
    page.locator("#phone").press_sequentially("0813 2222 3344")
    page.locator("#address").press_sequentially("Jl. Sukajadi 21, Bandung")
    page.locator("#occupation").select_option("petani")
    page.locator("#declared_income").press_sequentially("1.500.000")
    page.get_by_label("3 program: JKK + JKM + JHT").check()
    page.locator("#heir_name").press_sequentially("Ahmad Hidayat")
    page.locator("#heir_relation").select_option("suami")
    expect(page.locator("#checklist")).to_contain_text("Belum diisi: 3 hal")  # the three ticks
    expect(page.locator("#checklist")).not_to_contain_text("Belum lengkap")
    shoot(page, "before-ticks")
    page.get_by_label("KTP asli sudah saya periksa").check()
    page.get_by_label("Kartu Keluarga sudah saya periksa").check()
    page.get_by_label("Pekerja setuju datanya diproses").check()
    expect(page.locator("#checklist")).to_contain_text("Lengkap dan cocok. Siap didaftarkan.")
    expect(page.locator("#checklist ul.checklist li:not(.ok)")).to_have_count(0)
    expect(page.locator("p.field-msg:not(:empty)")).to_have_count(0)
    assert page.evaluate("window.stillTheSamePage") is True, "the checklist reloaded the page"
    shoot(page, "complete")

    page.get_by_role("button", name="Daftarkan pekerja").click()
    expect(page).to_have_url(re.compile(r"/workers/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Nur Hasanah")
    expect(page.locator("main")).to_contain_text("Menunggu pembayaran pertama")
    expect(page.locator("#registered")).to_contain_text("Terdaftar")
    shoot(page, "registered-first-screen", full_page=False)
    create = page.get_by_role("button", name="Buat kode bayar")
    box = create.bounding_box()
    assert box["y"] + box["height"] <= 640, f"'Buat kode bayar' is {box['y']:.0f} px down"
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
    page.locator("#birth_day").fill(f"{birth.day}")
    page.locator("#birth_month").fill(f"{birth.month}")
    page.locator("#birth_year").fill(f"{birth.year}")
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
    expect(page.locator("#birth_year")).to_have_value(str(birth.year))
    # Without JavaScript too, each problem is written under its own field.
    expect(page.locator("#sex-msg")).to_contain_text("Pilih jenis kelamin")
    expect(page.locator("#heir_relation-msg")).to_contain_text("Isi nama dan hubungan ahli waris")
    expect(page.locator("#consent-msg")).to_contain_text("Bacakan pernyataan persetujuan")
    for fine in ("nik", "full_name", "birth_date", "phone"):
        expect(page.locator(f"#{fine}-msg")).to_be_empty()
    expect(page.locator("#problems")).to_be_visible()
    shoot(page, "nojs-422")
    page.locator("#checklist").scroll_into_view_if_needed()
    shoot(page, "nojs-422-summary", full_page=False)
    assert live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=nik) == []

    # The same form, still without JavaScript, completes the registration.
    page.get_by_label("Laki-laki").check()
    page.locator("#address").fill("Kampung Cigondewah 3, Bandung")
    page.locator("#occupation").select_option("ojek")
    page.locator("#declared_income").fill("2000000")
    page.get_by_label("2 program: JKK + JKM").check()
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
