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
from .text import Joined, Text, text
from .inputs import parse_iso_date
from .nik import validation_error

SPONSOR_CODES = ("SG", "SD", "SA", "SL", "SC", "SB")
HEADER = ["nik", "sponsor_code", "sponsor_name", "programs", "valid_from", "valid_to"]
BATCH_SIZE = 5_000
MAX_REPORTED_ERRORS = 50


class ImportRejected(DomainError):
    """The file was refused as a whole; `errors` are the first problems, with line numbers."""

    def __init__(self, message: str | Text | Joined, errors: list[Text] | None = None,
                 error_count: int = 0, **params):
        super().__init__(message, status_code=422, **params)
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


def row_problems(row: list[str]) -> tuple[list[Text], dict | None]:
    """What is wrong with one data row (Bahasa Indonesia), or the values to insert."""
    if len(row) != len(HEADER):
        return [text("harus %(expected)d kolom, ada %(found)d", expected=len(HEADER), found=len(row))], None
    nik, code, name, programs, valid_from, valid_to = (cell.strip() for cell in row)
    problems = []
    nik_problem = validation_error(nik)
    if nik_problem:
        problems.append(text("NIK %(nik)s: %(problem)s", nik=repr(nik[:20]), problem=nik_problem))
    if code not in SPONSOR_CODES:
        problems.append(text("sponsor_code %(code)s tidak dikenal (pakai %(known)s)", code=repr(code[:10]),
                             known=", ".join(SPONSOR_CODES)))
    if not name:
        problems.append(text("sponsor_name kosong"))
    elif len(name) > 120:
        problems.append(text("sponsor_name lebih dari 120 karakter"))
    if programs not in ("2", "3"):
        problems.append(text("programs harus 2 atau 3 (bukan %(given)s)", given=repr(programs[:10])))
    start, end = parse_iso_date(valid_from), parse_iso_date(valid_to)
    if start is None:
        problems.append(text("valid_from %(given)s bukan tanggal TTTT-BB-HH", given=repr(valid_from[:20])))
    if end is None:
        problems.append(text("valid_to %(given)s bukan tanggal TTTT-BB-HH", given=repr(valid_to[:20])))
    if start and end and end < start:
        problems.append(text("valid_to lebih awal dari valid_from"))
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
            raise ImportRejected("Berkas kosong. Baris pertama harus: %(header)s", header=",".join(HEADER)) from None
        if [cell.strip() for cell in header] != HEADER:
            raise ImportRejected("Judul kolom salah. Baris pertama harus persis: %(header)s "
                                 "(yang ada: %(found)s).", header=",".join(HEADER),
                                 found=",".join(header)[:200])
        for cells in rows:
            if not cells or cells == [""]:
                continue  # a blank line
            yield rows.line_num, cells
    finally:
        text.detach()  # leave the caller's stream open for the second pass


def validate(stream: BinaryIO) -> tuple[int, str]:
    """First pass: (data rows, sha256), or ImportRejected listing the first bad rows."""
    errors: list[Text] = []
    error_count = 0
    count = 0
    try:
        for line, cells in read_rows(stream):
            count += 1
            problems, _values = row_problems(cells)
            if problems:
                error_count += 1
                if len(errors) < MAX_REPORTED_ERRORS:
                    errors.append(text("Baris %(line)d: %(problems)s", line=line, problems=Joined(tuple(problems), "; ")))
    except UnicodeDecodeError:
        raise ImportRejected("Berkas bukan teks UTF-8. Simpan ulang sebagai \"CSV UTF-8\" "
                             "lalu unggah lagi.") from None
    except csv.Error as error:
        raise ImportRejected("Berkas CSV rusak dekat baris %(line)d: %(error)s.", line=count + 2, error=str(error)) from None
    if error_count:
        more = error_count - len(errors)
        summary = text("%(count)d baris salah; tidak ada yang diimpor. Perbaiki lalu unggah lagi.",
                       count=error_count)
        if more > 0:
            summary = Joined((summary, text("(%(more)d kesalahan lain tidak ditampilkan.)", more=more)))
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
