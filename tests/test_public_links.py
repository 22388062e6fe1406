"""Issue 11, finding 8: every link that leaves the app (share link, WhatsApp text, copy field,
QR code, the printed "open …/verify" line, on the agent's slip and the public one) is built on
PUBLIC_BASE_URL, never on the request's Host header; production refuses to start without
PUBLIC_BASE_URL or TRUSTED_HOSTS, and TRUSTED_HOSTS refuses a forged Host."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import _config
from helpers import paid_receipt
from markup import one, parse, text_of
from perisai import create_app
from perisai.links import qr_svg

BASE = "https://perisai.kc-bandung.example"
FORGED = "evil.example"


@pytest.fixture
def slip_page(app, client, auth):
    """The agent's slip page, asked for with a forged Host header."""
    app.config["PUBLIC_BASE_URL"] = BASE
    auth.login("agent1")
    receipt, _ = paid_receipt(client)
    # The client keeps cookies per host: the session is carried over by hand, as a forger would.
    session = client.get_cookie("session", domain="perisai.test").value
    forger = app.test_client(use_cookies=False)
    response = forger.get(f"/receipts/{receipt}",
                          headers={"Host": FORGED, "Cookie": f"session={session}"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_link_on_the_agents_slip_uses_the_public_address(slip_page):
    assert FORGED not in slip_page
    page = parse(slip_page)
    copied = one(page, "input#slip-url")["value"]
    assert copied.startswith(BASE + "/s/")
    # The slip's WhatsApp button goes to the worker's own number when there is one (issue 13),
    # else it is the share button; either way the link it sends is the public one.
    share = one(page, 'a[href^="https://wa.me/"]')
    assert share.get("data-share", copied) == copied
    whatsapp = parse_qs(urlsplit(share["href"]).query)["text"][0]
    assert whatsapp.endswith(copied)
    assert str(one(page, "#receipt svg")) == str(parse(qr_svg(copied)).svg)
    printed = next(text_of(p) for p in page.select(".slip p") if "Pindai" in text_of(p))
    assert f"buka {BASE}/verify untuk" in printed


def test_the_public_slip_uses_the_public_address(app, client, auth, slip_page):
    link = one(parse(slip_page), "input#slip-url")["value"]
    client.post("/logout")
    response = client.get(urlsplit(link).path, headers={"Host": FORGED})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert FORGED not in page and BASE + "/verify" in page
    assert str(one(page, "svg")) == str(parse(qr_svg(link)).svg)


def _production(database_url, monkeypatch, **settings):
    monkeypatch.delenv("PERISAI_DEV", raising=False)
    config = dict(_config(database_url, ""), TESTING=False, PUBLIC_BASE_URL=None,
                  TRUSTED_HOSTS=None)
    config.update(settings)
    return create_app(config)


def test_production_refuses_to_start_without_a_public_address(app, database_url, monkeypatch):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL.*TRUSTED_HOSTS"):
        _production(database_url, monkeypatch)


@pytest.mark.parametrize("bad", ["perisai.example.org", "ftp://perisai.example.org",
                                 "https://", "https://perisai.example.org/?x=1"])
def test_production_refuses_a_malformed_public_address(app, database_url, monkeypatch, bad):
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        _production(database_url, monkeypatch, PUBLIC_BASE_URL=bad)


def test_production_starts_with_a_public_address(app, database_url, monkeypatch):
    made = _production(database_url, monkeypatch, PUBLIC_BASE_URL=BASE)
    assert made.config["PUBLIC_BASE_URL"] == BASE


def test_trusted_hosts_refuse_a_forged_host(app, database_url, monkeypatch):
    made = _production(database_url, monkeypatch, TRUSTED_HOSTS=["perisai.example.org"])
    client = made.test_client()
    assert client.get("/cek", headers={"Host": "perisai.example.org"}).status_code == 200
    assert client.get("/cek", headers={"Host": FORGED}).status_code == 400


def test_trusted_hosts_come_from_the_environment(monkeypatch):
    from perisai.config import from_environment
    monkeypatch.setenv("TRUSTED_HOSTS", "perisai.example.org, 127.0.0.1 ,")
    assert from_environment("/tmp")["TRUSTED_HOSTS"] == ["perisai.example.org", "127.0.0.1"]
    monkeypatch.setenv("TRUSTED_HOSTS", "")
    assert from_environment("/tmp")["TRUSTED_HOSTS"] is None


def test_qr_codes_are_drawn_once_per_address():
    """The slip's QR code is kept for its address: a slip shown again (print, share, the worker's
    check) does not draw it again, and another address never gets a kept code."""
    from perisai.links import qr_svg
    qr_svg.cache_clear()
    first = qr_svg("https://perisai.example/s/one")
    again = qr_svg("https://perisai.example/s/one")
    other = qr_svg("https://perisai.example/s/two")
    assert again is first and other != first
    assert qr_svg.cache_info().hits == 1 and qr_svg.cache_info().misses == 2
