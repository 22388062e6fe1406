"""Importing a sponsored-premium list (CSV): all rows or none, idempotent, in bounded memory.

Passes over the same file: the first validates every row while streaming (nothing kept but
the first errors and a count; `domain.sponsored_list`); then, inside one write transaction and
in batches, the second inserts rows whose (nik, sponsor_code, valid_from) is new and updates an
entry whose valid_to, programs or sponsor_name the file corrects (a later row of the file wins),
and the third marks paid the sponsored months of workers already registered with those NIKs
(`sponsorship.apply_sponsor_cover`). Importing the same file again changes nothing. Shared by
`flask --app perisai import-sponsored FILE` and the admin upload.
"""
from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..domain.sponsored_list import ImportResult, batches, validate
from ..models import SponsoredEntry, Worker
from . import Actor, audit
from .sponsorship import apply_sponsor_cover
from .tx import lock, write_transaction

MAX_AUDITED_UPDATES = 100  # corrected entries listed in the import's audit event (all counted)
CORRECTABLE = ("sponsor_name", "programs", "valid_to")


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
    return lock(select(Worker).where(Worker.nik.in_(niks)).order_by(Worker.id), session)


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
        for batch in batches(stream):
            batch_added, batch_updated = _upsert_batch(session, batch, now, corrections)
            added += batch_added
            updated += batch_updated
            # Lock the listed workers now, before the first audit event below takes the audit
            # lock: a payment holds its worker and then waits for that lock (PostgreSQL).
            session.execute(_workers_of(session, {row["nik"] for row in batch})
                            .with_only_columns(Worker.id)).all()
        # Every NIK of the file, not only the new entries: it also repairs workers listed
        # before this pass existed.
        for batch in batches(stream):
            advanced += _cover_batch(session, {row["nik"] for row in batch}, actor)
        skipped = rows - added - updated
        audit.record(session, actor, "sponsored.import", "sponsored_list", digest[:40],
                     after={"file": source_name[:120], "sha256": digest, "rows": rows,
                            "added": added, "updated": updated, "skipped": skipped,
                            "corrections": corrections, "workers_advanced": advanced})
    return ImportResult(rows=rows, added=added, skipped=skipped, digest=digest, updated=updated,
                        workers_advanced=advanced)
