"""Issue 13 in a real browser, for the supervisor on a PC (1280x800) and a phone: a decision
taken on the home changes every number of the home without a reload, after a second tap that
confirms it; the agent page shows whose payment each receipt was and the agent's own queue."""
import re

import pytest

from browser.test_supervisor import collect_one_month

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect

PC = {"width": 1280, "height": 800}


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text) or 0)


def test_the_home_numbers_follow_a_decision_without_a_reload(new_page, login, shoot,
                                                             live_server):
    agent = new_page()
    login(agent, "agent1")
    receipt, amount, _ = collect_one_month(agent, "Euis Komariah")
    agent.get_by_role("link", name="PERISAI").click()
    reference = f"HOME-{receipt}"
    agent.get_by_label("Jumlah (Rp)").fill(str(amount))
    agent.get_by_label("No. referensi / transfer").fill(reference)
    agent.get_by_role("button", name="Ajukan setoran").click()
    expect(agent.locator("#deposit tr", has_text=reference)).to_be_visible()
    [(deposit_id,)] = live_server.query("SELECT id FROM deposits WHERE reference = :r",
                                        r=reference)

    boss = new_page()
    boss.set_viewport_size(PC)
    login(boss, "supervisor1")
    cash = boss.locator("#stats .cash-total")
    pending = boss.locator("#stats .pending-total")
    cash_before, pending_before = digits(cash.inner_text()), digits(pending.inner_text())
    assert cash_before >= amount and pending_before >= 1
    deposits_before = digits(boss.locator("#pending-deposits-count").inner_text())
    # The page is wider than a phone's on a PC.
    assert boss.evaluate("document.querySelector('main').clientWidth") > 1000
    shoot(boss, "pc-home-before")

    boss.evaluate("window.stillTheSamePage = true")
    card = boss.locator(f"#deposit-{deposit_id}")
    card.locator("summary", has_text="Verifikasi: uang sudah masuk").click()
    question = card.locator("details.confirm form p")
    expect(question).to_be_visible()
    expect(question).to_contain_text(reference)
    shoot(boss, "pc-home-confirm")
    assert live_server.query("SELECT status FROM deposits WHERE id = :i", i=deposit_id) == [
        ("pending",)], "the first tap only asks"
    card.get_by_role("button", name="Ya, verifikasi setoran ini").click()
    expect(card.locator(".badge")).to_have_class(re.compile(r"\bverified\b"))
    expect(cash).to_have_text(re.compile(r"\d"))
    expect(boss.locator("#pending-deposits-count")).to_have_text(str(deposits_before - 1))
    assert digits(cash.inner_text()) == cash_before - amount
    assert digits(pending.inner_text()) == pending_before - 1
    assert boss.evaluate("window.stillTheSamePage") is True, "the decision reloaded the page"
    shoot(boss, "pc-home-after")

    # The same numbers after a reload: the swap told the truth.
    boss.reload()
    assert digits(boss.locator("#stats .cash-total").inner_text()) == cash_before - amount


def test_the_agent_page_names_workers_and_holds_the_agents_queue(new_page, login, shoot,
                                                                 live_server):
    agent = new_page()
    login(agent, "agent1")
    receipt, amount, _ = collect_one_month(agent, "Asep Saepudin")
    agent.get_by_text("Minta pembatalan (salah catat)").click()
    agent.get_by_label("Alasan pembatalan").fill("Salah catat: pekerja belum bayar")
    agent.get_by_role("button", name="Kirim permintaan").click()
    expect(agent.locator("#reversal-request")).to_contain_text("Pembatalan diminta")
    [(reversal_id,)] = live_server.query(
        "SELECT r.id FROM reversals r JOIN collections c ON c.id = r.collection_id "
        "WHERE c.receipt_number = :n", n=receipt)

    boss = new_page()
    login(boss, "supervisor1")
    boss.get_by_role("navigation").get_by_role("link", name="Agen").click()
    boss.locator("#agents").get_by_role("link", name="Siti Aminah").click()
    expect(boss.get_by_role("navigation").get_by_role("link", name="Agen")).to_have_attribute(
        "aria-current", "page")
    line = boss.locator("#statement tr", has_text=receipt).first
    expect(line.locator(".worker")).to_have_text("Asep Saepudin")
    cash_before = digits(boss.locator("#agent-facts dd.cash").inner_text())
    card = boss.locator(f"#reversal-{reversal_id}")
    card.locator("summary", has_text="Setujui pembatalan").click()
    card.get_by_role("button", name="Ya, batalkan pembayaran ini").click()
    expect(card.locator(".badge")).to_have_class(re.compile(r"\bapproved\b"))
    expect(boss.locator("#agent-facts dd.cash")).not_to_have_text(
        re.compile(rf"^Rp\s?{cash_before:,}$".replace(",", ".")))
    assert digits(boss.locator("#agent-facts dd.cash").inner_text()) == cash_before - amount
    shoot(boss, "phone-agent-after-approve")
    boss.get_by_role("navigation").get_by_role("link", name="Laporan").click()
    expect(boss.locator("#report-from")).not_to_have_value("")
    shoot(boss, "phone-reports")
