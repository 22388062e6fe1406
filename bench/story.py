"""The agent's story in a real Chromium, step by step, for page_weight.py and phone.py.

Each step is an action (a click, a form sent) and a condition that says the next screen is
usable: for a full page, the new URL with `document.readyState == "complete"` (CSS and the
deferred scripts ran); for an htmx swap, the swapped-in element. A recorder sees each step's
start and end; the network is observed through the Chrome DevTools Protocol.
"""
from __future__ import annotations

import random
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from .common import CHROMIUM, CHROMIUM_ARGS, PASSWORD

READY = "document.readyState === 'complete'"


@dataclass
class Request:
    url: str
    method: str = "GET"
    type: str = ""
    status: int = 0
    encoding: str = ""
    header_bytes: int = 0
    wire_bytes: int = 0
    from_cache: bool = False
    htmx: bool = False
    finished: bool = False


@dataclass
class StepResult:
    name: str
    kind: str  # first | page | fragment | checks
    seconds: float = 0.0
    requests: list[Request] = field(default_factory=list)

    @property
    def network(self) -> list[Request]:
        return [r for r in self.requests if not r.from_cache and not r.url.startswith("data:")]

    @property
    def wire_bytes(self) -> int:
        return sum(r.wire_bytes for r in self.network)

    @property
    def body_bytes(self) -> int:
        return sum(max(0, r.wire_bytes - r.header_bytes) for r in self.network)


class Network:
    """Collects CDP Network events into Request rows, per step."""

    def __init__(self, cdp, base: str):
        self.base_host = urlsplit(base).netloc
        self.by_id: dict[str, Request] = {}
        self.current: list[Request] = []
        self.foreign: list[str] = []
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._cached)
        cdp.send("Network.enable")

    def _sent(self, event):
        url = event["request"]["url"]
        redirect = event.get("redirectResponse")
        if redirect and event["requestId"] in self.by_id:
            # The 303 of a POST/redirect/GET: count the redirect response, then the new GET.
            previous = self.by_id[event["requestId"]]
            previous.status = redirect["status"]
            previous.wire_bytes = previous.header_bytes = int(redirect.get("encodedDataLength", 0))
            previous.finished = True
        if not url.startswith("data:") and urlsplit(url).netloc != self.base_host:
            self.foreign.append(url)
        request = Request(url=url, method=event["request"]["method"], type=event.get("type", ""),
                          htmx="HX-Request" in event["request"].get("headers", {}))
        self.by_id[event["requestId"]] = request
        self.current.append(request)

    def _response(self, event):
        request = self.by_id.get(event["requestId"])
        if request is None:
            return
        response = event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        request.status = response["status"]
        request.encoding = headers.get("content-encoding", "")
        request.header_bytes = int(response.get("encodedDataLength", 0))
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            request.from_cache = True

    def _finished(self, event):
        request = self.by_id.get(event["requestId"])
        if request is not None:
            request.wire_bytes = int(event.get("encodedDataLength", 0))
            request.finished = True

    def _cached(self, event):
        request = self.by_id.get(event["requestId"])
        if request is not None:
            request.from_cache = True

    def take(self) -> list[Request]:
        taken, self.current = self.current, []
        return taken


def launch(playwright, headless: bool = True):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                      headless=headless)


def unique_nik() -> tuple[str, str, str]:
    """A valid NIK no seeded worker has (Bandung region 327301), with its birth date and sex."""
    rng = random.SystemRandom()
    year, month, day = rng.randint(1970, 2004), rng.randint(1, 12), rng.randint(1, 28)
    sex = rng.choice("MF")
    nik = f"327301{day + (40 if sex == 'F' else 0):02d}{month:02d}{year % 100:02d}" \
          f"{rng.randint(1, 9999):04d}"
    return nik, f"{year:04d}-{month:02d}-{day:02d}", sex


class Story:
    """Drives one browser page through the agent story; `on_step` receives every StepResult."""

    def __init__(self, page, base: str, network: Network | None, settle: bool):
        self.page = page
        self.base = base
        self.network = network
        self.settle = settle  # wait for the network to go quiet (page weight) or not (timing)
        self.results: list[StepResult] = []

    def step(self, name: str, kind: str, action, ready) -> StepResult:
        if self.network:
            self.network.take()
        started = time.perf_counter()
        action()
        ready()
        seconds = time.perf_counter() - started
        if self.settle:
            self.page.wait_for_load_state("networkidle")
        result = StepResult(name, kind, seconds, self.network.take() if self.network else [])
        self.results.append(result)
        return result

    def _page_ready(self, pattern: str):
        def ready():
            self.page.wait_for_url(re.compile(pattern))
            self.page.wait_for_function(READY)
        return ready

    def _selector_ready(self, selector: str):
        return lambda: self.page.wait_for_selector(selector, state="visible")

    def agent(self, username: str, label: str = "") -> None:
        page, base = self.page, self.base
        self.step(f"login page{label}", "first", lambda: page.goto(base + "/login"),
                  lambda: page.wait_for_function(READY))
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        self.step("log in → dashboard", "page", lambda: page.click("main button[type=submit]"),
                  self._page_ready(r"/$"))
        self.step("new registration form", "page",
                  lambda: page.click("nav a[href='/workers/new']"),
                  self._page_ready(r"/workers/new$"))
        nik, birth, sex = unique_nik()
        fields = {"#nik": nik, "#full_name": "Rina Marlina", "#birth_date": birth,
                  "#phone": "0812 3456 7890", "#address": "Jl. Dago 100, Bandung",
                  "#declared_income": "1.000.000", "#heir_name": "Asep Marlina"}

        def fill_form():
            page.check("input[name=doc_ktp]")
            page.check("input[name=doc_kk]")
            for selector, value in fields.items():
                page.fill(selector, value)
            page.select_option("#sex", sex)
            page.select_option("#occupation", "pedagang")
            page.select_option("#programs", "3")
            page.select_option("#heir_relation", index=1)
            page.check("input[name=consent]")
            page.wait_for_timeout(900)  # the live check fires 700 ms after the last input

        self.step("registration live checks (htmx)", "checks", fill_form, lambda: None)
        self.step("register → worker page", "page",
                  lambda: page.click("main form button[type=submit]"),
                  self._page_ready(r"/workers/\d+$"))
        self.step("issue a code → bill page", "page",
                  lambda: page.click("form[action$='/bills'] button[type=submit]"),
                  self._page_ready(r"/bills/\d+$"))
        code = page.url.rsplit("/", 1)[1]
        self.step("collect page", "page", lambda: page.click("nav a[href='/collect']"),
                  self._page_ready(r"/collect$"))
        page.fill("#code", code)
        self.step("enter code → bill to confirm (htmx)", "fragment",
                  lambda: page.click("#collect form[hx-get] button[type=submit]"),
                  self._selector_ready("input[name=amount]"))
        # The agent types the amount the bill shows ("Harus tepat Rp36.800.").
        shown = page.text_content("#collect form[hx-post]") or ""
        amount = re.search(r"Rp([\d.]+)", shown.split("Harus tepat", 1)[-1]).group(1)
        page.fill("input[name=amount]", amount.replace(".", ""))
        self.step("record cash → slip (htmx)", "fragment",
                  lambda: page.click("form[hx-post] button[data-once]"),
                  self._selector_ready("#receipt"))
        self.step("slip page (opened again)", "page", lambda: page.reload(),
                  self._page_ready(r"/receipts/\d+$"))

    def supervisor(self, username: str, label: str = "") -> None:
        page = self.page
        page.click("footer form[action='/logout'] button")
        page.wait_for_url(re.compile(r"/login"))
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        self.step(f"supervisor log in → home{label}", "page",
                  lambda: page.click("main button[type=submit]"),
                  self._page_ready(r"/supervisor$"))
        self.step("supervisor agents page", "page",
                  lambda: page.click("nav a[href='/supervisor/agents']"),
                  self._page_ready(r"/supervisor/agents$"))
        page.click("footer form[action='/logout'] button")
        page.wait_for_url(re.compile(r"/login"))
