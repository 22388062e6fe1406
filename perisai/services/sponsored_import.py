"""Importing a sponsored-premium list (CSV): all rows or none, idempotent, in bounded memory.

Passes over the same file: the first validates every row while streaming (nothing kept but
the first errors and a count); then, inside one write transaction and in batches, the second
inserts rows whose (nik, sponsor_code, valid_from) is new and updates an entry whose valid_to,
programs or sponsor_name the file corrects (a later row of the file wins), and the third marks
paid the sponsored months of workers already registered with those NIKs
(`sponsorship.apply_sponsor_cover`). Importing the same file again changes nothing. Shared by
`flask --app perisai import-sponsored FILE` and the admin upload.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO, Iterator

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from ..domain import DomainError
from ..domain.clock import utcnow
from ..domain.nik import validation_error
from ..models import SPONSOR_CODES, SponsoredEntry, Worker
from . import Actor, audit
from .sponsorship import apply_sponsor_cover
from .tx import lock, write_transaction

HEADER = ["nik", "sponsor_code", "sponsor_name", "programs", "valid_from", "valid_to"]
BATCH_SIZE = 5_000
MAX_REPORTED_ERRORS = 50
MAX_AUDITED_UPDATES = 100  # corrected entries listed in the import's audit event (all counted)
CORRECTABLE = ("sponsor_name", "programs", "valid_to")
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
    skipped: int    # rows already on the list as they are (or repeated in the file)
    digest: str     # sha256 of the file, for the audit trail
    updated: int = 0           # entries corrected (same key, other valid_to/programs/name)
    workers_advanced: int = 0  # registered workers whose paid-through month moved


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


def _batches(stream: BinaryIO) -> Iterator[list[dict]]:
    """The file's rows (already validated) as values, BATCH_SIZE at a time."""
    batch: list[dict] = []
    for _line, cells in _reader(stream):
        batch.append(_values(cells))
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _upsert_batch(session: Session, batch: list[dict], now, corrections: list[dict]) -> tuple[int, int]:
    """Insert the batch's new entries and correct the changed ones: (added, updated). The first
    corrections are appended to `corrections` for the audit event."""
    # A key repeated inside the file counts once; its last row wins, as it would across batches.
    rows = {(row["nik"], row["sponsor_code"], row["valid_from"]): row for row in batch}
    existing = {(entry.nik, entry.sponsor_code, entry.valid_from): entry for entry in session.execute(
        select(SponsoredEntry.id, SponsoredEntry.nik, SponsoredEntry.sponsor_code,
               SponsoredEntry.valid_from, *(getattr(SponsoredEntry, name) for name in CORRECTABLE))
        .where(SponsoredEntry.nik.in_({row["nik"] for row in batch})))}
    fresh, changed = [], []
    for key, row in rows.items():
        entry = existing.get(key)
        if entry is None:
            fresh.append(dict(row, imported_at=now))
            continue
        before = {name: getattr(entry, name) for name in CORRECTABLE}
        after = {name: row[name] for name in CORRECTABLE}
        if before != after:
            # A shortened valid_to does not take back months already marked paid: the sponsor
            # was on the list for them when they were marked (see apply_sponsor_cover).
            changed.append(dict(after, id=entry.id))
            if len(corrections) < MAX_AUDITED_UPDATES:
                corrections.append({"entry_id": entry.id, "nik_last4": key[0][-4:],
                                    "sponsor_code": key[1], "valid_from": key[2],
                                    "before": before, "after": after})
    if fresh:
        session.execute(insert(SponsoredEntry), fresh)
    if changed:
        session.execute(update(SponsoredEntry), changed)  # by primary key, executemany
    return len(fresh), len(changed)


def _workers_of(session: Session, niks: set[str]):
    return lock(select(Worker).where(Worker.nik.in_(niks)), session)


def _cover_batch(session: Session, niks: set[str], actor: Actor) -> int:
    """Mark paid the sponsored months of the registered workers among `niks`: two queries (the
    workers, their entries), then one audit event per worker whose paid-through month moved."""
    workers = session.scalars(_workers_of(session, niks)).all()
    if not workers:
        return 0
    entries: dict[str, list[SponsoredEntry]] = {}
    for entry in session.scalars(select(SponsoredEntry).where(
            SponsoredEntry.nik.in_([worker.nik for worker in workers]))):
        entries.setdefault(entry.nik, []).append(entry)
    return sum(1 for worker in workers
               if apply_sponsor_cover(session, worker, actor, entries=entries.get(worker.nik, ()))
               is not None)


def import_sponsored(session: Session, stream: BinaryIO, *, actor: Actor,
                     source_name: str = "") -> ImportResult:
    """Validate the whole file, then insert and correct entries and mark the sponsored months
    of registered workers paid, in one transaction."""
    rows, digest = validate(stream)
    added = updated = advanced = 0
    corrections: list[dict] = []
    now = utcnow()
    with write_transaction(session):
        for batch in _batches(stream):
            batch_added, batch_updated = _upsert_batch(session, batch, now, corrections)
            added += batch_added
            updated += batch_updated
            # Lock the listed workers now, before the first audit event below takes the audit
            # lock: a payment holds its worker and then waits for that lock (PostgreSQL).
            session.execute(_workers_of(session, {row["nik"] for row in batch})
                            .with_only_columns(Worker.id)).all()
        # Every NIK of the file, not only the new entries: it also repairs workers listed
        # before this pass existed.
        for batch in _batches(stream):
            advanced += _cover_batch(session, {row["nik"] for row in batch}, actor)
        skipped = rows - added - updated
        audit.record(session, actor, "sponsored.import", "sponsored_list", digest[:40],
                     after={"file": source_name[:120], "sha256": digest, "rows": rows,
                            "added": added, "updated": updated, "skipped": skipped,
                            "corrections": corrections, "workers_advanced": advanced})
    return ImportResult(rows=rows, added=added, skipped=skipped, digest=digest, updated=updated,
                        workers_advanced=advanced)


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

