"""The branch's CSV report of a whole year at scale: time, rows, and the memory it takes.

The busiest branch's supervisor asks `/reports/collections.csv` for the longest period allowed
(366 days) through Flask's test client, and the answer is read as it streams: the process's
resident memory is sampled every 1,000 chunks, so a report that built itself in memory before
sending would show its size here. Each backend runs in a process of its own.

    python -m bench.reports_csv [--backends sqlite,postgresql] [--scale 1m] [--supervisor NAME]

By default the supervisor is the busiest agent's (as in bench.server); `--supervisor` names
another, e.g. the one of the branch with the most agents (saved under its own key).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import timedelta

from .common import ROOT, ensure_database, log, pick, save_result
from .server import login, make_app

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def measure(backend: str, scale: str, supervisor: str | None = None) -> dict:
    url = ensure_database(backend, scale)
    p = pick(url)
    if supervisor:
        p["supervisor"] = supervisor
    app = make_app(url)
    client = app.test_client()
    login(client, p["supervisor"])
    from perisai.domain.clock import local_today
    from perisai.extensions import db
    from perisai.models import Branch, User
    with app.app_context():
        supervisor = db.session.query(User).filter_by(username=p["supervisor"]).one()
        branch = db.session.get(Branch, supervisor.branch_id)
        last = local_today(branch.timezone)
        db.session.remove()
    first = last - timedelta(days=365)
    path = f"/reports/collections.csv?from={first.isoformat()}&to={last.isoformat()}"
    client.get("/reports")  # warm the app up
    before = rss_mb()
    peak = before
    started = time.perf_counter()
    response = client.get(path, buffered=False)
    assert response.status_code == 200, response.status_code
    size = lines = chunks = 0
    for chunk in response.response:
        size += len(chunk)
        lines += chunk.count(b"\n")
        chunks += 1
        if chunks % 1000 == 0:
            peak = max(peak, rss_mb())
    seconds = time.perf_counter() - started
    peak = max(peak, rss_mb())
    response.close()
    return {"backend": backend, "scale": scale, "branch": branch.code, "supervisor": p["supervisor"],
            "period": [first.isoformat(), last.isoformat()], "rows": lines - 1, "bytes": size,
            "seconds": round(seconds, 1), "rss_before_mb": round(before, 1),
            "rss_peak_mb": round(peak, 1), "rss_growth_mb": round(peak - before, 1),
            "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--scale", default="1m")
    parser.add_argument("--supervisor")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a backend, measured in this process
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure(args.one, args.scale, args.supervisor)))
        return
    results = {}
    for backend in args.backends.split(","):
        out = subprocess.run([sys.executable, "-m", "bench.reports_csv", "--one", backend,
                              "--scale", args.scale,
                              *(["--supervisor", args.supervisor] if args.supervisor else [])],
                             cwd=ROOT, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        key = f"{backend}-{args.scale}" + (f"-{args.supervisor}" if args.supervisor else "")
        results[key] = row
        log(f"reports CSV {backend} {args.scale}: {row['rows']:,} rows, {row['bytes'] / 2**20:.1f} MB "
            f"in {row['seconds']} s; memory {row['rss_before_mb']} -> {row['rss_peak_mb']} MB")
    for key, row in results.items():
        save_result("reports_csv", key, row)


if __name__ == "__main__":
    main()
