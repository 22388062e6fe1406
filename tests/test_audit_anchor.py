"""Finding 1: the audit chain is keyed (HMAC under a key that is not in the database), its head
carries a MAC, and an anchor kept outside the database (`audit-anchor`, `audit-verify --anchor`)
catches what no chain inside one database can: every row deleted, or an earlier state put
back. Each attack below is made as someone who can write to the database but has no key."""
from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import select, text

from perisai.extensions import db
from perisai.models import AuditEvent, AuditHead
from test_audit import admin_changes, agent_day, all_events, cli


def plain_hash(prev_hash: str, event: AuditEvent) -> str:
    """What an attacker without the key can compute: the links as plain SHA-256."""
    payload = json.dumps([prev_hash, event.at.isoformat(timespec="microseconds"), event.actor_id,
                          event.actor, event.action, event.object_type, event.object_id,
                          event.before, event.after, event.ip],
                         ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def relink_without_key(app, *, forget_key: bool = False) -> None:
    """Recompute every link and the head as plain SHA-256 (what the chain used to be); with
    `forget_key` also clear the key columns, as a database from before the key looks."""
    with app.app_context():
        prev = "0" * 64
        last = 0
        for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all():
            digest = plain_hash(prev, event)
            db.session.execute(text("UPDATE audit_events SET prev_hash = :p, hash = :h"
                                    + (", key_id = NULL" if forget_key else "") + " WHERE id = :id"),
                               {"p": prev, "h": digest, "id": event.id})
            prev, last = digest, event.id
        db.session.execute(text("UPDATE audit_head SET last_hash = :h, last_event_id = :i"
                                + (", mac = NULL" if forget_key else "")), {"h": prev, "i": last})
        db.session.commit()


def anchor_now(app, runner) -> str:
    result = cli(app, runner, "audit-anchor")
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.mark.both_backends
def test_an_edited_amount_with_every_hash_recomputed_is_caught(app, runner, backend):
    agent_day(app)
    target = next(e for e in all_events(app) if e.action == "collection.record")
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET after = :after WHERE id = :id"),
                           {"after": '{"amount":1}', "id": target.id})
        db.session.commit()
    relink_without_key(app)
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1, result.output
    first = all_events(app)[0]
    assert f"BROKEN at event {first.id}: hash does not match" in result.output


@pytest.mark.both_backends
def test_deleting_the_newest_event_and_moving_the_head_back_is_caught(app, runner, backend):
    agent_day(app)
    *kept, newest = all_events(app)
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": newest.id})
        db.session.execute(text("UPDATE audit_head SET last_hash = :h, last_event_id = :i"),
                           {"h": kept[-1].hash, "i": kept[-1].id})
        db.session.commit()
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1, result.output
    assert "the chain's head was changed" in result.output


@pytest.mark.both_backends
def test_the_anchor_catches_deleted_events_even_all_of_them(app, runner, backend):
    agent_day(app)
    early = anchor_now(app, runner)
    count, digest = early.split(":")
    assert int(count) == len(all_events(app)) and digest == all_events(app)[-1].hash
    with app.app_context():
        saved_head = db.session.execute(text("SELECT last_hash, last_event_id, mac FROM audit_head")).one()
    admin_changes(app)  # the chain grows: the earlier anchor still holds
    result = cli(app, runner, "audit-verify", "--anchor", early)
    assert result.exit_code == 0, result.output
    assert "It holds the anchor" in result.output
    late = anchor_now(app, runner)

    # Back to the earlier state, with the head row copied back then: only the anchor sees it.
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events WHERE id > :i"),
                           {"i": saved_head.last_event_id})
        db.session.execute(text("UPDATE audit_head SET last_hash = :h, last_event_id = :i, mac = :m"),
                           {"h": saved_head.last_hash, "i": saved_head.last_event_id,
                            "m": saved_head.mac})
        db.session.commit()
    assert cli(app, runner, "audit-verify").exit_code == 0
    result = cli(app, runner, "audit-verify", "--anchor", late)
    assert result.exit_code == 1
    assert f"the chain holds {count} events, the anchor {late.split(':')[0]}: events were deleted" \
        in result.output

    # Every event and the head deleted: nothing inside the database is left to disagree.
    with app.app_context():
        db.session.execute(text("DELETE FROM audit_events"))
        db.session.execute(text("DELETE FROM audit_head"))
        db.session.commit()
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 0 and "intact: 0 events" in result.output
    for anchor in (early, late):
        result = cli(app, runner, "audit-verify", "--anchor", anchor)
        assert result.exit_code == 1 and "events were deleted" in result.output


@pytest.mark.both_backends
def test_the_anchor_catches_a_chain_signed_again_with_another_key(app, runner, backend):
    """Someone who can also set the key (an administrator of the server) can sign a rewritten
    chain again; the anchor kept elsewhere still tells."""
    agent_day(app)
    anchor = anchor_now(app, runner)
    target = next(e for e in all_events(app) if e.action == "collection.record")
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET after = :after WHERE id = :id"),
                           {"after": '{"amount":1}', "id": target.id})
        db.session.commit()
    relink_without_key(app, forget_key=True)
    app.config["AUDIT_KEY"] = "someone-elses-key"
    assert cli(app, runner, "audit-rekey").exit_code == 0
    assert cli(app, runner, "audit-verify").exit_code == 0
    result = cli(app, runner, "audit-verify", "--anchor", anchor)
    assert result.exit_code == 1
    assert "no longer has the anchored hash: the chain was rewritten" in result.output


@pytest.mark.both_backends
def test_a_rotated_key_still_verifies_the_events_made_with_the_old_one(app, runner, backend):
    app.config["AUDIT_KEY"] = "first-audit-key"
    agent_day(app)
    app.config.update(AUDIT_KEY="second-audit-key", AUDIT_KEY_FALLBACKS=["first-audit-key"])
    admin_changes(app)
    used = {event.key_id for event in all_events(app) if event.key_id}
    assert len(used) >= 2  # the derived key of the seed, the first and the second
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 0, result.output
    app.config["AUDIT_KEY_FALLBACKS"] = []
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1 and "which is not configured" in result.output


@pytest.mark.both_backends
def test_events_from_before_the_key_are_checked_and_signed_once_by_audit_rekey(app, runner, backend):
    agent_day(app)
    relink_without_key(app, forget_key=True)  # as an upgraded database has them
    result = cli(app, runner, "audit-verify")
    assert result.exit_code == 1 and "run `flask audit-rekey` once" in result.output
    result = cli(app, runner, "audit-rekey")
    assert result.exit_code == 0, result.output
    assert "New anchor" in result.output
    assert all(event.key_id for event in all_events(app))
    assert cli(app, runner, "audit-verify").exit_code == 0
    # A chain broken before the upgrade is not blessed by signing it.
    relink_without_key(app, forget_key=True)
    target = all_events(app)[1]
    with app.app_context():
        db.session.execute(text("UPDATE audit_events SET actor = 'someone' WHERE id = :id"),
                           {"id": target.id})
        db.session.commit()
    result = cli(app, runner, "audit-rekey")
    assert result.exit_code == 1
    assert f"BROKEN at event {target.id}" in result.output and "nothing was re-signed" in result.output


def test_an_anchor_that_is_not_one_is_refused(app, runner):
    result = cli(app, runner, "audit-verify", "--anchor", "12:xyz")
    assert result.exit_code == 2 and "COUNT:HASH" in result.output


def test_the_key_is_not_in_the_database(app, runner):
    agent_day(app)
    with app.app_context():
        from perisai.commands.audit import current_keyring
        keys = current_keyring()
        stored = " ".join(str(value) for row in db.session.execute(
            text("SELECT * FROM audit_events")).all() for value in row)
        head = db.session.get(AuditHead, 1)
    for key in keys.keys.values():
        assert key.hex() not in stored and key.hex() not in (head.mac or "")
