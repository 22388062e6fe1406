"""A cheap phone: every page an agent or a worker opens fits 320 px and 360 px without sideways
scrolling of the whole page (wide tables scroll inside their own box), and the longest slip
(12 months) still prints within 58 mm."""
import re
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect

SLIP_MAX_PX = 58 * 96 / 25.4
WIDTHS = (320, 360)


def assert_fits(page, shoot, step: str, widths=WIDTHS) -> None:
    for width in widths:
        page.set_viewport_size({"width": width, "height": 640})
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{step} at {width} px: the page scrolls sideways by {overflow} px"
        hidden = page.evaluate("""[...document.querySelectorAll('main .scroll')]
            .map(box => box.scrollWidth - box.clientWidth).filter(px => px > 1)""")
        assert not hidden, f"{step} at {width} px: a table hides {hidden} px of its columns"
        too_small = page.evaluate("""() => [...document.querySelectorAll(
                'main button, main .button, main input:not([type=hidden]), main select, nav a')]
            // a tick box or radio button is tapped through its label (test_field_ux measures it)
            .filter(e => e.offsetParent !== null && e.type !== 'checkbox' && e.type !== 'radio'
                    && e.getBoundingClientRect().height < 43.5)
            .map(e => e.outerHTML.slice(0, 80))""")
        assert not too_small, f"{step} at {width} px: touch targets under 44 px: {too_small}"
    page.set_viewport_size({"width": min(widths), "height": 640})
    shoot(page, f"{step}-{min(widths)}")
    page.set_viewport_size({"width": 360, "height": 640})


def test_agent_and_worker_pages_fit_a_small_phone(new_page, login, shoot, live_server):
    guest = new_page()
    for path, step in (("/login", "login"), ("/cek", "public-check")):
        guest.goto(path)
        assert_fits(guest, shoot, step)

    page = new_page()
    login(page, "agent2")
    assert_fits(page, shoot, "dashboard")
    for link, step in (("Pekerja", "workers"), ("Daftar", "register-form"),
                       ("Terima bayar", "collect-empty")):
        page.get_by_role("navigation").get_by_role("link", name=link, exact=True).click()
        assert_fits(page, shoot, step)

    page.get_by_role("navigation").get_by_role("link", name="Pekerja", exact=True).click()
    page.get_by_role("link", name="Dadang Suherman").click()
    assert_fits(page, shoot, "worker")
    page.locator('input[name="months"][value="12"]').check()
    page.get_by_role("button", name="Buat kode bayar").click()
    expect(page.locator("#billing ul.months li")).to_have_count(12)
    page.locator("#billing summary").first.click()  # the months, one tap away
    assert_fits(page, shoot, "bill-12-months")
    amount = re.sub(r"\D", "", page.locator("#billing .big").inner_text())
    page.locator("#amount").fill(amount)
    page.get_by_role("button", name="Uang sudah diterima, catat").click()
    expect(page.locator("#slip .state")).to_have_text("SAH")
    assert_fits(page, shoot, "slip-12-months")

    page.emulate_media(media="print")
    slip = page.locator("#slip")
    box = slip.bounding_box()
    assert box["width"] <= SLIP_MAX_PX, f"12-month slip is {box['width']:.0f} px wide in print"
    assert slip.evaluate("el => el.scrollWidth - el.clientWidth") <= 1
    shoot(page, "slip-12-months-print")
    page.emulate_media(media="screen")
    public_url = page.locator("#slip-url").input_value()
    page.get_by_role("navigation").get_by_role("link", name="Pekerja", exact=True).click()
    page.get_by_role("link", name="Dadang Suherman").click()
    expect(page.locator("main table")).to_have_count(2)  # its codes and its payments
    assert_fits(page, shoot, "worker-after-payment")

    public = new_page(javascript=False)
    public.goto(public_url)
    expect(public.locator("#slip .state")).to_have_text("SAH")
    assert urlsplit(public.url).path.startswith("/s/")
    assert_fits(public, shoot, "public-slip-nojs")
