"""Issue 13, items 7 and 8: axe-core finds nothing on any page of any role (with data on it, and
the empty and error states), and on the supervisor's, the admin's and the public pages every
control is at least 44x44 px on a phone.

axe-core comes from npm for this test only (`make axe`: tests/browser/axe/, pinned by its
package-lock.json); it is never shipped in perisai/static. It is run through the DevTools
protocol (page.evaluate), so the app's strict CSP stays as it is.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from browser.test_supervisor import collect_one_month

pytestmark = pytest.mark.browser
expect = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need Python Playwright (test extras)").expect

AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
TARGET_PX = 44
PC = {"width": 1280, "height": 800}

# Every visible control, less links inside a sentence (WCAG 2.5.5 exempts them): an inline
# link whose block holds more text than the link. A checkbox counts through its label.
SMALL_TARGETS = """(min) => [...document.querySelectorAll(
        'a[href], button, input:not([type=hidden]), select, textarea, summary')]
    .filter(e => e.offsetParent !== null || e.tagName === 'SUMMARY')
    .filter(e => {
        if (e.tagName !== 'A' || getComputedStyle(e).display !== 'inline') return true;
        const block = e.closest('p, li, td, dd, dt, small, th, h1, h2, h3');
        return !block || block.textContent.trim().length <= e.textContent.trim().length;
    })
    .map(e => (e.type === 'checkbox' || e.type === 'radio') && e.closest('label') ? e.closest('label') : e)
    .filter(e => { const r = e.getBoundingClientRect();
                   return r.width > 0 && (r.height < min - 0.5 || r.width < min - 0.5); })
    .map(e => { const r = e.getBoundingClientRect();
                return `${Math.round(r.width)}x${Math.round(r.height)} ${e.outerHTML.slice(0, 90)}`; })"""


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        message = f"axe-core is not installed at {AXE}: run `make axe` (npm ci in tests/browser/axe)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE.read_text(encoding="utf-8")


class Audit:
    """Runs axe (and, where asked, the 44 px check) on each page visited; collects every problem
    so one run lists them all."""

    def __init__(self, axe_source: str, shoot):
        self.axe, self.shoot, self.problems, self.pages = axe_source, shoot, [], []

    def __call__(self, page, step: str, targets: bool = True) -> None:
        page.wait_for_load_state("load")
        # A fading htmx indicator is half transparent for a moment: axe reads the page at rest.
        page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')")
        if not page.evaluate("typeof window.axe !== 'undefined'"):
            page.evaluate(self.axe)
        result = page.evaluate("axe.run(document).then(r => r.violations.map(v => "
                               "({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))})))")
        for violation in result:
            self.problems.append(f"{step} ({page.url}): axe {violation['id']} "
                                 f"[{violation['impact']}] on {json.dumps(violation['nodes'][:5])}")
        if targets:
            small = page.evaluate(SMALL_TARGETS, TARGET_PX)
            if small:
                self.problems.append(f"{step} ({page.url}): targets under {TARGET_PX} px: {small}")
        self.pages.append(step)
        self.shoot(page, step)


@pytest.fixture
def audit(axe_source, shoot):
    return Audit(axe_source, shoot)


def test_every_page_of_every_role_passes_axe_and_has_big_targets(new_page, login, audit,
                                                                  live_server):
    # Data to show: a payment with its slip, an open code, a deposit and a reversal waiting.
    agent = new_page()
    login(agent, "agent1")
    receipt, amount, public_url = collect_one_month(agent, "Euis Komariah")
    agent.get_by_text("Minta pembatalan (salah catat)").click()
    agent.get_by_label("Alasan pembatalan").fill("Salah catat: pekerja lain")
    agent.get_by_role("button", name="Kirim permintaan").click()
    expect(agent.locator("#reversal-request")).to_contain_text("Pembatalan diminta")
    audit(agent, "agent-slip", targets=False)
    agent.get_by_role("link", name="PERISAI").click()
    agent.get_by_label("Jumlah (Rp)").fill("1000")
    agent.get_by_label("No. referensi / transfer").fill(f"AXE-{receipt}")
    agent.get_by_role("button", name="Ajukan setoran").click()
    expect(agent.locator("#deposit tr", has_text=f"AXE-{receipt}")).to_be_visible()
    audit(agent, "agent-dashboard", targets=False)
    [(worker_id,)] = live_server.query("SELECT id FROM workers WHERE full_name = 'Asep Saepudin'")
    for path, step in (("/workers", "agent-workers"), ("/workers?q=asep", "agent-search"),
                       ("/workers/new", "agent-register"), (f"/workers/{worker_id}", "agent-worker"),
                       ("/collect", "agent-collect")):
        agent.goto(path)
        audit(agent, step, targets=False)
    agent.goto(f"/workers/{worker_id}")
    agent.locator('input[name="months"][value="1"]').check()
    agent.get_by_role("button", name="Buat kode bayar").click()
    code = agent.locator("#billing .code")
    expect(code).to_be_visible()  # the code and the cash field take the months' place
    audit(agent, "agent-bill", targets=False)
    agent.goto(f"/bills/{code.inner_text().replace(' ', '')}")
    expect(agent.locator("#bill")).to_be_visible()
    audit(agent, "agent-collect-code", targets=False)

    guest = new_page()
    [(member,)] = live_server.query("SELECT member_number FROM workers WHERE full_name = 'Euis Komariah'")
    for path, step in (("/login", "public-login"), ("/cek", "public-check"),
                       ("/verify", "public-verify-empty"),
                       (f"/verify?receipt={receipt}&birth_date=1990-03-05", "public-verify-found"),
                       ("/verify?receipt=000000000000&birth_date=1990-03-05", "public-verify-none"),
                       ("/status", "public-status-empty"),
                       (f"/status?member={member}&birth_date=1990-03-05", "public-status-found"),
                       ("/sponsored", "public-sponsored-empty"),
                       ("/sponsored?nik=3273014503900002", "public-sponsored-answer"),
                       (public_url, "public-slip"), ("/no-such-page", "public-404")):
        guest.goto(path)
        audit(guest, step)

    for viewport in (None, PC):
        boss = new_page()
        if viewport:
            boss.set_viewport_size(viewport)
        login(boss, "supervisor1")
        where = "pc" if viewport else "phone"
        for path, step in (("/supervisor", "home"), ("/supervisor/agents", "agents"),
                           ("/supervisor/agents?sort=cash", "agents-by-cash"),
                           ("/supervisor/agents/agent1", "agent"),
                           ("/supervisor/agents/agent1?from=2026-13-01", "agent-bad-period"),
                           ("/workers", "workers"), (f"/workers/{worker_id}", "worker"),
                           (f"/receipts/{receipt}", "receipt"), ("/reports", "reports")):
            boss.goto(path)
            audit(boss, f"supervisor-{where}-{step}", targets=viewport is None)
        boss.goto("/supervisor")
        boss.locator("#queue details.confirm summary").first.click()
        audit(boss, f"supervisor-{where}-confirm-open", targets=viewport is None)

    admin = new_page()
    login(admin, "admin")
    [(user_id,)] = live_server.query("SELECT id FROM users WHERE username = 'agent2'")
    [(branch_id,)] = live_server.query("SELECT id FROM branches WHERE code = 'BDG01'")
    for path, step in (("/admin", "admin-home"), ("/admin/branches", "admin-branches"),
                       (f"/admin/branches/{branch_id}", "admin-branch"),
                       ("/admin/users", "admin-users"), (f"/admin/users/{user_id}", "admin-user"),
                       ("/admin/rates", "admin-rates"), ("/admin/sponsored", "admin-sponsored"),
                       ("/reports", "admin-reports")):
        admin.goto(path)
        audit(admin, step)

    assert len(audit.pages) >= 40
    assert not audit.problems, "\n".join(audit.problems)
