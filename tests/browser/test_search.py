"""Active search in the worker list: htmx filters as the agent types; without JS, a GET form."""
import re

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect

DADANG_NIK = "3273020101800003"  # demo worker of agent2, same branch as agent1


def result_rows(page):
    return page.locator("#results tbody tr")


def test_search_filters_as_the_agent_types(new_page, login, shoot, live_server):
    [(euis_number,)] = live_server.query(
        "SELECT member_number FROM workers WHERE full_name = 'Euis Komariah'")
    page = new_page()
    login(page, "agent1")
    page.get_by_role("navigation").get_by_role("link", name="Pekerja", exact=True).click()
    expect(result_rows(page).filter(has_text="Asep Saepudin")).to_have_count(1)
    expect(result_rows(page).filter(has_text="Euis Komariah")).to_have_count(1)
    expect(result_rows(page).filter(has_text="Dadang Suherman")).to_have_count(0)  # agent2's
    shoot(page, "list")
    page.evaluate("window.stillTheSamePage = true")

    search = page.get_by_label("Cari nama")
    with page.expect_request(lambda r: "/workers?q=eu" in r.url) as sent:
        search.press_sequentially("eu", delay=60)
    assert sent.value.headers.get("hx-request") == "true"
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text("Euis Komariah")
    expect(page).to_have_url(re.compile(r"/workers\?q=eu$"))
    shoot(page, "typed-eu")

    search.fill("")
    search.press_sequentially(euis_number)
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text(euis_number)

    search.fill(DADANG_NIK)  # another agent's worker: not in agent1's list
    expect(page.locator("#results")).to_contain_text("Tidak ada pekerja yang cocok")
    expect(result_rows(page)).to_have_count(0)
    shoot(page, "other-agents-nik")
    assert page.evaluate("window.stillTheSamePage") is True, "searching reloaded the page"

    page.go_back()  # the pushed history works: back to an earlier search
    expect(page).not_to_have_url(re.compile(re.escape(DADANG_NIK)))


def test_search_without_javascript_is_a_plain_get_form(new_page, login, shoot):
    page = new_page(javascript=False)
    login(page, "supervisor1")
    page.get_by_role("navigation").get_by_role("link", name="Pekerja", exact=True).click()
    page.get_by_label("Cari nama").fill("dadang")
    with page.expect_navigation():
        page.get_by_label("Cari nama").press("Enter")
    expect(page).to_have_url(re.compile(r"/workers\?q=dadang$"))
    expect(result_rows(page)).to_have_count(1)
    expect(result_rows(page).first).to_contain_text("Dadang Suherman")  # the branch's worker
    expect(page.get_by_label("Cari nama")).to_have_value("dadang")
    shoot(page, "nojs-supervisor-search")
    page.get_by_label("Cari nama").fill("Syamsul")  # Makassar's worker
    page.get_by_role("button", name="Cari").click()
    expect(page).to_have_url(re.compile(r"/workers\?q=Syamsul$"))
    expect(page.locator("#results")).to_contain_text("Tidak ada pekerja yang cocok")
