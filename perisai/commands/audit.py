"""Append-only, hash-chained audit events.

Each event's hash covers the previous hash and the event's fields, so editing or deleting any
row breaks every hash after it; `verify` finds the first broken link.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..models import AuditEvent, AuditHead
from . import Actor
from .tx import lock

GENESIS = "0" * 64


def _json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def event_hash(prev_hash: str, at: datetime, actor_id, actor: str, action: str, object_type: str,
               object_id: str, before: str | None, after: str | None, ip: str | None) -> str:
    payload = json.dumps([prev_hash, at.isoformat(timespec="microseconds"), actor_id, actor, action,
                          object_type, object_id, before, after, ip],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def record(session: Session, actor: Actor, action: str, object_type: str, object_id,
           *, before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Append an event inside the caller's transaction."""
    head = session.scalars(lock(select(AuditHead).where(AuditHead.id == 1), session)).first()
    if head is None:
        head = AuditHead(id=1, last_hash=GENESIS, last_event_id=0)
        session.add(head)
    at = utcnow()
    fields = dict(at=at, actor_id=actor.id, actor=actor.username, action=action,
                  object_type=object_type, object_id=str(object_id), before=_json(before),
                  after=_json(after), ip=actor.ip)
    digest = event_hash(head.last_hash, **fields)
    event = AuditEvent(prev_hash=head.last_hash, hash=digest, **fields)
    session.add(event)
    session.flush()
    head.last_hash = digest
    head.last_event_id = event.id
    return event


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    broken_at: int | None
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session) -> VerifyResult:
    """Walk the chain in id order, streaming, and report the first broken link."""
    prev = GENESIS
    checked = 0
    last_id = 0
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.id).execution_options(
        yield_per=2000)).scalars()
    for event in rows:
        checked += 1
        if event.prev_hash != prev:
            return VerifyResult(checked, event.id, "previous hash does not match (a row before it "
                                "was changed or removed)")
        expected = event_hash(prev, event.at, event.actor_id, event.actor, event.action,
                              event.object_type, event.object_id, event.before, event.after,
                              event.ip)
        if expected != event.hash:
            return VerifyResult(checked, event.id, "hash does not match the row's contents")
        prev = event.hash
        last_id = event.id
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_hash != prev or head.last_event_id != last_id):
        return VerifyResult(checked, head.last_event_id, "newest events were removed")
    return VerifyResult(checked, None, None)
