"""deposits: one bank reference per agent while pending or verified (issue 11, finding 2)

Two deposit forms with the same transfer's reference could both be verified, taking the cash
off the agent twice. `reference_key` is the reference with only its letters and digits, upper
case (`domain.deposits.reference_key`), and a partial unique index allows one pending or
verified deposit per agent and key. Existing rows get their key here; where an agent already
has two pending or verified deposits with one key, the later ones keep a NULL key (they stay
as they were decided, and the supervisor's queue warns about them as near-duplicates).

Revision ID: d2f4b6a8c0e1
Revises: a7c9e1f3b5d7
Create Date: 2026-12-03 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd2f4b6a8c0e1'
down_revision = 'a7c9e1f3b5d7'
branch_labels = None
depends_on = None

LIVE = "status IN ('pending', 'verified')"


def _key(reference: str) -> str:
    # A copy of domain.deposits.reference_key as it was when this ran (migrations stand alone).
    key = "".join(ch for ch in reference.upper() if ch.isalnum())
    return (key or reference.upper())[:60]


def upgrade():
    # Plain ALTER TABLE on both databases: a batch copy of `deposits` on SQLite would drop a
    # table that ledger_entries refers to.
    op.add_column('deposits', sa.Column('reference_key', sa.String(length=60), nullable=True))
    bind = op.get_bind()
    deposits = sa.table('deposits', sa.column('id'), sa.column('agent_id'),
                        sa.column('reference'), sa.column('status'), sa.column('reference_key'))
    taken = set()
    rows = bind.execute(sa.select(deposits.c.id, deposits.c.agent_id, deposits.c.reference,
                                  deposits.c.status).order_by(deposits.c.id)).all()
    for deposit_id, agent_id, reference, status in rows:
        key = _key(reference)
        if status in ('pending', 'verified'):
            if (agent_id, key) in taken:
                continue
            taken.add((agent_id, key))
        bind.execute(deposits.update().where(deposits.c.id == deposit_id)
                     .values(reference_key=key))
    op.create_index('uq_deposits_agent_reference', 'deposits', ['agent_id', 'reference_key'],
                    unique=True, sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))


def downgrade():
    op.drop_index('uq_deposits_agent_reference', table_name='deposits')
    op.execute('ALTER TABLE deposits DROP COLUMN reference_key')  # SQLite 3.35+ has it too
