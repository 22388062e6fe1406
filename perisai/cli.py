"""Command-line tools: `flask --app perisai <command>`."""
from __future__ import annotations

import os
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade

from .extensions import db

DEFAULT_DEMO_PASSWORD = "perisai-demo"


def init_app(app: Flask) -> None:
    for command in (init_db, seed_demo, seed_demo_activity, create_user_command, audit_verify,
                    audit_anchor, audit_rekey, ledger_verify, import_sponsored_command):
        app.cli.add_command(command)
    app.cli.add_command(backup_command)


@click.command("init-db")
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def init_db() -> None:
    """Create or upgrade the schema (migrations) and load the rate schedule."""
    from .commands.rates import seed_rates
    upgrade(directory=current_app.extensions["migrate"].directory)
    added = seed_rates(db.session)
    click.echo(f"Database ready ({db.engine.url.render_as_string(hide_password=True)}); "
               f"{added} rate rows added.")


@click.command("seed-demo")
@click.option("--password", default=None,
              help="Password for every demo account (also PERISAI_DEMO_PASSWORD); a re-run with "
                   "another one resets the demo accounts to it.")
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def seed_demo(password: str | None) -> None:
    """Two branches, demo users and a few demo workers. Safe to run twice."""
    from .commands import demo
    from .domain import DomainError
    from .domain.accounts import MAX_PASSWORD, MIN_PASSWORD
    if password is None:
        password = os.environ.get("PERISAI_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
    # Refused before the first write: a half-seeded database helps no one.
    if len(password) < MIN_PASSWORD:
        raise click.ClickException(f"The demo password must have at least {MIN_PASSWORD} "
                                   f"characters ({len(password)} given); nothing was changed.")
    if len(password) > MAX_PASSWORD:
        raise click.ClickException(f"The demo password may have at most {MAX_PASSWORD} "
                                   f"characters; nothing was changed.")
    _require_schema()
    try:
        summary = demo.seed(db.session, password)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(summary)
    click.echo(f"Demo password for agent1, agent2, agent3, supervisor1, supervisor2, admin: {password}")


@click.command("seed-demo-activity")
@with_appcontext
def seed_demo_activity() -> None:
    """A month of activity in the demo's Bandung branch (after seed-demo): members paid up, in
    arrears, lapsed and new; an agent holding cash for days; a deposit and a reversal waiting.
    Safe to run twice."""
    from .commands import demo_activity
    from .domain import DomainError
    _require_schema()
    try:
        summary = demo_activity.seed_activity(db.session)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(summary)


def _require_schema() -> None:
    """A clear message instead of a 'no such table' traceback when init-db was not run."""
    import sqlalchemy as sa
    if not sa.inspect(db.engine).has_table("users"):
        raise click.ClickException("The database has no schema yet: run "
                                   "`flask --app perisai init-db` first.")


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["agent", "supervisor", "admin"]), required=True)  # domain.statuses.Role
@click.option("--branch", "branch_code", default=None, help="Branch code (agents and supervisors).")
@click.option("--name", "full_name", default=None, help="Full name shown on slips.")
@click.password_option()
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def create_user_command(username, role, branch_code, full_name, password) -> None:
    """Create a user account."""
    from sqlalchemy import select
    from .domain import DomainError
    from .models import Branch
    from .commands import SYSTEM
    from .commands.accounts import create_user
    from .domain.statuses import Role
    _require_schema()
    if role != Role.ADMIN:
        known = db.session.scalars(select(Branch.code).order_by(Branch.code)).all()
        if branch_code not in known:
            given = f"Unknown branch {branch_code!r}" if branch_code else "No --branch given"
            raise click.ClickException(f"{given}: {'an agent' if role == Role.AGENT else 'a supervisor'} "
                                       "needs one of the branches "
                                       f"({', '.join(known) or 'none yet: run seed-demo or add one'}).")
    try:
        user = create_user(db.session, username=username, full_name=full_name or username,
                           role=role, branch_code=branch_code, password=password, actor=SYSTEM)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Created {user.role} {user.username}.")


@click.command("import-sponsored")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def import_sponsored_command(path: str) -> None:
    """Import a sponsored-premium list (CSV); any bad row and nothing is imported."""
    from .commands import SYSTEM
    from .commands.sponsored_import import import_sponsored
    from .domain.sponsored_list import ImportRejected
    try:
        with open(path, "rb") as handle:
            result = import_sponsored(db.session, handle, actor=SYSTEM,
                                      source_name=os.path.basename(path))
    except ImportRejected as rejected:
        click.echo(rejected.message, err=True)
        for line in rejected.errors:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    click.echo(f"{result.rows} rows read: {result.added} added, {result.skipped} already on the list, "
               f"{result.updated} updated; {result.workers_advanced} registered workers' "
               "sponsored months marked paid.")


@click.command("audit-verify")
@click.option("--anchor", "anchor_text", metavar="COUNT:HASH", default=None,
              help="A head printed earlier by `audit-anchor`: fail unless the chain still holds "
                   "it (catches deleted events, even all of them, and rewrites).")
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def audit_verify(anchor_text: str | None) -> None:
    """Check the audit chain; exit code 1 at the first broken link."""
    from .commands.audit import Anchor, verify
    anchor = None
    if anchor_text is not None:
        try:
            anchor = Anchor.parse(anchor_text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--anchor") from error
    result = verify(db.session, anchor=anchor)
    if result.ok:
        held = f" It holds the anchor {anchor.count}:{anchor.hash[:12]}…." if anchor else ""
        click.echo(f"Audit chain intact: {result.checked} events checked.{held}")
        return
    where = f" at event {result.broken_at}" if result.broken_at is not None else ""
    click.echo(f"Audit chain BROKEN{where}: {result.reason} ({result.checked} events read).",
               err=True)
    sys.exit(1)


@click.command("audit-anchor")
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def audit_anchor() -> None:
    """Check the audit chain and print its head (event count and hash) to keep OUTSIDE the
    database, e.g. daily in the backup log; `audit-verify --anchor HEAD` checks it later."""
    from .commands.audit import anchor
    result = anchor(db.session)
    if not result.ok:
        where = f" at event {result.broken_at}" if result.broken_at is not None else ""
        click.echo(f"Audit chain BROKEN{where}: {result.reason}; no anchor printed.", err=True)
        sys.exit(1)
    click.echo(str(result.head))


@click.command("audit-rekey")
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def audit_rekey() -> None:
    """Check the audit chain as it stands, then sign it again with the current audit key (once
    after upgrading a database whose events predate the key, or to retire an old key)."""
    from .commands.audit import rekey
    result = rekey(db.session)
    if not result.ok:
        where = f" at event {result.broken_at}" if result.broken_at is not None else ""
        click.echo(f"Audit chain BROKEN{where}: {result.reason}; nothing was re-signed.", err=True)
        sys.exit(1)
    click.echo(f"Audit chain signed with the current audit key: {result.checked} events. "
               f"New anchor (earlier ones no longer match): {result.head}")


@click.command("ledger-verify")
@with_appcontext  # the test runner calls app.cli directly, without FlaskGroup's context
def ledger_verify() -> None:
    """Check every agent's cash on hand against the sum of its ledger entries, and the
    incentive tallies against a recount of the collections."""
    from .commands.books import verify_books
    report = verify_books(db.session)
    for row in report.ledger:
        click.echo(f"agent {row.agent_id}: account {row.account_balance} != ledger {row.ledger_sum}", err=True)
    for row in report.tallies:
        click.echo(f"agent {row.agent_id} {row.month:%Y-%m} member month {row.member_month}: "
                   f"tally {row.tally} != collections {row.collections}", err=True)
    for row in report.months:
        click.echo(f"agent {row.agent_id} branch {row.branch_id} {row.month:%Y-%m}: kept "
                   f"(registrations, payments, amount) {row.kept} != recounted {row.recounted}",
                   err=True)
    for row in report.branches:
        click.echo(f"agent {row.agent_id} branch {row.branch_id}: books do not add up (cash "
                   f"{row.balance} in this branch, {row.misplaced} entries settled here for "
                   "another branch's receipt or deposit)", err=True)
    for row in report.days:
        click.echo(f"agent {row.agent_id} branch {row.branch_id} {row.day:%Y-%m-%d}: kept "
                   f"(payments, amount) {row.kept} != recounted {row.recounted}", err=True)
    if not report.ok:
        sys.exit(1)
    click.echo("Ledger consistent: every agent's cash on hand equals the sum of its entries; "
               "the incentive tallies and the agents' month and day figures match the "
               "collections; each branch's books add up.")


@click.command("backup")
@click.argument("dest", type=click.Path())
@with_appcontext
def backup_command(dest: str) -> None:
    """Copy the live SQLite database to DEST (a file, or a folder for a time-stamped file)."""
    from .backup import BackupError, backup_sqlite, pg_dump_command, sqlite_file
    source = sqlite_file(db.engine.url)
    if source is None:
        click.echo("This database is not a SQLite file; back up PostgreSQL with pg_dump "
                   "(a consistent snapshot, safe while the app runs):", err=True)
        click.echo("  " + pg_dump_command(db.engine.url, dest), err=True)
        click.echo("Restore with: pg_restore --clean --no-owner --dbname=<database> " + dest, err=True)
        sys.exit(2)
    try:
        result = backup_sqlite(source, dest)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    counts = ", ".join(f"{name} {count}" for name, count in result.tables.items()
                       if name in ("workers", "collections", "audit_events"))
    click.echo(f"Backup written to {result.path} ({result.size} bytes; {counts}).")
