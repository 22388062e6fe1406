"""Issue 13 for the supervisor over HTTP: a decision answers with every number it changed on
the page it was made from (htmx out-of-band swaps), verify and approve ask once more before they
act, the agent page has the agent's queue and whose payment each receipt was, the report forms
start on this month, and the navigation marks the page you are on."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from helpers import (figure_cards, form_key, nik_for, paid_receipt, register, relogin,
                     worker_id_from)
from markup import every, has, one, parse, text_of
from perisai.extensions import db
from perisai.models import Deposit, HeirChange, Reversal
from test_member_data import EDIT
from test_deposits import declare

HTMX = {"HX-Request": "true"}


def rupiah(text: str) -> int:
    return int("".join(ch for ch in text if ch.isdigit()) or 0)


def oob(page) -> dict[str, object]:
    """The out-of-band elements of an htmx answer, by id. A table row comes in a <template>
    (as htmx needs it); it is read here inside a table, as the browser reads it."""
    if hasattr(page, "get_data"):
        html = page.get_data(as_text=True)
        assert not re.search(r"<tr[^>]*hx-swap-oob", re.sub(r"<template>.*?</template>", "", html,
                                                            flags=re.S)), "a bare <tr> out of band"
        page = parse(re.sub(r"<template>(.*?)</template>", r"<table>\1</table>", html, flags=re.S))
    return {el["id"]: el for el in every(page, "[hx-swap-oob]")}


def pending_deposit(app, client, auth, reference="BRI-OOB-1"):
    """agent1 collects and declares the money; returns (deposit id, amount)."""
    auth.login("agent1")
    _, amount = paid_receipt(client, months=3)
    assert declare(client, amount=str(amount), reference=reference).status_code == 303
    with app.app_context():
        deposit_id = db.session.scalar(select(Deposit.id).where(Deposit.reference == reference))
    relogin(client, auth, "supervisor1")
    return deposit_id, amount


def pending_reversal(app, client, auth):
    """agent1 collects and asks to reverse it; returns (reversal id, receipt, amount)."""
    relogin(client, auth, "agent1")
    receipt, amount = paid_receipt(client, months=1, sex="M", birth_date="1991-02-03",
                                   nik=nik_for(date(1991, 2, 3), "M", 77), full_name="Ujang Permana")
    page = client.get(f"/receipts/{receipt}").get_data(as_text=True)
    response = client.post(f"/receipts/{receipt}/reversal",
                           data={"reason": "Salah catat, pekerja lain",
                                 "csrf_token": form_key(page, "csrf_token")})
    assert response.status_code == 303, response.get_data(as_text=True)
    with app.app_context():
        reversal_id = db.session.scalar(select(Reversal.id).order_by(Reversal.id.desc()))
    relogin(client, auth, "supervisor1")
    return reversal_id, receipt, amount


@pytest.mark.both_backends
def test_verifying_from_the_home_updates_every_number_of_the_home(app, client, auth):
    deposit_id, amount = pending_deposit(app, client, auth)
    home = parse(client.get("/supervisor"))
    before = figure_cards(home)
    cash_before = rupiah(before["Uang tunai di semua agen"])
    assert cash_before >= amount and before["Menunggu tindakan"] == "1"
    assert text_of(one(home, "#pending-deposits-count")) == "1"
    assert has(home, "#stats") and has(home, "#flagged")

    answer = client.post(f"/deposits/{deposit_id}/verify", headers=HTMX,
                         data={"next": "/supervisor"})
    assert answer.status_code == 200
    page = parse(answer)
    swapped = oob(answer)
    assert set(swapped) >= {"stats", "flagged", "pending-deposits-count",
                            "pending-reversals-count", "pending-heir-changes-count"}
    # The item is drawn again in place (not out of band), now verified.
    assert "verified" in one(page, f"#deposit-{deposit_id} .badge")["class"]
    after = figure_cards(swapped["stats"])
    assert rupiah(after["Uang tunai di semua agen"]) == cash_before - amount
    assert after["Menunggu tindakan"] == "0"
    assert text_of(swapped["pending-deposits-count"]) == "0"
    # The full page agrees with what the answer swapped in.
    assert figure_cards(parse(client.get("/supervisor"))) == after


@pytest.mark.both_backends
def test_approving_from_the_agents_page_updates_the_agents_row_and_counts(app, client, auth):
    reversal_id, receipt, amount = pending_reversal(app, client, auth)
    listing = parse(client.get("/supervisor/agents"))
    # The table does not repeat the queue: its counts and the way to the home's queue.
    assert not listing.select(f'form[action="/reversals/{reversal_id}/approve"]')
    assert one(listing, '#queue-summary a[href="/supervisor#queue"]')
    home = parse(client.get("/supervisor"))
    assert one(home, f'form[action="/reversals/{reversal_id}/approve"]')
    cash_before = rupiah(text_of(one(listing, "#agent-agent1 .cash")))
    assert text_of(one(listing, "#pending-reversals-count")) == "1"
    answer = client.post(f"/reversals/{reversal_id}/approve", headers=HTMX,
                         data={"next": "/supervisor/agents"})
    assert answer.status_code == 200
    swapped = oob(answer)
    # Only what the agents page has: no home totals there (htmx would report a missing target).
    assert set(swapped) == {"agent-agent1", "pending-deposits-count", "pending-reversals-count",
                            "pending-heir-changes-count"}
    assert rupiah(text_of(swapped["agent-agent1"].select_one(".cash"))) == cash_before - amount
    assert text_of(swapped["pending-reversals-count"]) == "0"


@pytest.mark.both_backends
def test_rejecting_from_the_agent_page_updates_its_facts(app, client, auth):
    deposit_id, amount = pending_deposit(app, client, auth, reference="BRI-OOB-2")
    page = parse(client.get("/supervisor/agents/agent1"))
    # The agent page lists the agent's own waiting deposit with its actions.
    item = one(page, f"#deposit-{deposit_id}")
    assert has(item, "form[action$='/verify']") and has(item, "form[action$='/reject']")
    cash = text_of(one(page, "#agent-facts dd.cash"))
    answer = client.post(f"/deposits/{deposit_id}/reject", headers=HTMX,
                         data={"next": "/supervisor/agents/agent1", "reason": "Ref. salah"})
    swapped = oob(answer)
    assert set(swapped) == {"agent-facts", "pending-deposits-count", "pending-reversals-count",
                            "pending-heir-changes-count", "statement"}
    assert text_of(swapped["agent-facts"].select_one("dd.cash")) == cash  # rejected: unchanged
    assert text_of(swapped["pending-deposits-count"]) == "0"


@pytest.mark.both_backends
def test_deciding_a_change_of_heir_updates_its_count_and_the_home(app, client, auth):
    relogin(client, auth, "agent1")
    response = register(client, nik=nik_for(date(1990, 4, 5), "F", 81), birth_date="1990-04-05",
                        full_name="Neneng Yulia")
    assert response.status_code == 303, response.get_data(as_text=True)
    worker_id = worker_id_from(response)
    assert client.post(f"/workers/{worker_id}/edit",
                       data=dict(EDIT, heir_name="Nur Aini", heir_relation="anak")).status_code == 303
    with app.app_context():
        change_id = db.session.scalar(select(HeirChange.id).where(HeirChange.worker_id == worker_id))
    relogin(client, auth, "supervisor1")
    for path in ("/supervisor", "/supervisor/agents", "/supervisor/agents/agent1"):
        assert text_of(one(parse(client.get(path)), "#pending-heir-changes-count")) == "1", path
    waiting = figure_cards(parse(client.get("/supervisor")))["Menunggu tindakan"]
    answer = client.post(f"/heir-changes/{change_id}/approve", headers=HTMX,
                         data={"note": "Dicek lewat telepon", "next": "/supervisor"})
    assert answer.status_code == 200
    swapped = oob(answer)
    assert text_of(swapped["pending-heir-changes-count"]) == "0"
    assert int(figure_cards(swapped["stats"])["Menunggu tindakan"]) == int(waiting) - 1
    assert text_of(one(parse(client.get("/supervisor")), "#pending-heir-changes-count")) == "0"


def test_a_refused_decision_also_brings_the_numbers(app, client, auth):
    deposit_id, _ = pending_deposit(app, client, auth, reference="BRI-OOB-3")
    assert client.post(f"/deposits/{deposit_id}/verify",
                       data={"next": "/supervisor"}).status_code == 303
    again = client.post(f"/deposits/{deposit_id}/verify", headers=HTMX,
                        data={"next": "/supervisor"})
    assert again.status_code == 409
    swapped = oob(again)
    assert figure_cards(swapped["stats"])["Menunggu tindakan"] == "0"


def test_a_decision_from_a_receipt_page_brings_no_stray_oob(app, client, auth):
    reversal_id, receipt, _ = pending_reversal(app, client, auth)
    answer = client.post(f"/reversals/{reversal_id}/reject", headers=HTMX,
                         data={"next": f"/receipts/{receipt}"})
    assert answer.status_code == 200 and oob(answer) == {}


def test_verify_and_approve_ask_once_more(app, client, auth):
    deposit_id, amount = pending_deposit(app, client, auth, reference="BRI-OOB-4")
    reversal_id, receipt, _ = pending_reversal(app, client, auth)
    page = parse(client.get("/supervisor"))
    for item, button in ((f"#deposit-{deposit_id}", "Ya, verifikasi setoran ini"),
                         (f"#reversal-{reversal_id}", "Ya, batalkan pembayaran ini")):
        confirm = one(page, f"{item} details.confirm")
        assert not confirm.has_attr("open")  # closed: the first tap only opens the question
        assert one(confirm, "summary")
        assert text_of(one(confirm, "form button")) == button
    question = text_of(one(page, f"#deposit-{deposit_id} details.confirm form p"))
    assert "BRI-OOB-4" in question and "Siti Aminah" in question
    assert receipt in text_of(one(page, f"#reversal-{reversal_id} details.confirm form p"))


def test_agent_statement_names_the_worker_of_each_receipt(app, client, auth):
    auth.login("agent1")
    receipt, _ = paid_receipt(client, months=1, full_name="Nining Suryani")  # one of agent1's
    relogin(client, auth, "supervisor1")
    page = parse(client.get("/supervisor/agents/agent1"))
    [line] = [tr for tr in every(page, "#statement tbody tr") if receipt in text_of(tr)]
    assert text_of(one(line, ".worker")) == "Nining Suryani"


@pytest.mark.parametrize("user", ["supervisor1", "admin"])
def test_report_forms_start_on_this_month(app, client, auth, user):
    auth.login(user)
    page = parse(client.get("/reports"))
    start, end = one(page, "#report-from")["value"], one(page, "#report-to")["value"]
    day_from, day_to = date.fromisoformat(start), date.fromisoformat(end)
    assert day_from.day == 1 and (day_from.year, day_from.month) == (day_to.year, day_to.month)
    assert one(page, "#report-month")["value"] == start[:7]
    # The defaults download as they are.
    query = f"from={start}&to={end}" + ("&branch=BDG01" if user == "admin" else "")
    assert client.get(f"/reports/collections.csv?{query}").status_code == 200


@pytest.mark.parametrize("user, path, current", [
    ("supervisor1", "/supervisor/agents", "Agen"),
    ("supervisor1", "/supervisor/agents/agent1", "Agen"),
    ("supervisor1", "/reports", "Laporan"),
    ("supervisor1", "/workers", "Pekerja"),
    ("agent1", "/workers/new", "Daftar"),
    ("admin", "/admin/rates", "Tarif"),
    ("admin", "/reports", "Laporan"),
])
def test_the_navigation_marks_the_page_you_are_on(client, auth, user, path, current):
    auth.login(user)
    page = parse(client.get(path))
    marked = [text_of(a) for a in every(page, "nav a[aria-current=page]")]
    assert current in marked
    assert all(marked.count(label) == 1 for label in marked)


def test_supervisor_pages_link_to_the_reports(client, auth):
    auth.login("supervisor1")
    for path in ("/supervisor", "/supervisor/agents", "/supervisor/agents/agent1"):
        assert has(parse(client.get(path)), "nav a[href='/reports']"), path


def test_approving_on_the_agent_page_brings_its_statement_for_the_period_shown(app, client,
                                                                               auth):
    reversal_id, receipt, amount = pending_reversal(app, client, auth)
    page = parse(client.get("/supervisor/agents/agent1"))
    first = one(page, "#from")["value"]
    shown = f"http://perisai.test/supervisor/agents/agent1?from={first}&to={one(page, '#to')['value']}"
    answer = client.post(f"/reversals/{reversal_id}/approve",
                         headers=dict(HTMX, **{"HX-Current-URL": shown}),
                         data={"next": "/supervisor/agents/agent1"})
    statement = oob(answer)["statement"]
    lines = [text_of(tr) for tr in statement.select("tbody tr") if receipt in text_of(tr)]
    assert len(lines) == 2  # the payment and, now, its reversal
    closing = text_of(statement.select("tr.closing")[0])
    assert rupiah(closing) == rupiah(text_of(oob(answer)["agent-facts"].select_one("dd.cash")))
