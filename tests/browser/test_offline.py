"""Issue 10 in a real browser: the agent's day survives a bad connection.

The network is cut with Playwright's `context.set_offline(True)` (the phone's `navigator.onLine`
goes false and every request fails), the page is reloaded and reopened offline (the service
worker answers), and the server's database says what really arrived.
"""
import random
import time
import re
from datetime import date

import pytest

from conftest import DEMO_PASSWORD
from helpers import nik_for

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect

PHONE = {"width": 360, "height": 640}
ASEP_NIK = "3273011708850001"  # demo worker of agent1
DADANG_NIK = "3273020101800003"  # demo worker of agent2, same branch


def rupiah_value(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def issue_code(page, worker: str = "Asep Saepudin", months: int = 1) -> str:
    page.get_by_role("navigation").get_by_role("link", name="Pekerja", exact=True).click()
    page.get_by_role("link", name=worker).click()
    page.locator(f'input[name="months"][value="{months}"]').check()
    page.get_by_role("button", name="Buat kode bayar").click()
    code = page.locator("#billing .code")
    expect(code).to_be_visible()  # with htmx the code takes the months' place on the worker page
    number = code.inner_text().replace(" ", "")
    page.goto(f"/bills/{number}")  # the code page: the amount and the cash form under it
    return number


def ready_offline(page, code: str | None = None) -> None:
    """Wait until the service worker holds the shell and the phone holds the open codes."""
    page.wait_for_function("""async () => {
        if (!navigator.serviceWorker || !navigator.serviceWorker.controller) return false;
        const cache = await caches.open((await caches.keys()).find(n => n.startsWith('perisai-')) || 'x');
        return !!(await cache.match('/collect')) && !!(await cache.match('/outbox'));
    }""", polling=200)
    if code:
        page.wait_for_function("""async (code) => {
            const c = await Outbox.get('codes:' + document.body.dataset.user);
            return !!c && c.codes.some(b => b.code === code);
        }""", arg=code, polling=200)


def go_offline(context) -> None:
    """No signal: the pages' network is cut, and so is the service worker's (Playwright's
    offline mode does not reach a service worker; its requests are aborted by a route)."""
    context.set_offline(True)
    context.route("**/*", lambda route: route.abort("internetdisconnected"))


def go_online(context) -> None:
    context.unroute("**/*")
    context.set_offline(False)


def collections_of(live_server, code: str):
    return live_server.query(
        "SELECT c.receipt_number, c.collected_at, c.received_at FROM collections c "
        "JOIN bills b ON b.id = c.bill_id WHERE b.code = :code", code=code)


def test_collection_taken_offline_survives_reload_and_a_new_page_and_is_sent_once(
        new_page, login, shoot, live_server):
    page = new_page()
    page.traffic.allowed_errors.append("net::ERR_INTERNET_DISCONNECTED")
    login(page, "agent1")
    code = issue_code(page)
    amount = rupiah_value(page.locator("#bill dd.big").inner_text())
    page.get_by_role("navigation").get_by_role("link", name="Terima bayar").click()
    expect(page).to_have_url(re.compile(r"/collect$"))
    # Twice: the first page load installs the service worker, the second is under it.
    page.reload()
    ready_offline(page, code)
    expect(page.locator("#sync")).to_contain_text("0 belum terkirim")

    context = page.context
    go_offline(context)
    page.locator("#code").press_sequentially(code[:4] + " " + code[4:8] + " " + code[8:])
    page.get_by_role("button", name="Cari kode").click()
    bill = page.locator("#offline-bill")
    expect(bill).to_contain_text("Asep Saepudin")
    expect(bill.locator("dd.big")).to_have_text(f"Rp{amount:,}".replace(",", "."))
    shoot(page, "offline-bill-from-phone")

    # A mistyped code is caught on the phone by its check digit.
    typo = code[:-1] + str((int(code[-1]) + 1) % 10)
    page.locator("#code").fill(typo)
    page.get_by_role("button", name="Cari kode").click()
    expect(page.locator("#collect .net-msg")).to_contain_text("angka pemeriksa")
    page.locator("#code").fill(code)
    page.get_by_role("button", name="Cari kode").click()

    # A wrong amount is told next to the button, and nothing is queued.
    page.locator("#offline-amount").fill(str(amount - 1000))
    page.get_by_role("button", name="Uang sudah diterima, simpan di ponsel").click()
    expect(page.locator("#offline-bill .net-msg")).to_contain_text("Jumlah harus tepat")
    expect(page.locator("#offline-bill .net-msg")).to_be_in_viewport()
    page.locator("#offline-amount").fill(str(amount))
    page.get_by_role("button", name="Uang sudah diterima, simpan di ponsel").click()
    slip = page.locator(".provisional")
    expect(slip).to_contain_text("menunggu sinyal / belum terkirim")
    expect(slip).to_contain_text(code)
    expect(slip).to_contain_text(f"Rp{amount:,}".replace(",", "."))
    expect(page.locator("#sync")).to_contain_text("1 belum terkirim")
    shoot(page, "offline-provisional-slip")
    assert collections_of(live_server, code) == []

    page.reload()  # offline: the service worker answers with the kept page
    expect(page.locator("#sync")).to_contain_text("1 belum terkirim")
    shoot(page, "offline-reloaded")
    page.close()

    again = context.new_page()
    again.goto("/outbox")
    item = again.locator("#outbox-list li")
    expect(item).to_have_count(1)
    expect(item.locator("[data-state=queued]")).to_be_visible()
    expect(item).to_contain_text(code)
    shoot(again, "offline-outbox-new-page")
    assert collections_of(live_server, code) == []

    go_online(context)  # the `online` event sends the outbox
    expect(item.locator("[data-state=sent]")).to_be_visible()
    expect(again.locator("#sync")).to_contain_text("0 belum terkirim")
    [(receipt, taken, received)] = collections_of(live_server, code)
    expect(item.get_by_role("link", name="Buka")).to_have_attribute("href", f"/receipts/{receipt}")
    assert taken < received  # the time the cash was taken is kept beside the arrival
    shoot(again, "offline-sent")
    again.reload()  # and sending again on every load changes nothing
    expect(again.locator("#outbox-list li [data-state=sent]")).to_be_visible()
    assert len(collections_of(live_server, code)) == 1


def test_timed_out_collection_retried_with_the_same_key_records_one(
        browser, live_server, login, shoot):
    # No service worker here: Playwright's routing sees the page's own requests.
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="id-ID",
                                  timezone_id="Asia/Jakarta", service_workers="block")
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        login(page, "agent1")
        code = issue_code(page)
        amount = rupiah_value(page.locator("#bill dd.big").inner_text())
        page.evaluate("htmx.config.timeout = 1500")
        held = []

        def slow(route):
            # The server records the payment, but its answer arrives after the phone gave up.
            response = route.fetch()
            held.append(response.status)
            time.sleep(2.5)
            try:
                route.fulfill(response=response)
            except Exception:
                pass

        page.route("**/collect", lambda route: slow(route) if route.request.method == "POST"
                   else route.continue_())
        page.locator("#amount").fill(str(amount))
        button = page.get_by_role("button", name="Uang sudah diterima, catat")
        button.click()
        message = page.locator(".net-msg")
        expect(message).to_contain_text("Sambungan lambat")
        expect(message).to_be_in_viewport()
        expect(button).to_be_enabled()
        shoot(page, "timeout-message-next-to-button")
        assert len(collections_of(live_server, code)) == 1  # it did arrive
        page.unroute("**/collect")
        message.get_by_role("button", name="Coba lagi").click()
        expect(page.locator("#slip")).to_contain_text(collections_of(live_server, code)[0][0])
        assert len(collections_of(live_server, code)) == 1
        shoot(page, "timeout-retried-slip")
    finally:
        context.close()


def fill_registration(page, nik: str, name: str, birth: date, sex: str) -> None:
    page.locator("label.check").filter(has_text="KTP").click()
    page.locator("label.check").filter(has_text="Kartu Keluarga").click()
    page.locator("#nik").fill(nik)
    page.locator("#full_name").fill(name)
    page.locator("#birth_day").fill(f"{birth.day:02d}")
    page.locator("#birth_month").fill(f"{birth.month:02d}")
    page.locator("#birth_year").fill(str(birth.year))
    page.get_by_label("Laki-laki" if sex == "M" else "Perempuan").check()
    page.locator("#phone").fill("0812 7000 1234")
    page.locator("#address").fill("Kampung Sawah 1, Bandung")
    page.locator("#occupation").select_option("petani")
    page.locator("#declared_income").fill("1500000")
    page.get_by_label("3 program: JKK + JKM + JHT").check()
    page.locator("#heir_name").fill("Ahli Waris")
    page.locator("#heir_relation").select_option("anak")
    page.locator("label.check").filter(has_text="setuju").click()


def expect_restored(page, birth: date, sex: str) -> None:
    """The radios, tick boxes and the birth date's three boxes come back from a draft, and
    the radios keep their own values."""
    expect(page.locator("#birth_day")).to_have_value(f"{birth.day:02d}")
    expect(page.locator("#birth_month")).to_have_value(f"{birth.month:02d}")
    expect(page.locator("#birth_year")).to_have_value(str(birth.year))
    expect(page.locator("#birth_date")).to_have_value(birth.isoformat())
    expect(page.locator("input[name=sex]:checked")).to_have_value(sex)
    expect(page.locator("input[name=programs]:checked")).to_have_value("3")
    assert page.locator("input[name=sex]").evaluate_all("els => els.map(e => e.value)") == ["M", "F"]
    assert page.locator("input[name=programs]").evaluate_all("els => els.map(e => e.value)") == ["2", "3"]
    expect(page.locator("input[name=consent]")).to_be_checked()
    expect(page.locator("input[name=doc_ktp]")).to_be_checked()


def test_registrations_queued_offline_arrive_and_a_conflict_comes_back(
        new_page, login, shoot, live_server):
    page = new_page()
    # Offline, htmx logs each live check it could not send; expected here.
    page.traffic.allowed_errors += ["net::ERR_INTERNET_DISCONNECTED", "htmx:sendError"]
    login(page, "agent1")
    page.goto("/workers/new")
    page.reload()
    ready_offline(page)
    context = page.context
    go_offline(context)
    birth = date(1990, 5, 6)
    nik = nik_for(birth, "M", random.randint(3000, 8999))
    fill_registration(page, nik, "Komar Luring", birth, "M")
    page.get_by_role("button", name="Daftarkan pekerja").click()
    expect(page.locator("main")).to_contain_text("Pendaftaran disimpan di ponsel")
    expect(page.locator("#sync")).to_contain_text("1 belum terkirim")
    shoot(page, "offline-registration-queued")

    # A second one, for a NIK that is registered already (the worker went elsewhere meanwhile).
    page.goto("/workers/new")
    fill_registration(page, DADANG_NIK, "Dadang Suherman", date(1980, 1, 1), "M")
    page.get_by_role("button", name="Daftarkan pekerja").click()
    expect(page.locator("#sync")).to_contain_text("2 belum terkirim")
    assert live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=nik) == []

    page.goto("/outbox")
    go_online(context)
    items = page.locator("#outbox-list li")
    sent = items.filter(has_text="Komar Luring")
    conflict = items.filter(has_text="Dadang Suherman")
    expect(sent.locator("span[data-state=sent]")).to_be_visible()
    expect(conflict.locator("span[data-state=conflict]")).to_be_visible()
    expect(conflict).to_contain_text("NIK")
    expect(page.locator("#sync")).to_contain_text("1 perlu tindakan")
    shoot(page, "offline-registration-conflict")
    assert len(live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=nik)) == 1
    assert len(live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=DADANG_NIK)) == 1
    # The agent takes it back to the form, with what was typed.
    conflict.get_by_role("button", name="Perbaiki formulir").click()
    expect(page).to_have_url(re.compile(r"/workers/new$"))
    expect(page.locator("#nik")).to_have_value(DADANG_NIK)
    expect(page.locator("#draft-note")).to_be_visible()
    expect_restored(page, date(1980, 1, 1), "M")
    shoot(page, "offline-registration-fix")


def test_session_lost_mid_form_keeps_what_was_typed(new_page, login, shoot, live_server):
    page = new_page()
    page.traffic.allowed_errors.append("Response Status Error Code 400")  # htmx logs the 400
    login(page, "agent1")
    page.goto("/workers/new")
    birth = date(1993, 2, 3)
    nik = nik_for(birth, "F", random.randint(3000, 8999))
    fill_registration(page, nik, "Neneng Sesi", birth, "F")
    page.wait_for_load_state("networkidle")  # no live check in flight to set the cookie again
    page.context.clear_cookies()  # the session is gone (expired, or the phone cleared it)
    page.get_by_role("button", name="Daftarkan pekerja").click()
    message = page.locator(".net-msg")
    expect(message).to_contain_text("Sesi sudah berakhir")
    expect(message).to_be_in_viewport()
    shoot(page, "session-lost-message")
    assert live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=nik) == []
    message.get_by_role("link", name="Masuk lagi").click()
    page.locator("#username").fill("agent1")
    page.locator("#password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Masuk").click()
    expect(page).to_have_url(re.compile(r"/workers/new$"))
    expect(page.locator("#draft-note")).to_be_visible()
    expect(page.locator("#nik")).to_have_value(nik)
    expect(page.locator("#full_name")).to_have_value("Neneng Sesi")
    expect(page.locator("#heir_relation")).to_have_value("anak")
    expect_restored(page, birth, "F")
    shoot(page, "session-lost-draft-restored")
    page.get_by_role("button", name="Daftarkan pekerja").click()
    expect(page).to_have_url(re.compile(r"/workers/\d+$"))
    assert len(live_server.query("SELECT id FROM workers WHERE nik = :nik", nik=nik)) == 1
    page.goto("/workers/new")  # registered: the form starts empty again
    expect(page.locator("#nik")).to_have_value("")
