"""Load: 50 agents collecting at once for 60 s against gunicorn with 2 workers.

Bills are issued beforehand through the service layer (`commands.billing.issue_bill`), a
bounded number per agent. Each simulated agent (a thread with its own keep-alive connection
and session) logs in once, then for each of its codes: GET /collect?code= (the confirm form,
with its idempotency key), POST /collect (expects 303 to the receipt). It stops when its codes
run out or the time is up. Afterwards: the ledger is verified, the audit chain too, and every
collection is checked to exist exactly once for its code with the receipt the agent was given.
Only 127.0.0.1; the login rate limit is off for the run (50 logins from one address).

    python -m bench.load [--scale 1m] [--agents 50] [--seconds 60] [--bills-per-agent 40]
"""
from __future__ import annotations

import argparse
import re
import threading
import time

from sqlalchemy import func, select

from .common import (RESULTS, SECRET_KEY, HttpClient, ensure_database, gunicorn, log, median, percentile,
                     pick, save_json, warm_up)

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def _config(url: str) -> dict:
    """The app as gunicorn and the seeder run it: the same SECRET_KEY, so the audit events the
    codes' issue writes are keyed as the rest of the chain. Runs before 2026-12-03 keyed them
    with "bench", kept as a fallback so their databases' chains still verify."""
    return {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": SECRET_KEY,
            "SECRET_KEY_FALLBACKS": ["bench"], "PUBLIC_BASE_URL": "http://127.0.0.1",
            "SQLALCHEMY_ENGINE_OPTIONS": {}}


def issue_bills(url: str, agents: int, per_agent: int) -> dict[str, list[tuple[str, int]]]:
    """{agent username: [(code, amount)]}: open codes issued through the service layer."""
    from perisai import create_app
    from perisai.domain.clock import local_today
    from perisai.domain.status import membership_status
    from perisai.extensions import db
    from perisai.models import User, Worker
    from perisai.commands import Actor
    from perisai.commands.billing import issue_bill
    app = create_app(_config(url))
    plan: dict[str, list[str]] = {}
    with app.app_context():
        session = db.session
        busiest = session.execute(
            select(Worker.agent_id).group_by(Worker.agent_id)
            .order_by(func.count(Worker.id).desc()).limit(agents)).scalars().all()
        for agent_id in busiest:
            agent = session.get(User, agent_id)
            username = agent.username
            today = local_today(agent.branch.timezone)
            workers = [w.id for w in session.scalars(
                select(Worker).where(Worker.agent_id == agent_id).order_by(Worker.id)
                .limit(per_agent * 4))
                if membership_status(w.first_month, w.paid_through, today).can_bill]
            codes = []
            for worker_id in workers[:per_agent]:
                agent = session.get(User, agent_id)
                bill = issue_bill(session, worker_id, 1, agent=agent,
                                  actor=Actor(agent_id, username, "127.0.0.1"), today=today)
                codes.append((bill.code, bill.amount))
            plan[username] = codes
        session.remove()
        db.engine.dispose()
    return plan


class Agent(threading.Thread):
    def __init__(self, base: str, username: str, codes: list[str], start_at: float,
                 stop_at: float):
        super().__init__(daemon=True)
        self.base, self.username, self.codes = base, username, codes
        self.start_at, self.stop_at = start_at, stop_at
        self.get_times: list[float] = []
        self.post_times: list[float] = []
        self.story_times: list[float] = []
        self.errors: list[str] = []
        self.receipts: dict[str, str] = {}  # code -> receipt number
        self.client = HttpClient(base)

    def run(self) -> None:
        try:
            self.client.login(self.username)
        except Exception as error:  # noqa: BLE001 - counted, reported
            self.errors.append(f"login: {error!r}")
            return
        while time.monotonic() < self.start_at:
            time.sleep(0.01)
        for code, amount in self.codes:
            if time.monotonic() >= self.stop_at:
                break
            try:
                started = time.perf_counter()
                status, _, html = self.client.request("GET", f"/collect?code={code}")
                got = time.perf_counter()
                self.get_times.append(got - started)
                text = html.decode()
                if status != 200:
                    self.errors.append(f"GET {code}: {status}")
                    continue
                form = {"code": code, "amount": str(amount),
                        "idempotency_key": KEY.search(text).group(1),
                        "csrf_token": HttpClient.TOKEN.search(text).group(1)}
                status, headers, body = self.client.request("POST", "/collect", form)
                done = time.perf_counter()
                self.post_times.append(done - got)
                self.story_times.append(done - started)
                if status != 303:
                    self.errors.append(f"POST {code}: {status} {body[:200]!r}")
                    continue
                self.receipts[code] = headers["location"].rsplit("/", 1)[1]
            except Exception as error:  # noqa: BLE001 - counted, reported
                self.errors.append(f"{code}: {error!r}")
        self.client.close()


def check_database(url: str, agents: list[Agent], whole_books: bool = True) -> dict:
    from perisai import create_app
    from perisai.extensions import db
    from perisai.models import Bill, Collection
    from perisai.commands.audit import verify as audit_verify
    from perisai.commands.books import _verify_ledger, verify_books
    app = create_app(_config(url))
    expected = {code: receipt for a in agents for code, receipt in a.receipts.items()}
    all_codes = [code for a in agents for code, _amount in a.codes]
    with app.app_context():
        session = db.session
        rows = []
        for start in range(0, len(all_codes), 500):
            rows += session.execute(
                select(Bill.code, Collection.receipt_number).join(
                    Collection, Collection.bill_id == Bill.id)
                .where(Bill.code.in_(all_codes[start:start + 500]))).all()
        per_code: dict[str, list[str]] = {}
        for code, receipt in rows:
            per_code.setdefault(code, []).append(receipt)
        twice = [code for code, receipts in per_code.items() if len(receipts) > 1]
        missing = [code for code in expected if code not in per_code]
        unexpected = [code for code in per_code if code not in expected]
        wrong_receipt = [code for code, receipt in expected.items()
                         if per_code.get(code, [None])[0] != receipt]
        # Every book at 1 M (3.6 minutes on PostgreSQL); at 10 M the ledger against the
        # agents' cash alone, which is what a payment moves (the rest would take half an hour).
        mismatches = verify_books(session).ledger if whole_books else _verify_ledger(session)
        audit = audit_verify(session)
        session.remove()
        db.engine.dispose()
    return {"collections_found": len(rows), "collections_expected": len(expected),
            "collected_twice": len(twice), "missing": len(missing),
            "unexpected": len(unexpected), "wrong_receipt": len(wrong_receipt),
            "ledger_mismatches": len(mismatches), "books_checked": "all" if whole_books
            else "ledger", "audit_ok": audit.ok,
            "audit_events_checked": audit.checked,
            "every_collection_exactly_once": not (twice or missing or unexpected or wrong_receipt)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="1m")
    parser.add_argument("--backend", default="sqlite")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--bills-per-agent", type=int, default=250)
    parser.add_argument("--gunicorn-workers", type=int, default=2)
    args = parser.parse_args(argv)
    url = ensure_database(args.backend, args.scale)
    picked = pick(url)
    log(f"load: issuing {args.agents} × {args.bills_per_agent} codes through the service layer")
    plan = issue_bills(url, args.agents, args.bills_per_agent)
    with gunicorn(url, workers=args.gunicorn_workers) as base:
        warm_up(base, picked, rounds=2)
        start_at = time.monotonic() + 10  # all 50 log in first, then start together
        stop_at = start_at + args.seconds
        agents = [Agent(base, username, codes, start_at, stop_at)
                  for username, codes in plan.items()]
        for agent in agents:
            agent.start()
        for agent in agents:
            agent.join(timeout=args.seconds + 120)
        elapsed = min(time.monotonic(), stop_at + 30) - start_at
        finished = max(time.monotonic() - start_at, 0.001)
    collections = sum(len(a.receipts) for a in agents)
    stories = [t for a in agents for t in a.story_times]
    gets = [t for a in agents for t in a.get_times]
    posts = [t for a in agents for t in a.post_times]
    errors = [e for a in agents for e in a.errors]
    ms = lambda values, q: round(percentile(values, q) * 1000, 1)  # noqa: E731
    run_seconds = min(args.seconds, finished)
    result = {
        "database": f"{args.backend}-{args.scale}", "agents": len(agents),
        "gunicorn_workers": args.gunicorn_workers, "seconds": args.seconds,
        "codes_available": sum(len(a.codes) for a in agents),
        "ran_out_of_codes": sum(1 for a in agents if len(a.receipts) == len(a.codes)),
        "collections": collections, "requests": len(gets) + len(posts),
        "collections_per_s": round(collections / run_seconds, 1),
        "requests_per_s": round((len(gets) + len(posts)) / run_seconds, 1),
        "collection_p50_ms": ms(stories, 0.5), "collection_p95_ms": ms(stories, 0.95),
        "collection_p99_ms": ms(stories, 0.99),
        "get_p50_ms": ms(gets, 0.5), "get_p95_ms": ms(gets, 0.95), "get_p99_ms": ms(gets, 0.99),
        "post_p50_ms": ms(posts, 0.5), "post_p95_ms": ms(posts, 0.95),
        "post_p99_ms": ms(posts, 0.99), "post_median_ms": round(median(posts) * 1000, 1),
        "errors": len(errors), "error_samples": errors[:10], "wall_s": round(elapsed, 1),
        "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    log("load: checking the ledger and the collections")
    result["check"] = check_database(url, agents, whole_books=args.scale != "10m")
    # load.json is the report's run (SQLite 1 M); other databases' runs are kept beside it.
    database = f"{args.backend}-{args.scale}"
    save_json(RESULTS / ("load.json" if database == "sqlite-1m" else f"load-{database}.json"),
              result)
    log({k: v for k, v in result.items() if k != "error_samples"})
    return result


if __name__ == "__main__":
    main()
