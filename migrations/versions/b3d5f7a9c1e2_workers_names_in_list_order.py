"""an agent's and a branch's members by name in the lists' order (name, then id)

The member lists and the name search are ordered by name, then id (two members may share a
name). The name indexes held (agent or branch, name) only: PostgreSQL keeps equal keys in the
table's order, not by id, so it could not read a page in order from them and sorted instead.
When its estimate of a name range was low it read the whole range first: "siti" in a branch of
200,000 members at 1,000,000 read 3,693 rows to show 21 (12.5 ms; 0.15 ms from the new index,
whatever the statistics say). SQLite's indexes end with the row id already: there the new
indexes are the same as the old ones.

On PostgreSQL the indexes are built CONCURRENTLY, outside a transaction, as every index since
b8d0f2a4c6e8 (registrations and payments go on while they are built); each old index is dropped
after its replacement, likewise.

Revision ID: b3d5f7a9c1e2
Revises: a2c4e6b8d0f1
Create Date: 2026-12-03 21:25:00

"""
from alembic import op

revision = 'b3d5f7a9c1e2'
down_revision = 'a2c4e6b8d0f1'
branch_labels = None
depends_on = None

SWAPS = [('ix_workers_agent_name_id', 'ix_workers_agent_name', 'agent_id'),
         ('ix_workers_branch_name_id', 'ix_workers_branch_name', 'branch_id')]


def _swap(create: str, columns: list[str], drop: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        with op.get_context().autocommit_block():
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {create}')  # a build cut short
            op.create_index(create, 'workers', columns, unique=False,
                            postgresql_concurrently=True)
            op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {drop}')
        return
    op.create_index(create, 'workers', columns, unique=False)
    op.drop_index(drop, table_name='workers')
    if bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute(f'ANALYZE "{create}"')  # see 5e1f0c9a7b21


def upgrade():
    for new, old, owner in SWAPS:
        _swap(new, [owner, 'name_key', 'id'], old)


def downgrade():
    for new, old, owner in SWAPS:
        _swap(old, [owner, 'name_key'], new)
