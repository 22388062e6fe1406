"""Issue 3 in a real browser: a payment code, cash against it, the slip, its public link, print."""
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect

MM_AT_96_DPI = 96 / 25.4
SLIP_MAX_PX = 58 * MM_AT_96_DPI  # ~219 px: the paper of a 58 mm thermal printer
ASEP_NIK = "3273011708850001"  # demo worker of agent1


def rupiah_value(text: str) -> int:
    return int(re.sub(r"[^\d]", "", text))


def open_worker(page, name: str) -> None:
    page.get_by_role("navigation").get_by_role("link", name="Pekerja", exact=True).click()
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)


def issue_code(page, months: int) -> str:
    """On the worker page: choose the months, press the button. With htmx the new code and its
    cash form take the place of the months on the worker page; without, /bills/<code> opens
    with the cash form. Either way the amount field is on screen."""
    choice = page.locator(f'input[name="months"][value="{months}"]')
    code = page.locator("#billing .code")
    before = code.all_inner_texts()
    if not choice.is_visible():  # an open code is on the page: other months one tap away
        page.locator("#billing details.other-months summary").click()
    choice.check()
    page.get_by_role("button", name=re.compile("^(Buat|Ganti) kode")).click()
    if "/bills/" not in page.url and page.evaluate("typeof htmx") != "undefined":
        expect(code).to_be_visible()
        if before:
            expect(code).not_to_have_text(before[0])
        return code.inner_text().replace(" ", "")
    expect(page).to_have_url(re.compile(r"/bills/\d{12}$"))
    return urlsplit(page.url).path.rsplit("/", 1)[1]


def amount_due(page) -> int:
    """The amount in big figures next to the cash form (worker page, code page, collect page)."""
    return rupiah_value(page.locator("main .big").first.inner_text())


def cash_of(live_server, username: str) -> tuple[int, int]:
    """(cash on hand, number of collection entries in the ledger) of an agent."""
    [(cash,)] = live_server.query(
        "SELECT COALESCE(a.cash_on_hand, 0) FROM users u LEFT JOIN agent_accounts a "
        "ON a.agent_id = u.id WHERE u.username = :name", name=username)
    [(entries,)] = live_server.query(
        "SELECT COUNT(*) FROM ledger_entries e JOIN users u ON u.id = e.agent_id "
        "WHERE u.username = :name AND e.kind = 'collection'", name=username)
    return cash, entries


def test_agent_collects_a_three_month_code_and_the_worker_checks_the_slip(
        new_page, login, shoot, live_server):
    page = new_page()
    login(page, "agent1")
    open_worker(page, "Asep Saepudin")
    code = issue_code(page, 3)
    expect(page.locator("#billing")).to_contain_text("(3 bulan)")
    shown_code = page.locator("#billing .code").inner_text()
    assert shown_code.replace(" ", "") == code
    shoot(page, "bill")

    page.get_by_role("navigation").get_by_role("link", name="Terima bayar").click()
    expect(page).to_have_url(re.compile(r"/collect$"))
    page.evaluate("window.stillTheSamePage = true")
    page.locator("#code").press_sequentially(shown_code)  # as printed, with its spaces
    page.get_by_role("button", name="Cari kode").click()
    bill = page.locator("#bill")
    expect(bill).to_contain_text("Asep Saepudin")
    expect(bill).to_contain_text("************0001")
    expect(page).to_have_url(re.compile(r"/collect\?code="))  # htmx pushed the URL
    assert page.evaluate("window.stillTheSamePage") is True, "looking up the code reloaded the page"
    amount = rupiah_value(bill.locator(".big").inner_text())
    assert amount > 0
    shoot(page, "collect-bill")

    page.locator("#amount").press_sequentially(str(amount))
    page.get_by_role("button", name="Uang sudah diterima, catat").click()
    slip = page.locator("#slip")
    expect(slip.locator(".state")).to_have_text("SAH")
    expect(page).to_have_url(re.compile(r"/receipts/\d+$"))
    number = urlsplit(page.url).path.rsplit("/", 1)[1]
    expect(slip).to_contain_text(number)
    expect(slip).to_contain_text("************0001")
    expect(slip).not_to_contain_text(ASEP_NIK)
    expect(slip.locator("dd.big")).to_have_text(f"Rp{amount:,}".replace(",", "."))
    expect(slip.locator(".qr svg")).to_have_count(1)
    shoot(page, "slip")
    public_url = page.locator("#slip-url").input_value()
    assert public_url.startswith(live_server.url + "/s/"), public_url
    assert number not in public_url  # the token carries no number or id in clear

    # On paper: a 58 mm thermal printer. Only the slip prints.
    page.emulate_media(media="print")
    box = slip.bounding_box()
    assert box["width"] <= SLIP_MAX_PX, f"slip is {box['width']:.0f} px wide in print"
    overflow = slip.evaluate("el => el.scrollWidth - el.clientWidth")
    assert overflow <= 1, f"something on the printed slip sticks out {overflow} px to the right"
    for chrome in ("header.top", "footer.foot", ".share"):
        expect(page.locator(chrome)).to_be_hidden()
    shoot(page, "slip-print")
    page.emulate_media(media="screen")

    # The worker opens the link on their own phone: no login.
    worker_page = new_page()
    worker_page.goto(public_url)
    expect(worker_page.locator("#slip .state")).to_have_text("SAH")
    expect(worker_page.locator("#slip")).to_contain_text(number)
    assert ASEP_NIK not in worker_page.content()
    expect(worker_page.get_by_role("link", name="Keluar")).to_have_count(0)
    shoot(worker_page, "public-slip")
    if shutil.which("pdftoppm"):  # the real print path too, when poppler is installed
        pdf_path = shoot.folder / f"{shoot.prefix}-public-slip.pdf"
        pdf_path.write_bytes(worker_page.pdf(prefer_css_page_size=True))
        subprocess.run(["pdftoppm", "-png", "-r", "203", "-singlefile", str(pdf_path),
                        str(pdf_path.with_suffix(""))], check=True, timeout=30)


def test_double_tap_on_confirm_records_one_payment(new_page, login, shoot, live_server):
    """A phone double tap, with htmx and with a plain form: one collection, one receipt."""
    for javascript in (True, False):
        page = new_page(javascript=javascript)
        login(page, "agent1")
        open_worker(page, "Asep Saepudin")
        code = issue_code(page, 1)
        expect(page.locator("main")).to_contain_text("Asep Saepudin")
        amount = amount_due(page)
        page.locator("#amount").fill(str(amount))
        cash_before, entries_before = cash_of(live_server, "agent1")
        posts = []
        page.on("request", lambda r: r.method == "POST" and r.url.endswith("/collect")
                and posts.append(r))
        page.get_by_role("button", name="Uang sudah diterima, catat").dblclick()
        expect(page.locator("#slip .state")).to_have_text("SAH")
        expect(page).to_have_url(re.compile(r"/receipts/\d+$"))
        page.wait_for_load_state("networkidle")
        expect(page.locator("main")).not_to_contain_text("Sudah dibayar")
        shoot(page, f"double-tap-{'js' if javascript else 'nojs'}")
        rows = live_server.query(
            "SELECT c.receipt_number FROM collections c JOIN bills b ON b.id = c.bill_id "
            "WHERE b.code = :code", code=code)
        assert len(rows) == 1 and page.url.endswith("/receipts/" + rows[0][0])
        cash_after, entries_after = cash_of(live_server, "agent1")
        assert (cash_after - cash_before, entries_after - entries_before) == (amount, 1), (
            f"{len(posts)} POST /collect sent; cash went up by {cash_after - cash_before}")


def test_answer_lost_on_the_way_back_then_retry_gives_the_first_receipt(
        new_page, login, shoot, live_server):
    """2G: the server records the payment but the answer never reaches the phone. The agent
    taps again (same form, same idempotency key): the first receipt, not a second payment.
    Without JavaScript the agent goes back instead: the code shows as paid, nothing to send."""
    for javascript in (True, False):
        page = new_page(javascript=javascript)
        login(page, "agent1")
        open_worker(page, "Asep Saepudin")
        code = issue_code(page, 1)
        amount = amount_due(page)
        page.locator("#amount").fill(str(amount))
        cash_before, entries_before = cash_of(live_server, "agent1")
        lost = []

        def lose_first_answer(route):
            if route.request.method == "POST" and not lost:
                lost.append(route.fetch(max_redirects=0).status)  # the server did its work
                route.abort("timedout")
            else:
                route.continue_()

        page.route("**/collect", lose_first_answer)
        page.traffic.allowed_errors += ["htmx:timeout", "htmx:sendError"]
        confirm = page.get_by_role("button", name="Uang sudah diterima, catat")
        if javascript:
            confirm.click()
            # Issue 10: told next to the button that was tapped, with a retry.
            expect(page.locator("form.take-cash .net-msg")).to_contain_text(re.compile("sambungan", re.I))
            shoot(page, "answer-lost-js")
            expect(confirm).to_be_enabled()
            confirm.click()
            expect(page.locator("#slip .state")).to_have_text("SAH")
            expect(page.locator(".net-msg")).to_have_count(0)
        else:
            with page.expect_event("requestfailed"):
                confirm.click()  # the browser shows its own "site can't be reached"
            page.wait_for_url(lambda url: not url.startswith(live_server.url))  # its error page
            page.wait_for_load_state()
            page.go_back()  # a fresh copy of the code page: the bill is paid, no form to send
            expect(page.locator("#bill .badge")).to_have_text("Lunas")
            expect(page.locator("#amount")).to_have_count(0)
            shoot(page, "answer-lost-nojs-back")
            open_worker(page, "Asep Saepudin")  # where the agent finds the receipt
        assert lost and lost[0] in (200, 303), lost
        rows = live_server.query(
            "SELECT c.receipt_number FROM collections c JOIN bills b ON b.id = c.bill_id "
            "WHERE b.code = :code", code=code)
        assert len(rows) == 1
        expect(page.locator("main")).to_contain_text(rows[0][0])
        cash_after, entries_after = cash_of(live_server, "agent1")
        assert (cash_after - cash_before, entries_after - entries_before) == (amount, 1)


def test_wrong_code_and_wrong_amount_are_explained_on_the_page(new_page, login, shoot, live_server):
    """With htmx, each refusal shows the server's own message in the form, not a generic
    "request refused, reload the page", and nothing is recorded."""
    from perisai.domain.codes import with_check_digit

    page = new_page()
    login(page, "agent1")
    open_worker(page, "Euis Komariah")
    code = issue_code(page, 1)
    page.get_by_role("navigation").get_by_role("link", name="Terima bayar").click()
    code_box = page.locator("#code")
    look_up = page.get_by_role("button", name="Cari kode")
    error = page.locator("#collect .flash.error")

    typo = code[:5] + str((int(code[5]) + 1) % 10) + code[6:]  # one digit mistyped
    code_box.fill(typo)
    look_up.click()
    expect(error).to_contain_text("salah ketik")
    shoot(page, "code-typo")

    unknown = with_check_digit("9" * 11)  # well formed, but nobody was billed with it
    assert live_server.query("SELECT id FROM bills WHERE code = :c", c=unknown) == []
    code_box.fill(unknown)
    look_up.click()
    expect(error).to_contain_text("Kode bayar tidak dikenal")
    expect(page.locator("#net")).to_be_hidden()
    shoot(page, "code-unknown")

    code_box.fill(code)
    look_up.click()
    amount = rupiah_value(page.locator("#bill .big").inner_text())
    page.locator("#amount").fill(str(amount - 100))
    page.get_by_role("button", name="Uang sudah diterima, catat").click()
    expect(error).to_be_visible()
    expect(page.locator("#amount")).to_have_value(str(amount - 100))
    shoot(page, "wrong-amount")
    assert live_server.query(
        "SELECT c.id FROM collections c JOIN bills b ON b.id = c.bill_id WHERE b.code = :c",
        c=code) == []
