"""One helper opens every write transaction, one decorator retries it after a deadlock.

Lock order. On PostgreSQL rows are locked (`lock`, SELECT … FOR UPDATE, or an UPDATE) in one
order in every command, so two transactions never wait for each other in a circle:

    reversal or deposit → collection → worker → its bills → the agent's account
    → the agent's months and incentive tallies → the audit head

(a command takes the ones it needs, in this order). A collection finds its bill's worker
without a lock and locks the worker before the bill, as the reversal's approval does before it
cancels the worker's open codes. Should PostgreSQL still pick a transaction as a deadlock victim
(40P01) or refuse it for serialization (40001), `retry_transient` runs the command again, a
bounded number of times, before the error reaches the user as a 503.
"""
import functools
import logging
import random
import time
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, scoped_session

from ..database import IMMEDIATE

log = logging.getLogger(__name__)

# deadlock_detected, serialization_failure: the transaction was rolled back whole and may run again
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
MAX_ATTEMPTS = 4


@contextmanager
def write_transaction(session: Session):
    """Run the block atomically: commit at the end, roll back on any error.

    A read transaction left open by this request (loading the logged-in user, say) is ended
    first so that on SQLite the write lock is taken before the first read of the block. It is
    rolled back, not committed: only a command writes, so anything pending outside one is a bug,
    refused here rather than committed unseen.
    """
    real = session() if isinstance(session, scoped_session) else session
    if real.new or real.dirty or real.deleted:
        raise RuntimeError("Changes made outside a command: "
                           f"{len(real.new)} new, {len(real.dirty)} changed, {len(real.deleted)} deleted")
    if real.in_transaction():
        real.rollback()
    session.connection(execution_options={IMMEDIATE: True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def lock(query, session: Session):
    """SELECT … FOR UPDATE on PostgreSQL; on SQLite the IMMEDIATE transaction already serialises."""
    if session.get_bind().dialect.name == "postgresql":
        return query.with_for_update()
    return query


def is_transient(error: BaseException) -> bool:
    """A deadlock or serialization failure: nothing was written, running again is safe."""
    return isinstance(error, DBAPIError) and \
        getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES


def retry_transient(command):
    """Run `command(session, …)` again when PostgreSQL rolled it back for a deadlock or a
    serialization failure, at most MAX_ATTEMPTS times in all, after a short random pause; the
    last failure is raised (a 503). Each attempt is a whole transaction of its own (the command
    opens it), so a retry can neither double nor half-write anything."""
    @functools.wraps(command)
    def run(session, *args, **kwargs):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return command(session, *args, **kwargs)
            except DBAPIError as error:
                if not is_transient(error) or attempt == MAX_ATTEMPTS:
                    raise
                session.rollback()
                log.warning("%s: %s (attempt %d of %d), running it again", command.__qualname__,
                            error.orig.sqlstate, attempt, MAX_ATTEMPTS)
                time.sleep(random.uniform(0.005, 0.05) * attempt)
        raise AssertionError("unreachable")
    return run
