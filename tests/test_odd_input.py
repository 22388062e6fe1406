"""Issue 11, finding 10: odd input answers 4xx with a message, never a 500, and never a false
"nothing changed" after a change was saved: a newline in a `next` field, and dates at the edge
of the calendar in the agent statement and both CSV reports."""
from __future__ import annotations

import pytest
from flask import g
from sqlalchemy import select

from helpers import paid_receipt, relogin
from markup import one, parse, text_of
from perisai.extensions import db
from perisai.models import Deposit, User
from test_deposits import declare, decision_token, deposits_of

NEWLINE_TARGETS = ["/\nSet-Cookie: x=1", "/supervisor/agents\r\nX: y", "/\r"]


def message(response) -> str:
    return text_of(one(response, "main"))


@pytest.mark.parametrize("target", NEWLINE_TARGETS)
def test_language_switch_with_a_newline_in_next_is_refused(client, target):
    response = client.post("/lang", data={"lang": "en", "next": target})
    assert response.status_code == 400
    assert "next" in message(response)
    assert "lang=" not in response.headers.get("Set-Cookie", "")


def test_login_with_a_newline_in_next_is_refused_before_logging_in(client):
    response = client.post("/login?next=/%0ASet-Cookie:%20x=1",
                           data={"username": "agent1", "password": "demo-password-123"})
    assert response.status_code == 400
    assert "next" in message(response)
    assert client.get("/").status_code == 302  # nobody was logged in


def test_login_with_an_ordinary_next_still_goes_there(client):
    response = client.post("/login?next=/workers",
                           data={"username": "agent1", "password": "demo-password-123"})
    assert response.status_code == 303 and response.headers["Location"] == "/workers"


@pytest.mark.both_backends
@pytest.mark.parametrize("action", ["verify", "reject"])
def test_a_decision_with_a_newline_in_next_decides_nothing_and_says_so(app, client, auth, action):
    auth.login("agent1")
    _, amount = paid_receipt(client)
    assert declare(client, amount=str(amount)).status_code == 303
    [deposit] = deposits_of(app, "agent1")
    relogin(client, auth, "supervisor1")
    response = client.post(f"/deposits/{deposit.id}/{action}",
                           data={"csrf_token": decision_token(client), "reason": "salah",
                                 "next": "/supervisor/agents\nX: y"})
    assert response.status_code == 400
    assert "Tidak ada yang diubah" in message(response)
    assert deposits_of(app, "agent1")[0].status == "pending"


@pytest.mark.both_backends
def test_a_reversal_decision_with_a_newline_in_next_decides_nothing(app, client, auth):
    from perisai.models import Reversal
    auth.login("agent1")
    receipt, _ = paid_receipt(client)
    assert client.post(f"/receipts/{receipt}/reversal",
                       data={"reason": "kode salah ketik"}).status_code == 303
    with app.app_context():
        reversal_id = db.session.scalar(select(Reversal.id))
    relogin(client, auth, "supervisor1")
    response = client.post(f"/reversals/{reversal_id}/approve",
                           data={"csrf_token": decision_token(client), "next": "/supervisor\n"})
    assert response.status_code == 400
    with app.app_context():
        assert db.session.get(Reversal, reversal_id).status == "pending"


def test_an_error_after_a_commit_never_says_nothing_changed(app, client):
    """The error page's own guard: once the request committed, a 500 says to check the result."""
    from perisai.errors import render_error
    with app.test_request_context("/"):
        assert "tidak berubah" in render_error(500).get_data(as_text=True)
        g.committed = True
        page = render_error(500).get_data(as_text=True)
    assert "tidak berubah" not in page and "mungkin sudah tersimpan" in page


EDGE_PERIODS = [("0001-01-01", "0001-01-01"), ("9999-12-31", "9999-12-31"),
                ("0001-01-01", "0001-12-31"), ("9999-01-01", "9999-12-31")]


@pytest.mark.parametrize("first, last", EDGE_PERIODS)
def test_agent_statement_at_the_calendars_edge(client, auth, first, last):
    auth.login("supervisor1")
    response = client.get(f"/supervisor/agents/agent1?from={first}&to={last}")
    assert response.status_code == 422
    assert "2000-01-01" in message(response) and "2099-12-31" in message(response)


@pytest.mark.parametrize("first, last", EDGE_PERIODS)
def test_collections_csv_at_the_calendars_edge(client, auth, first, last):
    auth.login("supervisor1")
    response = client.get(f"/reports/collections.csv?from={first}&to={last}")
    assert response.status_code == 422
    assert "2000-01-01" in message(response)


@pytest.mark.parametrize("first, last", EDGE_PERIODS[:2])
def test_admins_full_nik_csv_at_the_calendars_edge(client, auth, first, last):
    auth.login("admin")
    response = client.post("/reports/collections.csv",
                           data={"branch": "BDG01", "from": first, "to": last})
    assert response.status_code == 422
    assert "2000-01-01" in message(response)


@pytest.mark.parametrize("month", ["0001-01", "9999-12"])
def test_agents_csv_at_the_calendars_edge(client, auth, month):
    auth.login("supervisor1")
    response = client.get(f"/reports/agents.csv?month={month}")
    assert response.status_code == 422
    assert "2000-01-01" in message(response)


def test_ordinary_periods_still_work(client, auth):
    auth.login("supervisor1")
    assert client.get("/supervisor/agents/agent1?from=2026-11-01&to=2026-11-30").status_code == 200
    response = client.get("/reports/collections.csv?from=2000-01-01&to=2000-12-31")
    assert response.status_code == 200
    response.close()
    response = client.get("/reports/agents.csv?month=2099-12")
    assert response.status_code == 200
    response.close()
