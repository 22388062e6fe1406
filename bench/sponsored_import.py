"""Importing a sponsored-premium list of 1,000,000 rows: time and peak memory, twice.

The list is written to a CSV file (valid NIKs, the six sponsor codes, 2 or 3 programs, periods
in 2025-2027) and imported with the documented command, `flask --app perisai import-sponsored
FILE`, into a fresh database (init-db and seed-demo), each import in a process of its own under
GNU time, which reports that process's peak resident memory. The second import of the same file must add nothing.

    python -m bench.sponsored_import [--rows 1000000] [--backends sqlite,postgresql] [--once]

`--once` leaves the second import out (at 10,000,000 rows it is another quarter of an hour).
Results go to bench/results/sponsored_import.json, or sponsored_import-ROWS.json for another
number of rows than the default.
"""
from __future__ import annotations

import argparse
import csv
import os
import random
import subprocess
import tempfile
import time
from datetime import date

import sqlalchemy as sa

from .common import BENCH_DIR, FLASK, PG_BASE, RESULTS, ROOT, _env, log, save_json

DEFAULT_ROWS = 1_000_000
SPONSORS = [("SG", "Pemprov Jawa Barat"), ("SD", "Dana Desa Sukamaju"),
            ("SA", "ADD Kabupaten Bandung"), ("SL", "Baznas Kota Bandung"),
            ("SC", "PT Contoh Sejahtera"), ("SB", "Bank Contoh")]


def write_list(path, rows: int, seed: int = 7) -> None:
    """`rows` distinct NIKs with a sponsor and a period. Birth date and serial cycle with
    periods 15,120 and 9,999, so (birth date, serial) repeats only after 16.8 million rows."""
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["nik", "sponsor_code", "sponsor_name", "programs", "valid_from", "valid_to"])
        for n in range(rows):
            region = f"32{rng.randint(1, 28):02d}{rng.randint(1, 30):02d}"  # West Java
            born = date(1960 + n % 45, 1 + (n // 45) % 12, 1 + (n // 540) % 28)
            day = born.day + (40 if n % 2 else 0)
            nik = f"{region}{day:02d}{born.month:02d}{born.year % 100:02d}{n % 9_999 + 1:04d}"
            code, name = SPONSORS[n % len(SPONSORS)]
            start = date(2025 + n % 2, 1 + n % 12, 1)
            out.writerow([nik, code, name, 2 + n % 2, start.isoformat(),
                          date(start.year + 1, start.month, 1).isoformat()])


def fresh_database(backend: str) -> str:
    if backend == "sqlite":
        path = BENCH_DIR / "sponsored-import.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            (BENCH_DIR / f"{path.name}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    admin = sa.create_engine(PG_BASE, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql('DROP DATABASE IF EXISTS "perisai_bench_import" WITH (FORCE)')
        conn.exec_driver_sql('CREATE DATABASE "perisai_bench_import"')
    admin.dispose()
    return sa.engine.make_url(PG_BASE).set(database="perisai_bench_import").render_as_string(
        hide_password=False)


def timed_import(url: str, path) -> dict:
    """One import in a child process: wall seconds, that process's peak resident memory (GNU
    time's %M), what it printed."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        started = time.monotonic()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name]
                              + FLASK + ["import-sponsored", str(path)], env=_env(url), cwd=ROOT,
                              capture_output=True, text=True, check=True)
        seconds = time.monotonic() - started
        peak_kb = int(rss.read().split()[-1])
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak_kb / 1024, 1),
            "output": done.stdout.strip().splitlines()[-1]}


def run(backend: str, rows: int, path, once: bool = False) -> dict:
    url = fresh_database(backend)
    env = _env(url)
    subprocess.run(FLASK + ["init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(FLASK + ["seed-demo", "--password", "perisai-bench"], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    first = timed_import(url, path)
    log(f"  {backend}: first import {first['seconds']} s, peak {first['peak_rss_mb']} MB: "
        f"{first['output']}")
    second = None
    if not once:
        second = timed_import(url, path)
        log(f"  {backend}: same file again {second['seconds']} s: {second['output']}")
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        entries = conn.execute(sa.text("SELECT count(*) FROM sponsored_entries")).scalar()
    engine.dispose()
    return {"rows": rows, "entries": entries, "first": first, "second": second}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--once", action="store_true", help="leave out the second import")
    args = parser.parse_args(argv)
    if not os.path.exists("/usr/bin/time"):
        raise SystemExit("bench.sponsored_import needs GNU time: apt-get install -y time")
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"sponsored-{args.rows}.csv"
    if not path.exists():
        log(f"writing a list of {args.rows:,} rows to {path}")
        write_list(path, args.rows)
    results = {"file_mb": round(path.stat().st_size / 1e6, 1),
               "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    for backend in args.backends.split(","):
        log(f"importing {args.rows:,} sponsored rows on {backend}")
        results[backend] = run(backend, args.rows, path, once=args.once)
    name = ("sponsored_import.json" if args.rows == DEFAULT_ROWS
            else f"sponsored_import-{args.rows}.json")
    save_json(RESULTS / name, results)
    return results


if __name__ == "__main__":
    main()
