"""The size on disk of a scale database: per table (rows, table, indexes) and in all.

    python -m bench.sizes [--backend postgresql] [--scale 10m]

PostgreSQL: `pg_table_size` (the table with its TOAST and maps) and `pg_indexes_size` per table,
the row counts from the statistics (`reltuples`, exact after the seeder's VACUUM ANALYZE), and
`pg_database_size`. SQLite: the file's size (its tables and indexes share the file).
"""
from __future__ import annotations

import argparse
import os
import time

import sqlalchemy as sa

from .common import database_url, log, save_result


def measure(backend: str, scale: str) -> dict:
    url = database_url(backend, scale)
    result = {"backend": backend, "scale": scale,
              "measured_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if backend == "sqlite":
        result["total_bytes"] = os.path.getsize(sa.engine.make_url(url).database)
        return result
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT c.relname, c.reltuples::bigint, pg_table_size(c.oid), pg_indexes_size(c.oid) "
            "FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace "
            "ORDER BY pg_total_relation_size(c.oid) DESC")).all()
        result["total_bytes"] = conn.execute(
            sa.text("SELECT pg_database_size(current_database())")).scalar()
    engine.dispose()
    result["tables"] = [{"table": name, "rows": max(count, 0), "table_bytes": table,
                         "index_bytes": index} for name, count, table, index in rows]
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="postgresql")
    parser.add_argument("--scale", default="10m")
    args = parser.parse_args(argv)
    result = measure(args.backend, args.scale)
    log(f"{args.backend} {args.scale}: {result['total_bytes'] / 2**30:.1f} GiB in all")
    for row in result.get("tables", [])[:12]:
        log(f"  {row['table']:20} {row['rows']:>12,} rows  table {row['table_bytes'] / 2**30:6.2f} "
            f"GiB  indexes {row['index_bytes'] / 2**30:6.2f} GiB")
    save_result("sizes", f"{args.backend}-{args.scale}", result)
    return result


if __name__ == "__main__":
    main()
