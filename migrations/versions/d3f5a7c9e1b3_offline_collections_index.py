"""an agent's offline collections by index

The supervisor's agent page lists the agent's collections that reached the server more than
10 minutes after the cash was taken. Only a collection recorded offline has an arrival time
(`received_at`); the page looked for them among every collection of the agent's last 60 days
(about 3,600 rows for the busiest agent at 1,000,000 workers, 3 ms of SQL, to find none). A
partial index holds the offline ones only, with both times, so the lateness is read from it.

On PostgreSQL it is built CONCURRENTLY, outside a transaction: a plain CREATE INDEX holds a
SHARE lock on `collections`, which stops every payment for the whole build (a scan of every
collection, however few are offline).

Revision ID: d3f5a7c9e1b3
Revises: c1e3a5b7d9f0
Create Date: 2026-12-03 13:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'd3f5a7c9e1b3'
down_revision = 'c1e3a5b7d9f0'
branch_labels = None
depends_on = None


NAME = 'ix_collections_agent_offline'


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {NAME}')  # a build cut short
            op.create_index(NAME, 'collections', ['agent_id', 'collected_at', 'received_at'],
                            unique=False, postgresql_where=sa.text('received_at IS NOT NULL'),
                            postgresql_concurrently=True)
        return
    op.create_index(NAME, 'collections', ['agent_id', 'collected_at', 'received_at'],
                    unique=False, sqlite_where=sa.text('received_at IS NOT NULL'))
    if bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute(f'ANALYZE "{NAME}"')  # see 5e1f0c9a7b21


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {NAME}')
        return
    op.drop_index(NAME, table_name='collections')
