"""Append-only audit events in a keyed hash chain.

Each event's hash is an HMAC-SHA256, under the audit key, of the previous hash and the event's
fields, so editing or deleting any row breaks every hash after it, and someone who can write to
the database but does not hold the key cannot compute a new chain. The key is not in the
database: `AUDIT_KEY` (older keys in `AUDIT_KEY_FALLBACKS`), or one derived from `SECRET_KEY`
and its fallbacks when no `AUDIT_KEY` is set. Each event names the key it was made with (a
fingerprint, `key_id`), so a rotated key keeps verifying the events made before.

The head row (the newest hash) carries a MAC too, so deleting the newest events and moving the
head back is caught. What no chain kept in one database can catch on its own, the deletion of
every row or a return to an earlier state copied beforehand, is caught against an **anchor**
kept elsewhere (`anchor`, `verify(anchor=…)`). SECURITY.md lists what is and is not detected.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..domain.clock import utcnow
from ..models import AuditEvent, AuditHead
from . import Actor
from .tx import lock, write_transaction

GENESIS = "0" * 64
_DERIVATION = b"perisai-audit-chain-v1"
_KEY_ID = b"perisai-audit-key-id"


# --- keys -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Keyring:
    current_id: str
    keys: dict[str, bytes]  # key id -> key

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]


def key_id(key: bytes) -> str:
    """A fingerprint of the key (it reveals nothing usable about the key)."""
    return hmac.new(key, _KEY_ID, hashlib.sha256).hexdigest()[:16]


def keyring_from(config) -> Keyring:
    """The audit keys a configuration holds, the one new events are made with first.

    `AUDIT_KEY` and `AUDIT_KEY_FALLBACKS` when set; the keys derived from `SECRET_KEY` and
    `SECRET_KEY_FALLBACKS` always follow, so a deployment that starts setting `AUDIT_KEY` keeps
    verifying the events made before it."""
    explicit = [config.get("AUDIT_KEY"), *(config.get("AUDIT_KEY_FALLBACKS") or [])]
    derived = [config.get("SECRET_KEY"), *(config.get("SECRET_KEY_FALLBACKS") or [])]
    keys = [key.encode() for key in explicit if key]
    keys += [hmac.new(key.encode() if isinstance(key, str) else key, _DERIVATION,
                      hashlib.sha256).digest() for key in derived if key]
    if not keys:
        raise RuntimeError("No audit key: set AUDIT_KEY (or SECRET_KEY).")
    ring: dict[str, bytes] = {}
    for key in keys:
        ring.setdefault(key_id(key), key)
    return Keyring(key_id(keys[0]), ring)


def current_keyring() -> Keyring:
    return keyring_from(current_app.config)


# --- hashing --------------------------------------------------------------------------------

def _json(value) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))


def _payload(prev_hash: str, at: datetime, actor_id, actor: str, action: str, object_type: str,
             object_id: str, before: str | None, after: str | None, ip: str | None) -> bytes:
    return json.dumps([prev_hash, at.isoformat(timespec="microseconds"), actor_id, actor, action,
                       object_type, object_id, before, after, ip],
                      ensure_ascii=False, separators=(",", ":")).encode()


def event_hash(key: bytes, key_id_: str, prev_hash: str, **fields) -> str:
    """The event's link: HMAC-SHA256 under the audit key of the key's id, the previous hash
    and the event's fields."""
    return hmac.new(key, key_id_.encode() + b"|" + _payload(prev_hash, **fields),
                    hashlib.sha256).hexdigest()


def legacy_event_hash(prev_hash: str, **fields) -> str:
    """How events were linked before the chain was keyed (plain SHA-256): only `rekey` reads it."""
    return hashlib.sha256(_payload(prev_hash, **fields)).hexdigest()


def head_mac(key: bytes, key_id_: str, last_event_id: int, last_hash: str) -> str:
    digest = hmac.new(key, f"head|{last_event_id}|{last_hash}".encode(), hashlib.sha256).hexdigest()
    return f"{key_id_}:{digest}"


def _fields(event: AuditEvent) -> dict:
    return dict(at=event.at, actor_id=event.actor_id, actor=event.actor, action=event.action,
                object_type=event.object_type, object_id=event.object_id, before=event.before,
                after=event.after, ip=event.ip)


# --- appending ------------------------------------------------------------------------------

def record(session: Session, actor: Actor, action: str, object_type: str, object_id,
           *, before: dict | None = None, after: dict | None = None) -> AuditEvent:
    """Append an event inside the caller's transaction."""
    keys = current_keyring()
    head = session.scalars(lock(select(AuditHead).where(AuditHead.id == 1), session)).first()
    if head is None:
        head = AuditHead(id=1, last_hash=GENESIS, last_event_id=0)
        session.add(head)
    at = utcnow()
    fields = dict(at=at, actor_id=actor.id, actor=actor.username, action=action,
                  object_type=object_type, object_id=str(object_id), before=_json(before),
                  after=_json(after), ip=actor.ip)
    digest = event_hash(keys.current, keys.current_id, head.last_hash, **fields)
    event = AuditEvent(prev_hash=head.last_hash, hash=digest, key_id=keys.current_id, **fields)
    session.add(event)
    session.flush()
    head.last_hash = digest
    head.last_event_id = event.id
    head.mac = head_mac(keys.current, keys.current_id, event.id, digest)
    return event


# --- checking -------------------------------------------------------------------------------

ANCHOR = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass(frozen=True)
class Anchor:
    """The chain's head as the operator keeps it outside the database: how many events, and
    the hash of the newest."""
    count: int
    hash: str

    def __str__(self) -> str:
        return f"{self.count}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Anchor:
        match = ANCHOR.match((text or "").strip())
        if not match:
            raise ValueError("An anchor is COUNT:HASH as `flask audit-anchor` prints it "
                             "(e.g. 1523:9f86d0…, the hash in 64 hexadecimal digits).")
        return cls(int(match.group(1)), match.group(2))


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    broken_at: int | None
    reason: str | None
    head: Anchor | None = None  # the chain's head as it was read, when intact

    @property
    def ok(self) -> bool:
        return self.reason is None


def verify(session: Session, *, anchor: Anchor | None = None, accept_legacy: bool = False,
           keys: Keyring | None = None) -> VerifyResult:
    """Walk the chain in id order, streaming, and report the first broken link; with an
    `anchor`, also that the chain still holds it (same hash at the same position)."""
    keys = keys or current_keyring()
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
        if event.key_id is None:
            if not accept_legacy:
                return VerifyResult(checked, event.id, "not signed with the audit key (written "
                                    "before the chain was keyed): run `flask audit-rekey` once")
            expected = legacy_event_hash(prev, **_fields(event))
        elif event.key_id in keys.keys:
            expected = event_hash(keys.keys[event.key_id], event.key_id, prev, **_fields(event))
        else:
            return VerifyResult(checked, event.id, f"made with audit key {event.key_id}, which is "
                                "not configured (AUDIT_KEY, AUDIT_KEY_FALLBACKS, SECRET_KEY, "
                                "SECRET_KEY_FALLBACKS)")
        if not hmac.compare_digest(expected, event.hash):
            return VerifyResult(checked, event.id, "hash does not match the row's contents")
        if anchor is not None and checked == anchor.count and event.hash != anchor.hash:
            return VerifyResult(checked, event.id, f"event number {checked} no longer has the "
                                "anchored hash: the chain was rewritten")
        prev = event.hash
        last_id = event.id
    if anchor is not None and checked < anchor.count:
        return VerifyResult(checked, None, f"the chain holds {checked} events, the anchor "
                            f"{anchor.count}: events were deleted")
    if anchor is not None and anchor.count == 0 and anchor.hash != GENESIS:
        return VerifyResult(checked, None, "the anchor is not a head of this chain")
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_hash != prev or head.last_event_id != last_id):
        return VerifyResult(checked, head.last_event_id, "newest events were removed")
    if checked and not accept_legacy:
        problem = _head_problem(head, keys)
        if problem:
            return VerifyResult(checked, last_id, problem)
    return VerifyResult(checked, None, None, Anchor(checked, prev))


def _head_problem(head: AuditHead | None, keys: Keyring) -> str | None:
    if head is None:
        return "the chain's head row is missing"
    if head.mac is None:
        return "the chain's head carries no MAC (written before the chain was keyed): run " \
               "`flask audit-rekey` once"
    used, _, _ = head.mac.partition(":")
    if used not in keys.keys:
        return f"the chain's head was signed with audit key {used}, which is not configured"
    if not hmac.compare_digest(head.mac, head_mac(keys.keys[used], used, head.last_event_id,
                                                  head.last_hash)):
        return "the chain's head was changed (its MAC does not match): newest events were " \
               "removed or replaced"
    return None


def anchor(session: Session) -> VerifyResult:
    """The chain checked, and its head to keep outside the database (`result.head`)."""
    return verify(session)


# --- re-signing -----------------------------------------------------------------------------

def rekey(session: Session) -> VerifyResult:
    """Sign the whole chain again with the current audit key, once it has been checked as it
    stands (events from before the chain was keyed by their plain SHA-256 links, the others
    under their keys). For upgrading a database whose events predate the key, or to retire an
    old key. Anchors taken before no longer match: take a new one."""
    keys = current_keyring()
    with write_transaction(session):
        session.scalars(lock(select(AuditHead).where(AuditHead.id == 1), session)).first()
        checked = verify(session, accept_legacy=True, keys=keys)
        if not checked.ok:
            return checked
        prev = GENESIS
        last_id = 0
        while True:
            batch = session.scalars(select(AuditEvent).where(AuditEvent.id > last_id)
                                    .order_by(AuditEvent.id).limit(1000)).all()
            if not batch:
                break
            for event in batch:
                digest = event_hash(keys.current, keys.current_id, prev, **_fields(event))
                session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(
                    prev_hash=prev, hash=digest, key_id=keys.current_id))
                prev, last_id = digest, event.id
            session.expunge_all()
        head = session.get(AuditHead, 1)
        if head is None:
            head = AuditHead(id=1, last_hash=GENESIS, last_event_id=0)
            session.add(head)
        head.last_hash, head.last_event_id = prev, last_id
        head.mac = head_mac(keys.current, keys.current_id, last_id, prev)
    return verify(session, keys=keys)
