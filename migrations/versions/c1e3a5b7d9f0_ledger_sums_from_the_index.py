"""an agent's ledger sums from the index alone

The supervisor's agent page adds up the agent's ledger entries since the period began (money
in, money out, the opening balance). With the amount in the (agent, time) index those sums
read the index only, not one scattered table row per entry (about 1,800 a month for the
busiest agent at 1,000,000 workers). It replaces the index it extends.

On PostgreSQL both indexes are built CONCURRENTLY, outside a transaction: a plain CREATE INDEX
holds a SHARE lock on `ledger_entries`, which stops every payment, deposit and reversal (each
appends an entry) for the whole build: minutes at 10,000,000 members (BENCHMARKS.md).

Revision ID: c1e3a5b7d9f0
Revises: b8d0f2a4c6e8
Create Date: 2026-12-03 10:20:00

"""
from alembic import op

revision = 'c1e3a5b7d9f0'
down_revision = 'b8d0f2a4c6e8'
branch_labels = None
depends_on = None


NEW = 'ix_ledger_agent_time_amount'
OLD = 'ix_ledger_agent_time'


def _swap(create: str, columns: list[str], drop: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {create}')  # a build cut short
            op.create_index(create, 'ledger_entries', columns, unique=False,
                            postgresql_concurrently=True)
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {drop}')
        return
    op.create_index(create, 'ledger_entries', columns, unique=False)
    op.drop_index(drop, table_name='ledger_entries')
    if bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute(f'ANALYZE "{create}"')  # see 5e1f0c9a7b21


def upgrade():
    _swap(NEW, ['agent_id', 'created_at', 'amount'], OLD)


def downgrade():
    _swap(OLD, ['agent_id', 'created_at'], NEW)
