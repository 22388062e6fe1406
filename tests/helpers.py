"""Shared test helpers: a valid registration, and driving the money flow over HTTP."""
from __future__ import annotations

import re
from datetime import date

from conftest import Auth, csrf_token
from markup import every, field_value, one, parse, text_of

VALID = {
    "nik": "3273015208950007",  # Bandung, born 12-08-1995, female (day + 40)
    "full_name": "Rina Marlina",
    "birth_date": "1995-08-12",
    "sex": "F",
    "phone": "0812 3456 7890",
    "address": "Jl. Dago 100, Bandung",
    "occupation": "pedagang",
    "declared_income": "1.000.000",
    "programs": "3",
    "heir_name": "Asep Marlina",
    "heir_relation": "suami",
    "doc_ktp": "y",
    "doc_kk": "y",
    "consent": "y",
}


def nik_for(birth: date, sex: str, serial: int, region: str = "327301") -> str:
    day = birth.day + (40 if sex == "F" else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


def register(client, **overrides):
    data = dict(VALID, **overrides)
    data["csrf_token"] = csrf_token(client, "/workers/new")
    return client.post("/workers/new", data=data)


def worker_id_from(response) -> int:
    return int(re.search(r"/workers/(\d+)$", response.headers["Location"]).group(1))


def issue_bill(client, worker_id: int, months: int = 1):
    token = csrf_token(client, f"/workers/{worker_id}")
    return client.post(f"/workers/{worker_id}/bills", data={"months": str(months),
                                                             "csrf_token": token})


def bill_code_from(response) -> str:
    return re.search(r"/bills/(\d+)$", response.headers["Location"]).group(1)


def collect_form(client, code: str) -> dict:
    """The confirm form as the server rendered it: code, fresh idempotency key, CSRF token."""
    page = parse(client.get(f"/collect?code={code}"))
    key = field_value(page, "idempotency_key", within="form")
    assert key, f"no confirm form for code {code}"
    return {"code": code, "idempotency_key": key,
            "csrf_token": field_value(page, "csrf_token", within="form") or ""}


def amount_of_bill(client, code: str) -> int:
    """The amount the bill page shows in big figures."""
    shown = text_of(one(client.get(f"/bills/{code}"), ".big"))
    assert re.fullmatch(r"Rp[\d.]+", shown), shown
    return int(shown.removeprefix("Rp").replace(".", ""))


def public_slip_url(page) -> str:
    """The public link of a slip, as the receipt page offers it to copy or share."""
    return one(page, "input#slip-url")["value"]


def receipt_from(response) -> str:
    return re.search(r"/receipts/(\d+)$", response.headers["Location"]).group(1)


def paid_receipt(client, months: int = 1, **overrides) -> tuple[str, int]:
    """Register a worker, bill and collect it as the logged-in agent: (receipt number, amount)."""
    response = register(client, **overrides)
    assert response.status_code == 303, response.get_data(as_text=True)
    response = issue_bill(client, worker_id_from(response), months)
    assert response.status_code == 303, response.get_data(as_text=True)
    code = bill_code_from(response)
    amount = amount_of_bill(client, code)
    response = client.post("/collect", data=dict(collect_form(client, code), amount=str(amount)))
    assert response.status_code == 303, response.get_data(as_text=True)
    return receipt_from(response), amount


def form_key(html: str, name: str = "idempotency_key") -> str:
    """The value of the first field `name` on the page (an idempotency key, a CSRF token)."""
    value = field_value(html, name)
    assert value, f"no field {name} with a value on the page"
    return value


def figure_cards(page) -> dict[str, str]:
    """The figures a dashboard shows, label -> figure: <span class="muted">label</span><b>figure</b>."""
    return {text_of(label): text_of(label.find_next_sibling("b"))
            for label in every(page, "span.muted") if label.find_next_sibling("b") is not None}


def relogin(client, auth, username: str):
    """Log out whoever is logged in (agent or supervisor) and log in as `username`."""
    html = client.get("/", follow_redirects=True).get_data(as_text=True)
    client.post("/logout", data={"csrf_token": form_key(html, "csrf_token")})
    return auth.login(username)


def login_client(app, username: str):
    """A fresh test client logged in as `username`."""
    client = app.test_client()
    assert Auth(client).login(username).status_code == 303
    return client


def run_together(count: int, job):
    """Start `count` calls of job(i) at the same instant; return their results in order."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    barrier = threading.Barrier(count)

    def start(i):
        barrier.wait(timeout=60)
        return job(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))
