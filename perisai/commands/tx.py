"""One helper opens every write transaction."""
from contextlib import contextmanager

from sqlalchemy.orm import Session, scoped_session

from ..database import IMMEDIATE


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
