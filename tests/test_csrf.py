"""CSRF: every POST route refuses a request without a valid token, form post or htmx alike, and
changes nothing; no GET route changes the database."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from conftest import csrf_token
from perisai.extensions import db
from test_access_matrix import case_for, ROLES, app_rules, build_world, login_as, post_data

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://perisai.test/"}


def row_counts(app) -> dict[str, str]:
    """Per table: the row count and a digest of every row, so an UPDATE shows up too."""
    with app.app_context():
        counts = {}
        for table in db.metadata.sorted_tables:
            rows = sorted(repr(tuple(row)) for row in db.session.execute(select(table)))
            digest = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:12]
            counts[table.name] = f"{len(rows)} rows #{digest}"
        db.session.remove()
    return counts


def post_routes(app) -> list[str]:
    return sorted(rule for rule, methods in app_rules(app).items() if "POST" in methods)


@pytest.mark.parametrize("role", ["anonymous", "agent1", "supervisor1", "admin"])
def test_post_without_valid_token_is_refused(app, client, auth, role):
    world = build_world(client, auth)
    login_as(client, role)
    good_token = csrf_token(client, "/cek")
    before = row_counts(app)
    routes = post_routes(app)
    assert routes, "no POST routes found"
    tried = 0
    for rule in routes:
        case = case_for(rule, "POST")
        url = world.fill(case.url)
        data = post_data(case, world, good_token)
        del data["csrf_token"]
        attempts = [
            ("no token", data, {}),
            ("no token, htmx", data, HTMX),
            ("forged token", dict(data, csrf_token="forged." + good_token[7:]), {}),
            ("forged header, htmx", data, dict(HTMX, **{"X-CSRFToken": good_token[:-2] + "xx"})),
            ("empty token", dict(data, csrf_token=""), HTMX),
        ]
        for label, form, headers in attempts:
            response = client.post(url, data=form, headers=headers)
            tried += 1
            assert response.status_code == 400, f"{label}: POST {url} as {role} gave {response.status_code}"
            body = response.get_data(as_text=True)
            assert "kedaluwarsa atau tidak sah" in body, f"{label}: POST {url} gave no clear message"
            if headers:
                assert "<html" not in body, f"{label}: htmx got a full page from POST {url}"
    assert row_counts(app) == before, "a refused POST changed the database"
    # The session is still usable: a forged token must not have logged anyone out.
    assert client.get("/" if role != "anonymous" else "/cek").status_code in (200, 302)
    print(f"\nCSRF: {tried} forged POSTs to {len(routes)} routes refused as {role}")


def test_htmx_header_token_is_accepted(client, auth):
    """htmx sends the token in X-CSRFToken (hx-headers on <body>): that must work."""
    auth.login("agent1")
    token = csrf_token(client, "/workers/new")
    response = client.post("/workers/new/check", data={"nik": "3273015208950007"},
                           headers=dict(HTMX, **{"X-CSRFToken": token}))
    assert response.status_code == 200


def test_token_of_another_session_is_refused(app, client, auth):
    other = app.test_client()
    stolen = csrf_token(other, "/login")
    auth.login("agent1")
    response = client.post("/workers/new/check", data={"nik": "1", "csrf_token": stolen})
    assert response.status_code == 400


@pytest.mark.parametrize("role", ROLES)
def test_no_get_route_changes_the_database(app, client, auth, role):
    world = build_world(client, auth)
    login_as(client, role)
    before = row_counts(app)
    gets = [(rule, world.fill(case_for(rule, "GET").url)) for rule, methods in app_rules(app).items()
            if "GET" in methods]
    for rule, url in gets:
        for headers in ({}, HTMX):
            response = client.get(url, headers=headers)
            response.get_data()
            response.close()
        after = row_counts(app)
        assert after == before, f"GET {url} as {role} changed the database: " + ", ".join(
            f"{name} {before[name]}→{after[name]}" for name in before if before[name] != after[name])
