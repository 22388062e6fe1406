"""Importing a sponsored-premium list (CSV): all rows or none, idempotent, in bounded memory.

Two passes over the same file: the first validates every row while streaming (nothing kept but
the first errors and a count), the second inserts in batches inside one write transaction. Only
rows whose (nik, sponsor_code, valid_from) is new are inserted, so importing the same file again
adds nothing. Shared by `flask --app perisai import-sponsored FILE` and the admin upload.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO, Iterator

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.clock import utcnow
from ..domain.nik import validation_error
from ..models import SPONSOR_CODES, SponsoredEntry
from . import Actor, audit
from .tx import write_transaction

HEADER = ["nik", "sponsor_code", "sponsor_name", "programs", "valid_from", "valid_to"]
BATCH_SIZE = 5_000
MAX_REPORTED_ERRORS = 50
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ImportRejected(DomainError):
    """The file was refused as a whole; `errors` are the first problems, with line numbers."""

    def __init__(self, message: str, errors: list[str] | None = None, error_count: int = 0):
        super().__init__(message, status_code=422)
        self.errors = errors or []
        self.error_count = error_count


@dataclass(frozen=True)
class ImportResult:
    rows: int       # data rows in the file
    added: int      # new entries inserted
    skipped: int    # rows already on the list (or repeated in the file)
    digest: str     # sha256 of the file, for the audit trail


def _parse_date(text: str) -> date | None:
    if not ISO_DATE.fullmatch(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _row_problems(row: list[str]) -> tuple[list[str], dict | None]:
    """What is wrong with one data row (Bahasa Indonesia), or the values to insert."""
    if len(row) != len(HEADER):
        return [f"harus {len(HEADER)} kolom, ada {len(row)}"], None
    nik, code, name, programs, valid_from, valid_to = (cell.strip() for cell in row)
    problems = []
    nik_problem = validation_error(nik)
    if nik_problem:
        problems.append(f"NIK {nik[:20]!r}: {nik_problem}")
    if code not in SPONSOR_CODES:
        problems.append(f"sponsor_code {code[:10]!r} tidak dikenal (pakai {', '.join(SPONSOR_CODES)})")
    if not name:
        problems.append("sponsor_name kosong")
    elif len(name) > 120:
        problems.append("sponsor_name lebih dari 120 karakter")
    if programs not in ("2", "3"):
        problems.append(f"programs harus 2 atau 3 (bukan {programs[:10]!r})")
    start, end = _parse_date(valid_from), _parse_date(valid_to)
    if start is None:
        problems.append(f"valid_from {valid_from[:20]!r} bukan tanggal TTTT-BB-HH")
    if end is None:
        problems.append(f"valid_to {valid_to[:20]!r} bukan tanggal TTTT-BB-HH")
    if start and end and end < start:
        problems.append("valid_to lebih awal dari valid_from")
    if problems:
        return problems, None
    return [], {"nik": nik, "sponsor_code": code, "sponsor_name": name,
                "programs": int(programs), "valid_from": start, "valid_to": end}


def _values(cells: list[str]) -> dict:
    """A row the first pass found valid, as values to insert (no second validation)."""
    nik, code, name, programs, valid_from, valid_to = (cell.strip() for cell in cells)
    return {"nik": nik, "sponsor_code": code, "sponsor_name": name, "programs": int(programs),
            "valid_from": date.fromisoformat(valid_from), "valid_to": date.fromisoformat(valid_to)}


def _reader(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) for each row after the header; the header is checked here."""
    stream.seek(0)
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="")
    try:
        rows = csv.reader(text, strict=True)
        try:
            header = next(rows)
        except StopIteration:
            raise ImportRejected("Berkas kosong. Baris pertama harus: " + ",".join(HEADER)) from None
        if [cell.strip() for cell in header] != HEADER:
            raise ImportRejected("Judul kolom salah. Baris pertama harus persis: "
                                 + ",".join(HEADER) + f" (yang ada: {','.join(header)[:200]}).")
        for cells in rows:
            if not cells or cells == [""]:
                continue  # a blank line
            yield rows.line_num, cells
    finally:
        text.detach()  # leave the caller's stream open for the second pass


def validate(stream: BinaryIO) -> tuple[int, str]:
    """First pass: (data rows, sha256), or ImportRejected listing the first bad rows."""
    errors: list[str] = []
    error_count = 0
    count = 0
    try:
        for line, cells in _reader(stream):
            count += 1
            problems, _values = _row_problems(cells)
            if problems:
                error_count += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(f"Baris {line}: " + "; ".join(problems))
    except UnicodeDecodeError:
        raise ImportRejected("Berkas bukan teks UTF-8. Simpan ulang sebagai \"CSV UTF-8\" "
                             "lalu unggah lagi.") from None
    except csv.Error as error:
        raise ImportRejected(f"Berkas CSV rusak dekat baris {count + 2}: {error}.") from None
    if error_count:
        more = error_count - len(errors)
        summary = (f"{error_count} baris salah; tidak ada yang diimpor. Perbaiki lalu unggah lagi."
                   + (f" ({more} kesalahan lain tidak ditampilkan.)" if more > 0 else ""))
        raise ImportRejected(summary, errors, error_count)
    if count == 0:
        raise ImportRejected("Berkas tidak berisi baris data.")
    stream.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(1 << 16), b""):
        digest.update(chunk)
    return count, digest.hexdigest()


def _insert_batch(session: Session, batch: list[dict], now) -> int:
    keys = {(row["nik"], row["sponsor_code"], row["valid_from"]) for row in batch}
    existing = set(session.execute(
        select(SponsoredEntry.nik, SponsoredEntry.sponsor_code, SponsoredEntry.valid_from)
        .where(SponsoredEntry.nik.in_({row["nik"] for row in batch}))).all())
    fresh = []
    for row in batch:
        key = (row["nik"], row["sponsor_code"], row["valid_from"])
        if key in existing or key not in keys:
            continue
        keys.discard(key)  # a row repeated inside the file counts once
        fresh.append(dict(row, imported_at=now))
    if fresh:
        session.execute(insert(SponsoredEntry), fresh)
    return len(fresh)


def import_sponsored(session: Session, stream: BinaryIO, *, actor: Actor,
                     source_name: str = "") -> ImportResult:
    """Validate the whole file, then insert the new rows in one transaction."""
    rows, digest = validate(stream)
    added = 0
    now = utcnow()
    with write_transaction(session):
        batch: list[dict] = []
        for _line, cells in _reader(stream):
            batch.append(_values(cells))
            if len(batch) >= BATCH_SIZE:
                added += _insert_batch(session, batch, now)
                batch = []
        if batch:
            added += _insert_batch(session, batch, now)
        audit.record(session, actor, "sponsored.import", "sponsored_list", digest[:40],
                     after={"file": source_name[:120], "sha256": digest, "rows": rows,
                            "added": added, "skipped": rows - added})
    return ImportResult(rows=rows, added=added, skipped=rows - added, digest=digest)


@dataclass(frozen=True)
class ListCounts:
    entries: int
    niks: int
    current: int
    by_sponsor: dict[str, int]


def list_counts(session: Session, today: date) -> ListCounts:
    by_sponsor = dict(session.execute(
        select(SponsoredEntry.sponsor_code, func.count()).group_by(SponsoredEntry.sponsor_code)).all())
    return ListCounts(
        entries=sum(by_sponsor.values()),
        niks=session.scalar(select(func.count(func.distinct(SponsoredEntry.nik)))) or 0,
        current=session.scalar(select(func.count()).select_from(SponsoredEntry).where(
            SponsoredEntry.valid_from <= today, SponsoredEntry.valid_to >= today)) or 0,
        by_sponsor={code: by_sponsor.get(code, 0) for code in SPONSOR_CODES})

