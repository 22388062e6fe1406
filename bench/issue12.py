"""Issue 12's pages at scale: the worker search (any part of a name, phone, NIK tail, member or
receipt number) for the busiest agent and a supervisor's branch, the receipts of a day, the
supervisor's agents with the integrity flags, the complaints list, and the public slip and
/verify with the cash state. Reuses bench.common (databases, pick) and bench.server (timing
round-robin against the framework's floor, statement counts).

    python -m bench.issue12 [--backends sqlite,postgresql] [--scales 10k,100k] [--rounds 30]

Results: bench/results/issue12.json. The databases are this script's own (names below), so
another benchmark rebuilding its scale databases does not disturb these.
"""
from __future__ import annotations

import argparse
import json
import os
import time

import sqlalchemy as sa

from . import common
from .common import RESULTS, SCALES, log, save_json
from .server import QueryCounter, floor_app, login, make_app, measure_pages, summarise

_plain_url = common.database_url


def _own_url(backend: str, scale: str) -> str:
    url = _plain_url(backend, scale)
    if backend == "sqlite":
        return url.replace("sqlite-", "issue12-sqlite-")
    return sa.engine.make_url(url).set(database=f"perisai_issue12_{scale}").render_as_string(
        hide_password=False)


def terms(url: str, p: dict) -> dict:
    """Search terms taken from the agent's own data: a common and a rare part of a name, a part
    of a phone, a NIK tail, a member number, a receipt number; a day with receipts."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        q = lambda sql, **kw: conn.execute(sa.text(sql), kw).first()  # noqa: E731
        name, phone, member = q("SELECT full_name, phone, member_number FROM workers "
                                "WHERE id = :w", w=p["worker_id"])
        last = name.split()[-1].lower()
        day, = q("SELECT max(collected_at) FROM collections WHERE agent_id = :a", a=p["agent_id"])
        old_receipt, = q("SELECT receipt_number FROM collections WHERE agent_id = :a "
                         "ORDER BY collected_at LIMIT 1", a=p["agent_id"])
    engine.dispose()
    day = day if isinstance(day, str) else day.isoformat()
    return {"common": "wati", "rare": last[1:6], "phone": phone[-6:], "nik": p["nik"][-5:],
            "member": member, "receipt": p["receipt"], "day": day[:10], "old_receipt": old_receipt}


def pages(p: dict, t: dict, role: str) -> list[tuple]:
    hx = {"HX-Request": "true"}
    search = [(f"search {kind}", "GET", f"/workers?q={t[kind]}", None, hx)
              for kind in ("common", "rare", "phone", "nik", "member", "receipt")]
    if role == "agent":
        return search + [("receipts today", "GET", "/receipts", None, {}),
                         ("receipts of a busy day", "GET", f"/receipts?day={t['day']}", None, {})]
    if role == "supervisor":
        return search + [("supervisor home (flags)", "GET", "/supervisor", None, {}),
                         ("supervisor agents (flags)", "GET", "/supervisor/agents", None, {}),
                         ("agent page (flag members)", "GET", f"/supervisor/agents/{p['agent']}",
                          None, {}),
                         ("complaints", "GET", "/supervisor/complaints", None, {})]
    return [("slip, cash held", "GET", f"/s/{t['token']}", None, {}),
            ("slip, cash deposited (oldest)", "GET", f"/s/{t['old_token']}", None, {}),
            ("complaint form", "GET", f"/complaint?receipt={t['receipt']}", None, {})]


def run_one(backend: str, scale: str, rounds: int) -> dict:
    url = common.ensure_database(backend, scale)
    common.upgrade(url)
    p = common.pick(url)
    t = terms(url, p)
    log(f"issue12 {backend} {scale}: agent {p['agent']} ({p['agent_workers']} workers), {t}")
    app = make_app(url)
    from perisai.extensions import db
    from perisai.links import public_slip_url
    with app.app_context(), app.test_request_context():
        counter = QueryCounter(db.engine)
        t["token"] = public_slip_url(t["receipt"]).rsplit("/", 1)[1]
        t["old_token"] = public_slip_url(t["old_receipt"]).rsplit("/", 1)[1]
    floor_client = floor_app().test_client()
    out = {"pick": p, "terms": t}
    for role, username in (("agent", p["agent"]), ("supervisor", p["supervisor"]),
                           ("public", None)):
        client = app.test_client()
        if username:
            login(client, username)
        raw = measure_pages(app, client, counter, pages(p, t, role), floor_client, rounds)
        out[role] = summarise(raw)
        for name, row in out[role].items():  # the quickest run: the cost with the least
            row["min_ms"] = round(min(raw[name]["times"]) * 1000, 2)  # interference from others
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return out


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--scales", default="10k,100k")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    common.database_url = _own_url  # this script's own databases
    seed_times: dict[str, float] = {}
    common.record_seed_time = lambda backend, scale, seconds: seed_times.update(
        {f"{backend}-{scale}": round(seconds, 1)})  # with the search index's triggers/GIN
    path = RESULTS / "issue12.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    for backend in args.backends.split(","):
        for scale in args.scales.split(","):
            assert scale in SCALES, scale
            result = run_one(backend, scale, args.rounds)
            result["measured_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            result["load_average"] = os.getloadavg()[0]
            results[f"{backend}-{scale}"] = result
            if f"{backend}-{scale}" in seed_times:
                result["seed_seconds"] = seed_times[f"{backend}-{scale}"]
            save_json(path, results)
            for role in ("agent", "supervisor", "public"):
                for name, row in result[role].items():
                    log(f"  {backend:10} {scale:5} {role:10} {name:30} {row['median_ms']:7.2f} ms "
                        f"min {row['min_ms']:6.2f} p95 {row['p95_ms']:7.2f} q={row['queries']} {row['bytes']} B {row['flag']}")
    return results


if __name__ == "__main__":
    main()
