"""Issue 12 in a real browser: the agent updates a member's data (JavaScript on and off), the
supervisor approves a change of heir, the member's card prints on the 58 mm printer and on A4,
and the public status by NIK and program pages on a phone."""
import re
from datetime import date
from itertools import count

import pytest

from helpers import VALID, nik_for

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect

MM = 72 / 25.4  # PDF points per millimetre
SERIALS = count(700)


def register_worker(page, **overrides) -> tuple[str, str]:
    """As the logged-in agent, register a worker through the real form post; (worker path, NIK)."""
    birth = date(1991, 5, 14)
    nik = nik_for(birth, "F", next(SERIALS))
    page.goto("/workers/new")
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    form = dict(VALID, nik=nik, birth_date=birth.isoformat(), full_name="Nur Hasanah",
                csrf_token=token, **overrides)
    response = page.request.post("/workers/new", form=form)
    assert response.ok, response.status
    path = re.search(r"/workers/\d+$", response.url).group(0)
    return path, nik


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    """Width and height of every page of a PDF Chromium wrote, from its /MediaBox entries."""
    boxes = re.findall(rb"/MediaBox\s*\[\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert boxes, "no /MediaBox in the PDF"
    return [(round((float(x1) - float(x0)) / MM), round((float(y1) - float(y0)) / MM))
            for x0, y0, x1, y1 in boxes]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_agent_updates_a_members_data(new_page, login, shoot, javascript):
    page = new_page(javascript=javascript)
    login(page, "agent1") if javascript else _login_without_js(page)
    worker, _ = register_worker(page)
    page.goto(worker)
    page.get_by_role("link", name="Ubah data").click()
    expect(page).to_have_url(re.compile(r"/workers/\d+/edit$"))
    expect(page.locator("#address")).to_have_value(VALID["address"])
    shoot(page, "edit-form")

    page.locator("#phone").fill("0813 9999")  # too short
    page.get_by_role("button", name="Simpan perubahan").click()
    expect(page.locator("#problems")).to_contain_text("Nomor HP aktif")
    expect(page.locator("#phone")).to_have_value("0813 9999")  # what the agent typed stays
    shoot(page, "edit-refused")

    page.locator("#phone").fill("0813 9999 0000")
    page.locator("#occupation").select_option("ojek")
    page.locator("#declared_income").fill("2.000.000")
    page.locator("#heir_name").fill("Ahmad Hidayat")
    page.locator("#heir_relation").select_option("anak")
    page.get_by_role("button", name="Simpan perubahan").click()
    expect(page).to_have_url(re.compile(r"/workers/\d+$"))
    expect(page.locator("#history")).to_contain_text("Penghasilan sebulan")
    expect(page.locator("#history")).to_contain_text("Rp2.000.000")
    expect(page.locator("#history")).to_contain_text("Pengemudi ojek")
    expect(page.locator("#heir")).to_contain_text("Asep Marlina (suami)")
    expect(page.locator("#pending-heir")).to_contain_text("menunggu persetujuan")
    expect(page.locator("#heir")).to_contain_text("Ahmad Hidayat (anak)")
    shoot(page, "worker-after-update")


def _login_without_js(page):
    from conftest import DEMO_PASSWORD
    page.goto("/login")
    page.locator("#username").fill("agent1")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()


def test_supervisor_approves_a_change_of_heir(new_page, login, shoot):
    agent = new_page()
    login(agent, "agent1")
    worker, _ = register_worker(agent)
    agent.goto(worker + "/edit")
    agent.locator("#heir_name").fill("Siti Aminah")  # the agent's own name: the fraud to catch
    agent.locator("#heir_relation").select_option("lainnya")
    agent.get_by_role("button", name="Simpan perubahan").click()
    expect(agent.locator("#pending-heir")).to_be_visible()

    supervisor = new_page()
    login(supervisor, "supervisor1")
    item = supervisor.locator("#queue [id^=heir-change-]").filter(has_text="Siti Aminah (lainnya)")
    expect(item).to_have_count(1)
    item.scroll_into_view_if_needed()
    shoot(supervisor, "supervisor-queue-heir")
    item.get_by_label("Catatan (boleh kosong)").fill("Pekerja tidak mengenal nama ini")
    item.get_by_role("button", name="Tolak perubahan").click()
    expect(item).to_contain_text("ditolak")
    expect(item.locator("form")).to_have_count(0)
    shoot(supervisor, "supervisor-heir-rejected")

    agent.reload()
    expect(agent.locator("#pending-heir")).to_have_count(0)
    expect(agent.locator("#heir")).to_have_text("Asep Marlina (suami)")
    expect(agent.locator("#heir-requests")).to_contain_text("Pekerja tidak mengenal nama ini")
    shoot(agent, "worker-heir-rejected")


def test_the_card_prints_on_58mm_and_on_a4(new_page, login, shoot, browser, live_server):
    page = new_page()
    login(page, "agent1")
    worker, nik = register_worker(page)
    page.goto(worker)
    share = page.locator("#card-share").get_attribute("href")
    assert share.startswith("https://wa.me/6281234567890?text=")
    card_url = page.locator("#card-link").get_attribute("href")
    card_path = card_url[card_url.index("/card/"):]

    public = new_page()  # the worker, without an account
    public.goto(card_path)
    card = public.locator("#member-card")
    expect(card).to_contain_text("Nur Hasanah")
    expect(card).to_contain_text(nik[-4:])
    assert nik not in public.content()
    expect(card.locator(".qr svg")).to_be_visible()
    shoot(public, "card")
    public.emulate_media(media="print")
    shoot(public, "card-58mm-print")
    receipt_sizes = page_sizes_mm(public.pdf(prefer_css_page_size=True))
    assert {width for width, _ in receipt_sizes} == {58}, receipt_sizes
    public.emulate_media(media="screen")

    public.get_by_role("link", name="Cetak di kertas A4").click()
    expect(public).to_have_url(re.compile(r"size=a4$"))
    shoot(public, "card-a4-screen")
    public.emulate_media(media="print")
    sizes = page_sizes_mm(public.pdf(prefer_css_page_size=True))
    assert sizes == [(210, 297)], sizes
    box = public.locator("#member-card").bounding_box()
    # The cut-out is the size of a bank card (85.6 x 54 mm) on the sheet.
    assert abs(box["width"] / 96 * 25.4 - 85.6) < 1 and abs(box["height"] / 96 * 25.4 - 54) < 1, box
    shoot(public, "card-a4-print")


def test_status_by_nik_and_program_on_a_phone(new_page, login, shoot):
    agent = new_page()
    login(agent, "agent1")
    _, nik = register_worker(agent)
    page = new_page()
    page.goto("/cek")
    page.get_by_role("link", name="Manfaat program dan cara klaim").click()
    expect(page).to_have_url(re.compile(r"/program$"))
    expect(page.locator("#contacts")).to_contain_text("175")
    shoot(page, "program")
    page.goto("/status")
    form = page.locator("#by-nik")
    form.get_by_label("NIK (16 angka, di KTP)").fill(nik)
    form.get_by_label("Tanggal lahir").fill("1991-05-14")
    form.get_by_role("button", name="Cek").click()
    result = page.locator("#status-result")
    expect(result).to_contain_text("Siti Aminah")
    expect(page.locator("#member-number")).to_have_text(re.compile(r"^•{7}\d{4}$"))
    shoot(page, "status-by-nik")
    form = page.locator("#by-nik")
    form.get_by_label("NIK (16 angka, di KTP)").fill(nik)
    form.get_by_label("Tanggal lahir").fill("1991-05-15")
    form.get_by_role("button", name="Cek").click()
    expect(page.get_by_role("alert")).to_contain_text("Tidak ditemukan")
    shoot(page, "status-by-nik-not-found")
