"""A NUL character is refused with a message before it reaches the database, wherever it comes
in: the path, a query or form field (any value of a repeated one), or a JSON body (Flask-WTF reads
a JSON body as the form). PostgreSQL cannot store or even compare text holding NUL, so without
this check such input answers 500 there (found by the login fuzz test with a JSON body)."""
from __future__ import annotations

import pytest

from conftest import csrf_token

MESSAGE = "karakter yang tidak boleh (NUL)"


def refused(response) -> bool:
    return response.status_code == 400 and MESSAGE in response.get_data(as_text=True)


@pytest.mark.both_backends
@pytest.mark.parametrize("send", [
    lambda c, t: c.post("/login", json={"username": "\x00", "password": "x"},
                        headers={"X-CSRFToken": t}),
    lambda c, t: c.post("/login", json={"username": ["agent1", "a\x00"], "password": "x"},
                        headers={"X-CSRFToken": t}),
    lambda c, t: c.post("/login", json={"username": {"nested": "\x00"}, "password": "x"},
                        headers={"X-CSRFToken": t}),
    lambda c, t: c.post("/login", data={"csrf_token": t, "username": ["agent1", "b\x00"],
                                        "password": "x"}),
    lambda c, t: c.post("/login", data={"csrf_token": t, "user\x00name": "agent1"}),
    lambda c, t: c.get("/status", query_string={"member": "1\x00", "birth_date": "1990-01-01"}),
    lambda c, t: c.get("/verify", query_string=[("receipt", "1"), ("receipt", "2\x00")]),
], ids=["json", "json-list", "json-object", "repeated-form-field", "form-key", "query",
        "repeated-query"])
def test_nul_is_refused_with_a_message(client, backend, send):
    response = send(client, csrf_token(client, "/login"))
    assert refused(response), (response.status_code, response.get_data(as_text=True)[:300])


@pytest.mark.both_backends
def test_ordinary_json_login_is_not_refused(client, backend):
    response = client.post("/login", json={"username": "agent1", "password": "wrong-password"},
                           headers={"X-CSRFToken": csrf_token(client, "/login")})
    assert response.status_code == 422 and MESSAGE not in response.get_data(as_text=True)
