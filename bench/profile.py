"""Where one page's time goes: SQL (each statement's time), Python and templates (pyinstrument).

    python -m bench.profile --url sqlite:////tmp/perisai-bench/sqlite-1m.sqlite3 \
        --user scale.sup1 [--path /supervisor] [--rounds 30]

Logs in through the Flask test client, warms the page up, then requests it `rounds` times:
first with every SQL statement timed (cursor events; the median per statement is printed),
then under pyinstrument (`pip install pyinstrument`; not a dependency of the project), whose
call tree is printed with the frames under 2 % of the time left out.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

from sqlalchemy import event

from .common import PASSWORD
from .server import login, make_app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--path", action="append")
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--password", default=PASSWORD)
    parser.add_argument("--threshold", type=float, default=0.02,
                        help="leave out frames under this share of the time (0.02: 2 %%)")
    parser.add_argument("--all-frames", action="store_true",
                        help="show library frames too (Jinja, SQLAlchemy, Werkzeug)")
    args = parser.parse_args(argv)
    app = make_app(args.url)
    from perisai.extensions import db
    timings: dict[str, list[float]] = defaultdict(list)
    state = {"on": False}
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, params, context, many):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, params, context, many):
        if state["on"]:
            timings[statement].append(time.perf_counter() - conn.info["started"])

    client = app.test_client()
    login(client, args.user)
    for path in args.path or ["/supervisor"]:
        for _ in range(5):
            client.get(path)
        timings.clear()
        totals = []
        state["on"] = True
        for _ in range(args.rounds):
            started = time.perf_counter()
            assert client.get(path).status_code == 200
            totals.append(time.perf_counter() - started)
        state["on"] = False
        sql = sum(statistics.median(t) * len(t) / args.rounds for t in timings.values())
        print(f"== {path}: median {statistics.median(totals) * 1000:.2f} ms per request, "
              f"SQL {sql * 1000:.2f} ms in {sum(len(t) for t in timings.values()) / args.rounds:.0f} "
              "statements")
        for statement, times in sorted(timings.items(), key=lambda kv: -sum(kv[1])):
            print(f"  {statistics.median(times) * 1000:7.3f} ms ×{len(times) / args.rounds:.0f}  "
                  + " ".join(statement.split())[:220])
        try:
            from pyinstrument import Profiler
        except ImportError:
            print("(pyinstrument is not installed: no Python profile)")
            continue
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(args.rounds):
            client.get(path)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=args.all_frames,
                                   processor_options={"filter_threshold": args.threshold}))


if __name__ == "__main__":
    main()
