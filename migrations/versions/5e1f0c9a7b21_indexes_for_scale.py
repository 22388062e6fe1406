"""indexes for scale (issue 5 benchmarks)

The supervisor's per-agent month totals read only the index: collections by branch and time
carry the agent and amount, workers by branch and registration time carry the agent (these
replace the two narrower indexes they extend). A branch's pending deposits are found by
(branch, status) instead of a scan of every deposit the branch ever had. (Not a partial
index: the status arrives as a bound parameter, which SQLite cannot match to one.)

Revision ID: 5e1f0c9a7b21
Revises: 373f3441c395
Create Date: 2026-11-22 02:35:00

"""
from alembic import op


revision = '5e1f0c9a7b21'
down_revision = '373f3441c395'
branch_labels = None
depends_on = None

NEW_INDEXES = ('ix_collections_branch_time_agent', 'ix_workers_branch_registered_agent',
               'ix_deposits_branch_status')


def upgrade():
    op.create_index('ix_collections_branch_time_agent', 'collections',
                    ['branch_id', 'collected_at', 'agent_id', 'amount'], unique=False)
    op.drop_index('ix_collections_branch_time', table_name='collections')
    op.create_index('ix_workers_branch_registered_agent', 'workers',
                    ['branch_id', 'registered_at', 'agent_id'], unique=False)
    op.drop_index('ix_workers_branch_registered', table_name='workers')
    op.create_index('ix_deposits_branch_status', 'deposits',
                    ['branch_id', 'status', 'declared_at'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        # With statistics for the old indexes but none for the new ones, SQLite's planner
        # guesses the new ones are very selective and may pick one that forces a sort.
        for index in NEW_INDEXES:
            op.execute(f'ANALYZE "{index}"')


def downgrade():
    op.drop_index('ix_deposits_branch_status', table_name='deposits')
    op.create_index('ix_workers_branch_registered', 'workers', ['branch_id', 'registered_at'],
                    unique=False)
    op.drop_index('ix_workers_branch_registered_agent', table_name='workers')
    op.create_index('ix_collections_branch_time', 'collections', ['branch_id', 'collected_at'],
                    unique=False)
    op.drop_index('ix_collections_branch_time_agent', table_name='collections')
