"""Issue 4 in a real browser: agent1 collects, declares a deposit and asks to reverse a payment;
supervisor1, on a phone, verifies the deposit and approves the reversal; the worker's public
slip then says DIBATALKAN and the agent's cash adds up."""
import re
from urllib.parse import urlsplit

import pytest

from browser.test_layout import assert_fits
from browser.test_money import amount_due, cash_of, issue_code, open_worker, rupiah_value

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect


def collect_one_month(page, worker: str) -> tuple[str, int, str]:
    """Issue a 1-month code for `worker`, take the cash; returns (receipt, amount, public URL)."""
    open_worker(page, worker)
    issue_code(page, 1)
    amount = amount_due(page)
    page.locator("#amount").fill(str(amount))
    page.get_by_role("button", name="Uang sudah diterima, catat").click()
    expect(page.locator("#slip .state")).to_have_text("SAH")
    number = urlsplit(page.url).path.rsplit("/", 1)[1]
    return number, amount, page.locator("#slip-url").input_value()


def test_supervisor_verifies_a_deposit_and_approves_a_reversal_on_a_phone(
        new_page, login, shoot, live_server):
    agent = new_page()
    login(agent, "agent1")
    cash_before, _ = cash_of(live_server, "agent1")
    kept, kept_amount, _ = collect_one_month(agent, "Asep Saepudin")
    mistaken, mistaken_amount, public_url = collect_one_month(agent, "Euis Komariah")
    cash_collected, _ = cash_of(live_server, "agent1")
    assert cash_collected - cash_before == kept_amount + mistaken_amount

    # The agent took Euis's payment by mistake and asks for a reversal.
    agent.get_by_text("Minta pembatalan (salah catat)").click()
    agent.get_by_label("Alasan pembatalan").fill("Salah catat: uang belum diterima dari pekerja")
    agent.get_by_role("button", name="Kirim permintaan").click()
    request_box = agent.locator("#reversal-request")
    expect(request_box).to_contain_text("Pembatalan diminta")
    expect(request_box).to_contain_text("Pembayaran tetap sah sampai pengawas menyetujui")
    expect(agent.locator("#slip .state")).to_have_text("SAH")
    shoot(agent, "agent-reversal-requested")

    # The agent paid Asep's money in at the bank and declares it on the dashboard.
    agent.get_by_role("link", name="PERISAI").click()
    reference = f"TRF-{kept}"
    agent.get_by_label("Jumlah (Rp)").fill(str(kept_amount))
    agent.get_by_label("No. referensi / transfer").fill(reference)
    agent.get_by_role("button", name="Ajukan setoran").click()
    deposit_box = agent.locator("#deposit")
    expect(deposit_box).to_contain_text("menunggu verifikasi pengawas")
    expect(deposit_box.locator("tr", has_text=reference)).to_be_visible()
    shoot(agent, "agent-deposit-declared")
    [(deposit_id, deposit_status)] = live_server.query(
        "SELECT id, status FROM deposits WHERE reference = :ref", ref=reference)
    [(reversal_id, reversal_status)] = live_server.query(
        "SELECT r.id, r.status FROM reversals r JOIN collections c ON c.id = r.collection_id "
        "WHERE c.receipt_number = :n", n=mistaken)
    assert (deposit_status, reversal_status) == ("pending", "pending")

    # supervisor1 on a phone: the queue shows both; one tap each.
    boss = new_page()
    login(boss, "supervisor1")
    shoot(boss, "supervisor-home")
    boss.get_by_role("navigation").get_by_role("link", name="Agen").click()
    expect(boss).to_have_url(re.compile(r"/supervisor/agents"))
    expect(boss.locator("main")).to_contain_text("Siti Aminah")
    shoot(boss, "supervisor-agents")
    # The agents' table counts the queue and leads to it on the home page.
    waiting = int(boss.locator("#queue-summary #pending-deposits-count").inner_text())
    assert waiting >= 1
    expect(boss.locator(f"#deposit-{deposit_id}")).to_have_count(0)
    boss.get_by_role("link", name="Buka antrean di beranda").click()
    expect(boss).to_have_url(re.compile(r"/supervisor#queue$"))
    deposit_card = boss.locator(f"#deposit-{deposit_id}")
    expect(deposit_card).to_contain_text(reference)
    boss.evaluate("window.stillTheSamePage = true")
    # A verification asks once more before it acts.
    deposit_card.locator("summary", has_text="Verifikasi: uang sudah masuk").click()
    deposit_card.get_by_role("button", name="Ya, verifikasi setoran ini").click()
    expect(deposit_card.locator(".badge")).to_have_class(re.compile(r"\bverified\b"))
    expect(deposit_card.get_by_role("button")).to_have_count(0)
    reversal_card = boss.locator(f"#reversal-{reversal_id}")
    expect(reversal_card).to_contain_text(mistaken)
    reversal_card.locator("summary", has_text="Setujui pembatalan").click()
    reversal_card.get_by_role("button", name="Ya, batalkan pembayaran ini").click()
    expect(reversal_card.locator(".badge")).to_have_class(re.compile(r"\bapproved\b"))
    expect(reversal_card).to_contain_text(f"Pembayaran {mistaken} dibatalkan")
    assert boss.evaluate("window.stillTheSamePage") is True, "a decision reloaded the page"
    # The counts came with the answers, in place.
    expect(boss.locator("#pending-deposits-count")).to_have_text(str(waiting - 1))
    shoot(boss, "supervisor-decided")
    # The agents' table agrees with the books.
    boss.get_by_role("navigation").get_by_role("link", name="Agen").click()
    cash_now, _ = cash_of(live_server, "agent1")
    assert rupiah_value(boss.locator("#agent-agent1 .cash").inner_text()) == cash_now

    # The worker's link now says the payment was reversed.
    worker = new_page()
    worker.goto(public_url)
    expect(worker.locator("#slip .state")).to_have_text("DIBATALKAN")
    shoot(worker, "public-slip-reversed")

    # And the agent sees it too; the cash adds up: + two payments - reversal - deposit.
    agent.goto(f"/receipts/{mistaken}")
    expect(agent.locator("#slip .state")).to_have_text("DIBATALKAN")
    expect(agent.locator("#reversal-request")).to_contain_text("Pembayaran ini dibatalkan")
    agent.goto(f"/receipts/{kept}")
    expect(agent.locator("#slip .state")).to_have_text("SAH")
    agent.get_by_role("link", name="PERISAI").click()
    expect(agent.locator("#deposit tr", has_text=reference).locator(".badge")).to_have_class(
        re.compile(r"\bverified\b"))
    # Its deposit list fits 360 px; at 320 px its status column scrolls (reported).
    assert_fits(agent, shoot, "agent-dashboard-after", widths=(360,))
    cash_after, _ = cash_of(live_server, "agent1")
    assert cash_collected - cash_after == mistaken_amount + kept_amount  # reversed + deposited
    assert live_server.query("SELECT status FROM deposits WHERE id = :i", i=deposit_id) == [
        ("verified",)]
    assert live_server.query("SELECT status FROM reversals WHERE id = :i", i=reversal_id) == [
        ("approved",)]


def test_supervisor_rejects_a_deposit_without_javascript(new_page, login, shoot, live_server):
    """The queue's buttons are plain forms first: with JS off the decision posts, redirects back
    to the queue with a message, and the agent sees the reason."""
    agent = new_page()
    login(agent, "agent1")
    receipt, amount, _ = collect_one_month(agent, "Asep Saepudin")
    agent.get_by_role("link", name="PERISAI").click()
    reference = f"SLIP-{receipt}"
    agent.get_by_label("Jumlah (Rp)").fill(str(amount))
    agent.get_by_label("No. referensi / transfer").fill(reference)
    agent.get_by_role("button", name="Ajukan setoran").click()
    expect(agent.locator("#deposit tr", has_text=reference)).to_be_visible()
    [(deposit_id,)] = live_server.query("SELECT id FROM deposits WHERE reference = :r", r=reference)

    boss = new_page(javascript=False)
    login(boss, "supervisor1")  # straight to the home and its queue
    card = boss.locator(f"#deposit-{deposit_id}")
    card.get_by_label("Alasan menolak").fill("Tidak ada di rekening koran")
    with boss.expect_navigation():
        card.get_by_role("button", name="Tolak setoran").click()
    expect(boss).to_have_url(re.compile(r"/supervisor$"))
    expect(boss.locator("#flash")).to_contain_text(f"Setoran {reference} dari Siti Aminah ditolak")
    expect(boss.locator(f"#deposit-{deposit_id}")).to_have_count(0)  # no longer waiting
    shoot(boss, "nojs-deposit-rejected")
    assert live_server.query("SELECT status, reject_reason FROM deposits WHERE id = :i",
                             i=deposit_id) == [("rejected", "Tidak ada di rekening koran")]

    agent.reload()
    row = agent.locator("#deposit tr", has_text=reference)
    expect(row.locator(".badge")).to_have_class(re.compile(r"\brejected\b"))
    expect(row).to_contain_text("Tidak ada di rekening koran")
    shoot(agent, "agent-sees-rejection")
