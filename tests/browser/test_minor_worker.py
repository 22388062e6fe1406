"""Issue 11, finding 12 in a real browser: a 16-year-old worker gets a checklist line with a box
the agent ticks after making sure the worker really works; then the registration goes through."""
import re
from datetime import date

import pytest

from helpers import nik_for

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect


def test_a_16_year_old_is_registered_once_the_agent_confirms_the_work(new_page, login, shoot):
    today = date.today()
    birth = date(today.year - 16, 1, 5) if today >= date(today.year, 1, 6) \
        else date(today.year - 17, 1, 5)
    page = new_page()
    login(page, "agent2")
    page.goto(re.sub(r"(https?://[^/]+).*", r"\1/workers/new", page.url))
    page.locator("#nik").press_sequentially(nik_for(birth, "M", 377))
    page.locator("#full_name").press_sequentially("Dodi Pratama")
    page.locator("#birth_day").fill(f"{birth.day}")  # the birth date's three boxes (issue 13)
    page.locator("#birth_month").fill(f"{birth.month}")
    page.locator("#birth_year").fill(f"{birth.year}")
    page.get_by_label("Laki-laki").check()
    page.locator("#phone").press_sequentially("0813 7777 1234")
    page.locator("#address").press_sequentially("Jl. Cibaduyut 7, Bandung")
    page.locator("#occupation").select_option("petani")
    page.locator("#declared_income").press_sequentially("1.000.000")
    page.get_by_label("2 program: JKK + JKM").check()
    page.locator("#heir_name").press_sequentially("Sri Pratama")
    page.locator("#heir_relation").select_option("ibu")
    page.get_by_label("KTP asli sudah saya periksa").check()
    page.get_by_label("Kartu Keluarga sudah saya periksa").check()
    page.get_by_label("Pekerja setuju datanya diproses").check()
    line = page.locator("#checklist ul.checklist li").filter(has_text="di bawah 18 tahun benar-benar bekerja")
    expect(line).to_have_class("missing")
    expect(page.locator("#checklist")).to_contain_text("Belum lengkap")
    box = page.locator("#checklist").get_by_label("benar-benar bekerja")  # by the submit button
    box.scroll_into_view_if_needed()
    shoot(page, "minor-line-unticked", full_page=False)
    # The live check redraws #checklist after each change; tick the box once no redraw is in
    # flight, or a late answer could replace it under the click (seen on a loaded machine).
    page.wait_for_load_state("networkidle")
    box.check()
    expect(line).to_have_class("ok")
    expect(page.locator("#checklist")).to_contain_text("Lengkap dan cocok. Siap didaftarkan.")
    shoot(page, "minor-line-ticked", full_page=False)
    page.get_by_role("button", name="Daftarkan pekerja").click()
    expect(page).to_have_url(re.compile(r"/workers/\d+$"))
    expect(page.locator("h1")).to_have_text("Dodi Pratama")
