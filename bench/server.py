"""Server cost per page at 10 k, 100 k and 1 M workers, on SQLite and PostgreSQL.

In-process through Flask's test client (server cost only: no network, no gzip). Each page is
requested round-robin with the others and with a bare Flask route that returns the same
number of bytes (the framework's floor), so the ratio compares times taken in the same moments.
SQL statements are counted per request; a page whose statements repeat (a query per row) or
exceed a handful is flagged.

    python -m bench.server [--backends sqlite,postgresql] [--scales 10k,100k,1m]
                           [--rounds 40] [--runs 3]
"""
from __future__ import annotations

import argparse
import re
import time
from collections import Counter

from flask import Flask
from sqlalchemy import event, select

from .common import (DEFAULT_SCALES, PASSWORD, RESULTS, SECRET_KEY, ensure_database, log,
                     median, percentile, pick, save_json)

HANDFUL = 10  # more statements than this in one read request is flagged
# A write takes its locks, checks, inserts, the ledger and the audit chain in one transaction.
WRITE_HANDFUL = 25
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_app(url: str):
    from perisai import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
                       "RATELIMIT_ENABLED": False, "SQLALCHEMY_ENGINE_OPTIONS": {},
                       "PUBLIC_BASE_URL": "http://127.0.0.1"})


def floor_app() -> Flask:
    """The framework's floor: a bare Flask route that returns n bytes of HTML."""
    floor = Flask("floor")
    bodies: dict[int, bytes] = {}

    @floor.get("/<int:size>")
    def sized(size: int):
        body = bodies.get(size)
        if body is None:
            body = bodies[size] = b"<!doctype html>" + b"x" * max(0, size - 15)
        return body, 200, {"Content-Type": "text/html; charset=utf-8"}

    return floor


def login(client, username: str) -> None:
    html = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": TOKEN.search(html).group(1)})
    assert response.status_code == 303, (username, response.status_code)


class QueryCounter:
    def __init__(self, engine):
        self.statements: list[str] = []
        self.on = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn, _cursor, statement, _params, _context, _many):
        if self.on:
            self.statements.append(statement)


def card_token(p: dict) -> str:
    from perisai.links import CARD_SALT, token_for
    return token_for(p["member_number"], SECRET_KEY, salt=CARD_SALT)


def agent_pages(p: dict, token: str) -> list[tuple]:
    """(name, method, path, data, headers) of every agent page measured."""
    hx = {"HX-Request": "true"}
    code = p["open_code"]
    pages = [
        ("dashboard /", "GET", "/", None, {}),
        ("workers list", "GET", "/workers", None, {}),
        ("workers search name", "GET", "/workers?q=siti", None, {}),
        ("workers search (htmx)", "GET", "/workers?q=siti", None, hx),
        ("workers search NIK", "GET", f"/workers?q={p['nik']}", None, {}),
        ("workers page 20", "GET", "/workers?page=20", None, {}),
        ("registration form", "GET", "/workers/new", None, {}),
        ("registration check (htmx)", "POST", "/workers/new/check",
         {"nik": "3273015208950007", "full_name": "Rina", "csrf_token": token}, hx),
        ("worker page", "GET", f"/workers/{p['worker_id']}", None, {}),
        ("worker edit form", "GET", f"/workers/{p['worker_id']}/edit", None, {}),
        ("member card (public)", "GET", f"/card/{card_token(p)}", None, {}),
        ("status by NIK (public)", "GET", f"/status?nik={p['nik']}&birth_date={p['birth_date']}",
         None, {}),
        ("program (public)", "GET", "/program", None, {}),
        ("collect form", "GET", "/collect", None, {}),
        ("receipt (slip)", "GET", f"/receipts/{p['receipt']}", None, {}),
    ]
    if code:
        pages += [("bill page", "GET", f"/bills/{code}", None, {}),
                  ("collect ?code=", "GET", f"/collect?code={code}", None, {}),
                  ("collect ?code= (htmx)", "GET", f"/collect?code={code}", None, hx)]
    return pages


def supervisor_pages(p: dict) -> list[tuple]:
    return [
        ("supervisor home", "GET", "/supervisor", None, {}),
        ("worker page (supervisor)", "GET", f"/workers/{p['worker_id']}", None, {}),
        ("supervisor agents", "GET", "/supervisor/agents", None, {}),
        ("supervisor agent detail", "GET", f"/supervisor/agents/{p['agent']}", None, {}),
        ("branch workers", "GET", "/workers", None, {}),
        ("branch workers search", "GET", "/workers?q=siti", None, {}),
        ("receipt (supervisor)", "GET", f"/receipts/{p['receipt']}", None, {}),
        ("reports", "GET", "/reports", None, {}),
    ]


def admin_pages(p: dict) -> list[tuple]:
    return [
        ("admin home", "GET", "/admin", None, {}),
        ("admin users", "GET", "/admin/users", None, {}),
        ("admin users search", "GET", "/admin/users?q=scale.agent01", None, {}),
        ("admin user", "GET", f"/admin/users/{p['user_id']}", None, {}),
        ("admin branches", "GET", "/admin/branches", None, {}),
        ("admin rates", "GET", "/admin/rates", None, {}),
        ("admin sponsored", "GET", "/admin/sponsored", None, {}),
    ]


def _request(client, method, path, data, headers):
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, data=data, headers=headers)


def measure_pages(app, client, counter, pages, floor_client, rounds: int, warmup: int = 3):
    """Round-robin timing of pages and of the floor for each page's size."""
    results = {}
    for name, method, path, data, headers in pages:
        response = _request(client, method, path, data, headers)
        if response.status_code not in (200, 422):
            log(f"  skip {name}: {path} answered {response.status_code}")
            continue
        counter.statements.clear()
        counter.on = True
        _request(client, method, path, data, headers)
        counter.on = False
        repeats = Counter(counter.statements).most_common(1)
        results[name] = {"path": path, "method": method, "status": response.status_code,
                         "bytes": len(response.get_data()), "times": [], "floor": [],
                         "queries": len(counter.statements),
                         "max_repeat": repeats[0][1] if repeats else 0,
                         "htmx": bool(headers)}
    for _ in range(warmup):
        for name, method, path, data, headers in pages:
            if name in results:
                _request(client, method, path, data, headers)
    for _ in range(rounds):
        for name, method, path, data, headers in pages:
            if name not in results:
                continue
            started = time.perf_counter()
            response = _request(client, method, path, data, headers)
            response.get_data()
            results[name]["times"].append(time.perf_counter() - started)
            size = results[name]["bytes"]
            started = time.perf_counter()
            floor_client.get(f"/{size}").get_data()
            results[name]["floor"].append(time.perf_counter() - started)
    return results


def measure_writes(app, client, counter, p, floor_client, count: int):
    """Issue a code (POST /workers/<id>/bills) and collect it (POST /collect), `count` times on
    different billable workers of the agent; these write, so each is done once per worker."""
    from perisai.domain.clock import local_today
    from perisai.domain.status import membership_status
    from perisai.extensions import db
    from perisai.models import Bill, User, Worker
    with app.app_context():
        agent = db.session.get(User, p["agent_id"])
        today = local_today(agent.branch.timezone)
        candidates = []
        for worker in db.session.scalars(select(Worker).where(Worker.agent_id == agent.id)
                                         .order_by(Worker.id.desc()).limit(count * 6)):
            if membership_status(worker.first_month, worker.paid_through, today).can_bill:
                candidates.append(worker.id)
            if len(candidates) == count:
                break
        db.session.remove()
    issue, collect = {"times": [], "floor": [], "queries": []}, {"times": [], "floor": [],
                                                                 "queries": []}
    codes = []
    for worker_id in candidates:
        html = client.get(f"/workers/{worker_id}").get_data(as_text=True)
        token = TOKEN.search(html).group(1)
        counter.statements.clear()
        counter.on = True
        started = time.perf_counter()
        response = client.post(f"/workers/{worker_id}/bills", data={"months": "1",
                                                                     "csrf_token": token})
        issue["times"].append(time.perf_counter() - started)
        counter.on = False
        issue["queries"].append(len(counter.statements))
        if response.status_code != 303:
            log(f"  issue for worker {worker_id} answered {response.status_code}")
            continue
        codes.append(response.headers["Location"].rsplit("/", 1)[1])
        started = time.perf_counter()
        floor_client.get("/0").get_data()
        issue["floor"].append(time.perf_counter() - started)
    with app.app_context():
        amounts = dict(db.session.execute(select(Bill.code, Bill.amount).where(
            Bill.code.in_(codes))).all())
        db.session.remove()
    for code in codes:
        html = client.get(f"/collect?code={code}").get_data(as_text=True)
        key = re.search(r'name="idempotency_key" value="([^"]+)"', html).group(1)
        token = TOKEN.search(html).group(1)
        counter.statements.clear()
        counter.on = True
        started = time.perf_counter()
        response = client.post("/collect", data={"code": code, "amount": str(amounts[code]),
                                                 "idempotency_key": key, "csrf_token": token})
        collect["times"].append(time.perf_counter() - started)
        counter.on = False
        collect["queries"].append(len(counter.statements))
        assert response.status_code == 303, response.get_data(as_text=True)[:500]
        started = time.perf_counter()
        floor_client.get("/0").get_data()
        collect["floor"].append(time.perf_counter() - started)
    out = {}
    for name, data in (("issue a code (POST)", issue), ("collect (POST)", collect)):
        if data["times"]:
            out[name] = {"path": "POST", "method": "POST", "status": 303, "bytes": 0,
                         "times": data["times"], "floor": data["floor"],
                         "queries": max(data["queries"]), "max_repeat": 0, "htmx": False}
    return out


def summarise(raw: dict) -> dict:
    out = {}
    for name, r in raw.items():
        page_ms = median(r["times"]) * 1000
        floor_ms = median(r["floor"]) * 1000
        out[name] = {"path": r["path"], "bytes": r["bytes"], "median_ms": round(page_ms, 2),
                     "p95_ms": round(percentile(r["times"], 0.95) * 1000, 2),
                     "floor_ms": round(floor_ms, 3), "ratio": round(page_ms / floor_ms, 1),
                     "queries": r["queries"], "max_repeat": r["max_repeat"],
                     "n": len(r["times"]),
                     "flag": ("query per row?" if r["max_repeat"] > 3 else "")
                     + (" many queries" if r["queries"] > (HANDFUL if r["method"] == "GET"
                                                           else WRITE_HANDFUL) else "")}
    return out


def run_one(backend: str, scale: str, rounds: int, writes: int) -> dict:
    url = ensure_database(backend, scale)
    p = pick(url)
    log(f"server {backend} {scale}: agent {p['agent']} ({p['agent_workers']} workers, "
        f"{p['agent_collections']} collections)")
    app = make_app(url)
    from perisai.extensions import db
    with app.app_context():
        counter = QueryCounter(db.engine)
    floor_client = floor_app().test_client()
    agent = app.test_client()
    login(agent, p["agent"])
    token = TOKEN.search(agent.get("/workers/new").get_data(as_text=True)).group(1)
    raw = measure_pages(app, agent, counter, agent_pages(p, token), floor_client, rounds)
    raw.update(measure_writes(app, agent, counter, p, floor_client, writes))
    supervisor = app.test_client()
    login(supervisor, p["supervisor"])
    sup_raw = measure_pages(app, supervisor, counter, supervisor_pages(p), floor_client, rounds)
    result = {"pick": p, "agent": summarise(raw), "supervisor": summarise(sup_raw)}
    if p.get("admin"):  # databases seeded before bench.seed made one have no admin
        admin = app.test_client()
        login(admin, p["admin"])
        result["admin"] = summarise(measure_pages(app, admin, counter, admin_pages(p),
                                                  floor_client, rounds))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return result


def combine(runs: list[dict]) -> dict:
    """Median over runs of each figure (several runs smooth out the neighbours' load)."""
    first = runs[0]
    combined = {"pick": first["pick"], "runs": len(runs)}
    for role in ("agent", "supervisor", "admin"):
        if role not in first:
            continue
        combined[role] = {}
        for name in first[role]:
            values = [run[role][name] for run in runs if name in run[role]]
            row = dict(values[-1])
            for key in ("median_ms", "p95_ms", "floor_ms", "ratio"):
                row[key] = round(median([v[key] for v in values]), 2)
            row["run_medians_ms"] = [v["median_ms"] for v in values]
            combined[role][name] = row
    return combined


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--scales", default=",".join(DEFAULT_SCALES))
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--writes", type=int, default=15)
    args = parser.parse_args(argv)
    path = RESULTS / "server.json"
    import json
    results = json.loads(path.read_text()) if path.exists() else {}
    for backend in args.backends.split(","):
        for scale in args.scales.split(","):
            runs = [run_one(backend, scale, args.rounds, args.writes) for _ in range(args.runs)]
            results[f"{backend}-{scale}"] = combine(runs)
            results[f"{backend}-{scale}"]["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC",
                                                                         time.gmtime())
            save_json(path, results)
            for role in ("agent", "supervisor", "admin"):
                for name, row in results[f"{backend}-{scale}"].get(role, {}).items():
                    log(f"  {backend:10} {scale:5} {name:28} {row['median_ms']:7.2f} ms "
                        f"p95 {row['p95_ms']:7.2f}  x{row['ratio']:<5} q={row['queries']} "
                        f"{row['flag']}")
    return results


if __name__ == "__main__":
    main()
