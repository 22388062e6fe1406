"""The agent's receipts of a day (`/receipts?day=`, today by default), each with a reprint link;
only its own, reversed ones marked, a day in the future refused."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpers import nik_for, paid_receipt, relogin
from markup import every, one, parse, text_of
from perisai.domain.clock import local_today
from perisai.extensions import db
from perisai.models import Collection


def pay(client, serial):
    return paid_receipt(client, nik=nik_for(date(1985, 1, 2), "M", serial), sex="M",
                        birth_date="1985-01-02", full_name="Joko Susilo")


@pytest.mark.both_backends
def test_todays_receipts_with_reprint_links(app, client, auth):
    auth.login("agent1")
    first, a = pay(client, 501)
    second, b = pay(client, 502)
    page = parse(client.get("/receipts"))
    rows = every(page, "li.receipt-row")
    assert [text_of(row.find("a")) for row in rows] == [second, first]  # newest first
    assert [one(row, "a.reprint")["href"] for row in rows] == [f"/receipts/{second}",
                                                              f"/receipts/{first}"]
    assert text_of(one(page, ".day-count")) == "2"
    assert text_of(one(page, ".day-total")) == f"Rp{a + b:,}".replace(",", ".")
    today = local_today("Asia/Jakarta")
    assert parse(client.get(f"/receipts?day={today.isoformat()}")).get_text() == page.get_text()
    # Another agent sees none of them; the same day is empty for it.
    relogin(client, auth, "agent2")
    assert not every(parse(client.get("/receipts")), "li.receipt-row")


def test_another_day_and_bad_days(app, client, auth):
    auth.login("agent1")
    receipt, _ = pay(client, 503)
    with app.app_context():
        collection = db.session.scalars(select(Collection).where(
            Collection.receipt_number == receipt)).one()
        collection.collected_at -= timedelta(days=2)
        db.session.commit()
    today = local_today("Asia/Jakarta")
    assert not every(parse(client.get("/receipts")), "li.receipt-row")
    earlier = parse(client.get(f"/receipts?day={(today - timedelta(days=2)).isoformat()}"))
    assert [text_of(a) for a in every(earlier, "li.receipt-row > a:first-child")] == [receipt]
    assert client.get(f"/receipts?day={(today + timedelta(days=1)).isoformat()}").status_code == 422
    assert client.get("/receipts?day=kemarin").status_code == 422


def test_htmx_gets_the_day_fragment(app, client, auth):
    auth.login("agent1")
    pay(client, 504)
    response = client.get("/receipts", headers={"HX-Request": "true"})
    page = parse(response)
    assert response.status_code == 200 and not every(page, "header")
    assert len(every(page, "section#day li.receipt-row")) == 1
    assert "HX-Request" in response.headers["Vary"]
