"""A sponsored-premium list (CSV): its columns, the rules for each row, and reading the file in
bounded memory. `commands.sponsored_import` writes what this reads."""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO, Iterator

from . import DomainError
from .inputs import parse_iso_date
from .nik import validation_error

SPONSOR_CODES = ("SG", "SD", "SA", "SL", "SC", "SB")
HEADER = ["nik", "sponsor_code", "sponsor_name", "programs", "valid_from", "valid_to"]
BATCH_SIZE = 5_000
MAX_REPORTED_ERRORS = 50


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


def row_problems(row: list[str]) -> tuple[list[str], dict | None]:
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
    start, end = parse_iso_date(valid_from), parse_iso_date(valid_to)
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


def row_values(cells: list[str]) -> dict:
    """A row the first pass found valid, as values to insert (no second validation)."""
    nik, code, name, programs, valid_from, valid_to = (cell.strip() for cell in cells)
    return {"nik": nik, "sponsor_code": code, "sponsor_name": name, "programs": int(programs),
            "valid_from": date.fromisoformat(valid_from), "valid_to": date.fromisoformat(valid_to)}


def read_rows(stream: BinaryIO) -> Iterator[tuple[int, list[str]]]:
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
        for line, cells in read_rows(stream):
            count += 1
            problems, _values = row_problems(cells)
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


def batches(stream: BinaryIO) -> Iterator[list[dict]]:
    """The file's rows (already validated) as values, BATCH_SIZE at a time."""
    batch: list[dict] = []
    for _line, cells in read_rows(stream):
        batch.append(row_values(cells))
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch
