"""Every page in two variants: a plain request gets the full page, an htmx request (`HX-Request:
true`, not boosted) only the fragment it swaps in, and both say `Vary: HX-Request` so no cache
hands one to the other. Routes that htmx never asks for a fragment of answer the full page to
both and do not vary; an htmx request that needs a login gets 401 with `HX-Redirect` to /login
(perisai/__init__.py: unauthorized) instead of a redirect htmx would swap into the page.
"""
from __future__ import annotations

import pytest
from sqlalchemy import select

from conftest import csrf_token
from markup import has
from helpers import (amount_of_bill, bill_code_from, collect_form, issue_bill, paid_receipt, relogin)
from perisai.extensions import db
from perisai.models import Collection

HTMX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}


@pytest.fixture
def world(app, client, auth) -> dict:
    """As agent1: a paid receipt and, for the same worker, an open code. agent1 stays logged in."""
    auth.login("agent1")
    receipt, _ = paid_receipt(client)
    with app.app_context():
        collection = db.session.scalars(select(Collection).where(
            Collection.receipt_number == receipt)).one()
        worker_id, paid_code = collection.worker_id, collection.bill.code
        db.session.remove()
    open_code = bill_code_from(issue_bill(client, worker_id, 1))
    return {"receipt": receipt, "worker_id": worker_id, "paid_code": paid_code,
            "open_code": open_code}


def as_role(client, auth, role: str) -> None:
    if role == "anonymous":
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    elif role != "agent1":
        relogin(client, auth, role)


def varies(response) -> bool:
    return "hx-request" in {value.strip().lower() for value in response.headers.get("Vary", "").split(",")}


# (who, path, the fragment's own element) for the routes that answer htmx with a fragment.
BRANCHING = [
    ("agent1", "/workers", '<div class="scroll"><table>'),
    ("agent1", "/workers?q=rina", '<div class="scroll"><table>'),
    ("agent1", "/bills/{paid_code}", '<section class="card" id="bill">'),
    ("agent1", "/bills/{open_code}", '<section class="card" id="bill">'),
    ("agent1", "/collect", '<div id="collect">'),
    ("agent1", "/collect?code={open_code}", '<div id="collect">'),
    ("agent1", "/receipts/{receipt}", '<div id="receipt">'),
    ("supervisor1", "/", '<section id="queue">'),  # the supervisor's start page: its queue
    ("supervisor1", "/workers", '<div class="scroll"><table>'),
    ("supervisor1", "/receipts/{receipt}", '<div id="receipt">'),
]
# Routes that do not branch: nothing in the app asks them for a fragment (no hx-get points at
# them), so htmx gets the same full page and the answer does not vary on HX-Request.
NOT_BRANCHING = [
    ("agent1", "/"),              # dashboard/views.py: render_template, the agent's start page
    ("admin", "/"),               # admin/views.py:index, render_template
    ("agent1", "/workers/{worker_id}"),
    ("supervisor1", "/workers/{worker_id}"),
    ("anonymous", "/verify"),     # the public pages: plain forms, no htmx
    ("anonymous", "/status"),
    ("anonymous", "/sponsored"),
    ("anonymous", "/sponsored?nik=3273015208950007"),
    ("agent1", "/verify"),
]


@pytest.mark.parametrize("role, path, fragment", BRANCHING, ids=[f"{r} {p}" for r, p, _ in BRANCHING])
def test_htmx_gets_the_fragment_and_a_plain_request_the_page(client, auth, world, role, path, fragment):
    as_role(client, auth, role)
    url = path.format(**world)
    plain = client.get(url)
    htmx = client.get(url, headers=HTMX)
    boosted = client.get(url, headers=BOOSTED)
    for response in (plain, htmx, boosted):
        assert response.status_code == 200, (url, response.status_code)
        assert varies(response), (url, response.headers.get("Vary"))
    page, part = plain.get_data(as_text=True), htmx.get_data(as_text=True)
    assert "<html" in page and fragment in page  # the page includes its fragment
    assert "<html" not in part and "<body" not in part
    assert part.lstrip().startswith(fragment), part[:200]  # the fragment itself, nothing around it
    assert "<html" in boosted.get_data(as_text=True)  # a boosted link navigates: the page


@pytest.mark.parametrize("role, path", NOT_BRANCHING, ids=[f"{r} {p}" for r, p in NOT_BRANCHING])
def test_routes_that_do_not_branch_answer_the_page_to_both(client, auth, world, role, path):
    as_role(client, auth, role)
    url = path.format(**world)
    plain = client.get(url)
    htmx = client.get(url, headers=HTMX)
    for response in (plain, htmx):
        assert response.status_code == 200, (url, response.status_code)
        assert "<html" in response.get_data(as_text=True)
        assert not varies(response), f"{url} says it varies on HX-Request but does not branch"


PROTECTED = ["/", "/workers", "/workers/{worker_id}", "/bills/{paid_code}", "/collect",
             "/collect?code={open_code}", "/receipts/{receipt}"]


@pytest.mark.parametrize("path", PROTECTED)
def test_an_htmx_request_without_a_login_is_told_to_go_to_login(app, world, path):
    anonymous = app.test_client()
    url = path.format(**world)
    plain = anonymous.get(url)
    assert plain.status_code == 302
    assert plain.headers["Location"].startswith("/login?next=")
    htmx = anonymous.get(url, headers=HTMX)
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login?next=")
    assert url.split("?")[0] in htmx.headers["HX-Redirect"]  # back here after the login
    assert "Location" not in htmx.headers and htmx.get_data(as_text=True) == ""


@pytest.mark.csrf
def test_logout_plain_and_htmx(app, client, auth, world):
    """POST /logout does not branch: a 303 to /login for both (the logout button is a plain
    form). Without a login it is refused like any protected route; without CSRF it is a 400."""
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert not varies(response)
    assert client.get("/").status_code == 302  # logged out

    auth.login("agent1")
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")}, headers=HTMX)
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "HX-Redirect" not in response.headers
    assert client.get("/", headers=HTMX).status_code == 401  # logged out too

    anonymous = app.test_client()
    token = csrf_token(anonymous, "/login")
    plain = anonymous.post("/logout", data={"csrf_token": token})
    assert plain.status_code == 302 and plain.headers["Location"].startswith("/login")
    htmx = anonymous.post("/logout", data={"csrf_token": token}, headers=HTMX)
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"].startswith("/login")
    refused = anonymous.post("/logout", headers=HTMX)  # no CSRF token: the error fragment
    assert refused.status_code == 400
    assert "<html" not in refused.get_data(as_text=True)
    assert has(refused, "#error")


def test_collect_post_answers_htmx_with_the_receipt_fragment(app, client, world):
    code = world["open_code"]
    amount = amount_of_bill(client, code)
    wrong = client.post("/collect", data=dict(collect_form(client, code), amount="1"), headers=HTMX)
    assert wrong.status_code == 422 and varies(wrong)
    body = wrong.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="collect">') and "<html" not in body
    assert "Jumlah uang harus sama dengan tagihan" in body

    wrong_plain = client.post("/collect", data=dict(collect_form(client, code), amount="1"))
    assert wrong_plain.status_code == 422 and varies(wrong_plain)
    assert "<html" in wrong_plain.get_data(as_text=True)

    paid = client.post("/collect", data=dict(collect_form(client, code), amount=str(amount)),
                       headers=HTMX)
    assert paid.status_code == 200 and varies(paid)
    body = paid.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="receipt">') and "<html" not in body
    assert paid.headers["HX-Push-Url"].startswith("/receipts/")
    number = paid.headers["HX-Push-Url"].rsplit("/", 1)[1]
    assert number in body.replace(" ", "")


def test_error_pages_branch_like_the_pages(client, world):
    """A 404 from a branching route: the error card alone for htmx (errors/_error.html), in the
    full page otherwise."""
    plain = client.get("/receipts/000000000000")
    htmx = client.get("/receipts/000000000000", headers=HTMX)
    assert plain.status_code == htmx.status_code == 404
    assert "<html" in plain.get_data(as_text=True) and has(plain, "main #error")
    part = htmx.get_data(as_text=True)
    assert "<html" not in part and part.lstrip().startswith('<section class="card error-card" id="error">')


def test_error_pages_say_they_vary_on_hx_request(client, world):
    """errors.py:render_error picks errors/_error.html or errors/error.html by HX-Request."""
    plain = client.get("/receipts/000000000000")
    htmx = client.get("/receipts/000000000000", headers=HTMX)
    assert varies(plain) and varies(htmx)
