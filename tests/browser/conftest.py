"""Real-browser fixtures: one live PERISAI server for the session, Debian Chromium via Playwright.

The server is the real app over real HTTP (werkzeug in a background thread) on a migrated,
demo-seeded SQLite file. Every test gets fresh browser contexts on a 360x640 phone viewport;
each context records every request the page makes, and a test fails if any goes to another
host than the live server, or if the server answered 5xx, or the page logged a JS/CSP error.
Screenshots go to $PERISAI_SCREENSHOTS (default: a pytest temporary folder).
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from conftest import DEMO_PASSWORD, _build

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PHONE = {"width": 360, "height": 640}
TIMEOUT_MS = 10_000
# Chromium logs a 4xx answer (422 on a bad form) as "Failed to load resource", and htmx logs a
# request it aborted itself (hx-sync="this:replace" while the agent types) as an error. Both are
# expected; anything else on the error console (a CSP block, a JS error, htmx:responseError) is not.
EXPECTED_CONSOLE_ERRORS = ("Failed to load resource", "htmx:sendAbort", "htmx:afterRequest")


def pytest_collection_modifyitems(config, items):
    """Skip the whole folder, with the reason, when Debian's Chromium is not installed."""
    here = Path(__file__).parent
    missing = not os.path.exists(CHROMIUM)
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
            if missing:
                item.add_marker(pytest.mark.skip(
                    reason=f"browser tests need Debian chromium at {CHROMIUM} "
                           "(apt-get install chromium); `playwright install` is not used"))


@dataclass
class LiveServer:
    url: str
    app: object
    db_path: Path

    def query(self, sql: str, **params):
        """Read the server's database directly (a fresh connection, so we see committed data)."""
        import sqlite3
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    from werkzeug.serving import make_server

    from perisai import create_app
    from perisai.extensions import db

    folder = tmp_path_factory.mktemp("live")
    db_path = folder / "perisai.sqlite3"
    url = f"sqlite:///{db_path}"
    _build(url, str(folder))  # migrate + rates + demo data, as the HTTP tests do
    app = create_app({"SECRET_KEY": "browser-test-secret-key", "SQLALCHEMY_DATABASE_URI": url,
                      "RATELIMIT_ENABLED": False, "TRUSTED_HOSTS": ["127.0.0.1"],
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", app=app, db_path=db_path)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Debian chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory) -> Path:
    folder = os.environ.get("PERISAI_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Traffic:
    """What one browser context asked for and what went wrong on the way."""
    requests: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    allowed_errors: list[str] = field(default_factory=list)  # a test that cuts the network

    def console_error(self, text: str) -> None:
        if not text.startswith(EXPECTED_CONSOLE_ERRORS + tuple(self.allowed_errors)):
            self.page_errors.append(text)


class Shooter:
    def __init__(self, folder: Path, test_name: str):
        self.folder, self.prefix, self.count = folder, re.sub(r"\W+", "_", test_name), 0
        self.saved: list[Path] = []

    def __call__(self, page, step: str, full_page: bool = True) -> Path:
        self.count += 1
        path = self.folder / f"{self.prefix}-{self.count:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=full_page)
        # A full-page screenshot leaves empty style="" attributes behind; htmx would copy them
        # onto swapped-in elements, which the strict CSP (rightly) reports. Not the app's doing.
        page.evaluate("document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))")
        self.saved.append(path)
        return path


@pytest.fixture
def shoot(screenshot_dir, request):
    """shoot(page, "step-name") saves <test>-<NN>-<step-name>.png."""
    return Shooter(screenshot_dir, request.node.name)


@pytest.fixture
def new_page(browser, live_server):
    """new_page(javascript=True) -> a page in a fresh context (no cookies) on a phone screen."""
    opened = []
    host = urlsplit(live_server.url).netloc

    def open_page(javascript: bool = True):
        context = browser.new_context(viewport=PHONE, base_url=live_server.url,
                                      java_script_enabled=javascript, locale="id-ID",
                                      timezone_id="Asia/Jakarta")
        context.set_default_timeout(TIMEOUT_MS)
        traffic = Traffic()
        context.on("request", lambda req: traffic.requests.append(req.url))
        context.on("response", lambda res: res.status >= 500 and traffic.server_errors.append(
            f"{res.status} {res.request.method} {res.url}"))
        page = context.new_page()
        page.on("pageerror", lambda exc: traffic.page_errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and traffic.console_error(msg.text))
        page.traffic = traffic
        opened.append((context, traffic))
        return page

    yield open_page
    problems = []
    for context, traffic in opened:
        context.close()
        foreign = [url for url in traffic.requests
                   if not url.startswith(("data:", "about:", "blob:"))
                   and urlsplit(url).netloc != host]
        if foreign:
            problems.append(f"requests to another host than {host}: {foreign}")
        if traffic.server_errors:
            problems.append(f"server errors: {traffic.server_errors}")
        if traffic.page_errors:
            problems.append(f"errors in the page (JS/CSP): {traffic.page_errors}")
        if not traffic.requests:
            problems.append("a context made no request at all")
    assert not problems, "\n".join(problems)


@pytest.fixture
def login():
    """login(page, "agent1"): log in like a person (type name and password, press Masuk)."""
    return log_in


def log_in(page, username: str, password: str = DEMO_PASSWORD) -> None:
    from playwright.sync_api import expect
    page.goto("/login")
    page.locator("#username").press_sequentially(username)
    page.locator("#password").press_sequentially(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Masuk").click()
    assert urlsplit(page.url).path != "/login", f"login as {username} failed"
    expect(page.get_by_role("button", name="Keluar")).to_be_visible()
