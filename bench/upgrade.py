"""Upgrading a big PostgreSQL database: how long `init-db` takes and which table locks it holds.

The scale database is taken back to an older schema (`flask db downgrade REVISION`), then
`flask --app perisai init-db` brings it up to date while another connection reads `pg_locks`
every 0.2 s. Each table lock seen is reported with how long it was seen held. A lock that
conflicts with the ROW EXCLUSIVE lock every INSERT and UPDATE takes (SHARE and stronger) means
payments waited for that long; SHARE UPDATE EXCLUSIVE (CREATE INDEX CONCURRENTLY) does not.

    python -m bench.upgrade [--scale 10m] [--since b8d0f2a4c6e8]
"""
from __future__ import annotations

import argparse
import subprocess
import threading
import time

import sqlalchemy as sa

from .common import FLASK, ROOT, _env, database_url, log, save_result

# Lock modes that make a writer (ROW EXCLUSIVE: INSERT, UPDATE, DELETE) wait.
STOPS_WRITES = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
SAMPLE_EVERY = 0.2


class LockWatch(threading.Thread):
    """Samples the table locks other sessions hold in one database until stopped."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.seen: dict[tuple[str, str, bool], list[float]] = {}
        self.stopping = threading.Event()
        self.samples = 0

    def run(self) -> None:
        query = sa.text(
            "SELECT c.relname, l.mode, l.granted FROM pg_locks l "
            "JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace "
            "AND l.pid <> pg_backend_pid()")
        with self.engine.connect() as conn:
            while not self.stopping.is_set():
                now = time.monotonic()
                for table, mode, granted in conn.execute(query):
                    times = self.seen.setdefault((table, mode, granted), [now, now])
                    times[1] = now
                self.samples += 1
                self.stopping.wait(SAMPLE_EVERY)
        self.engine.dispose()

    def report(self) -> list[dict]:
        return sorted(({"table": table, "mode": mode, "granted": granted,
                        "seen_for_s": round(last - first + SAMPLE_EVERY, 1),
                        "stops_writes": mode in STOPS_WRITES}
                       for (table, mode, granted), (first, last) in self.seen.items()),
                      key=lambda row: (-row["seen_for_s"], row["table"], row["mode"]))


def flask(url: str, *args: str) -> float:
    started = time.monotonic()
    subprocess.run(FLASK + list(args), env=_env(url), cwd=ROOT, check=True,
                   capture_output=True, text=True)
    return round(time.monotonic() - started, 1)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="10m")
    parser.add_argument("--since", default="b8d0f2a4c6e8",
                        help="the revision to go back to before upgrading")
    args = parser.parse_args(argv)
    url = database_url("postgresql", args.scale)
    log(f"upgrade {args.scale}: back to {args.since}")
    down = flask(url, "db", "downgrade", args.since)
    log(f"  downgrade took {down} s; init-db with the locks watched")
    watch = LockWatch(url)
    watch.start()
    up = flask(url, "init-db")
    watch.stopping.set()
    watch.join()
    locks = watch.report()
    result = {"scale": args.scale, "since": args.since, "downgrade_s": down, "init_db_s": up,
              "samples": watch.samples, "locks": locks,
              "longest_write_stop_s": max((row["seen_for_s"] for row in locks
                                           if row["stops_writes"] and row["granted"]),
                                          default=0.0),
              "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    log(f"  init-db took {up} s; {watch.samples} samples")
    for row in locks:
        log(f"    {row['table']:20} {row['mode']:24} granted={row['granted']!s:5} "
            f"{row['seen_for_s']:6.1f} s{'  STOPS WRITES' if row['stops_writes'] else ''}")
    save_result("upgrade", f"postgresql-{args.scale}", result)
    return result


if __name__ == "__main__":
    main()
