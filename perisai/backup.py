"""A consistent copy of the live database.

SQLite: sqlite3's online backup API copies every page inside one read transaction, so the copy
is a snapshot even while agents keep collecting (WAL lets the writers go on meanwhile). The copy
is written next to the destination and renamed into place only when complete and checked.
PostgreSQL: pg_dump already takes a consistent snapshot; we print the command to run.
"""
from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    tables: dict[str, int]


def sqlite_file(url: str | URL) -> Path | None:
    """The database file of a SQLite URL, or None for another database or an in-memory one."""
    url = make_url(url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def destination(dest: str | os.PathLike, now: datetime | None = None) -> Path:
    """DEST itself, or a time-stamped file inside DEST when it is a directory."""
    path = Path(dest)
    if path.is_dir():
        stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
        path = path / f"perisai-{stamp}.sqlite3"
    return path


def backup_sqlite(source: Path, dest: str | os.PathLike) -> BackupResult:
    target = destination(dest)
    if not source.exists():
        raise BackupError(f"Database file {source} does not exist.")
    if target.exists():
        raise BackupError(f"{target} already exists; choose another name (a backup never overwrites).")
    if not target.parent.is_dir():
        raise BackupError(f"Folder {target.parent} does not exist.")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    live = sqlite3.connect(source, timeout=30)
    copy = sqlite3.connect(partial)
    try:
        # pages=-1: every page in one step, under one read transaction: a consistent snapshot.
        live.backup(copy, pages=-1)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
        problem = copy.execute("PRAGMA integrity_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"The copy failed its integrity check: {problem}")
        tables = {name: copy.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                  for (name,) in copy.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                              "AND name NOT LIKE 'sqlite_%' ORDER BY name")}
    except BaseException:
        copy.close()
        partial.unlink(missing_ok=True)
        raise
    finally:
        live.close()
    copy.close()
    os.replace(partial, target)
    target.chmod(0o600)  # it holds NIKs and phone numbers
    return BackupResult(target, target.stat().st_size, tables)


def pg_dump_command(url: str | URL, dest: str | os.PathLike) -> str:
    """The pg_dump command for a PostgreSQL URL; the password is left to PGPASSWORD/.pgpass."""
    url = make_url(url)
    parts = ["pg_dump", "--format=custom", "--no-owner", f"--file={dest}"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(url.database or "")
    return shlex.join(parts)
