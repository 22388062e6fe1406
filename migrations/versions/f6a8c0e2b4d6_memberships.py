"""memberships: the history of registrations (the first, and each one after a lapse)

A lapsed member registers again on the same worker row, and an agent moving branch takes its
members along, so the worker row no longer tells who registered whom, where and when. The
agent's monthly figures and incentives are counted from this append-only table instead.
Filled here from the workers (every worker so far has been registered exactly once).

Revision ID: f6a8c0e2b4d6
Revises: e5f7a9b1c3d4
Create Date: 2026-12-01 09:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'f6a8c0e2b4d6'
down_revision = 'e5f7a9b1c3d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'memberships',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('registered_at', sa.DateTime(), nullable=False),
        sa.Column('first_month', sa.Date(), nullable=False),
        sa.Column('programs', sa.SmallInteger(), nullable=False),
        sa.Column('renewal', sa.Boolean(), nullable=False),
        sa.CheckConstraint('programs IN (2, 3)', name=op.f('ck_memberships_known_programs')),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id'],
                                name=op.f('fk_memberships_agent_id_users')),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                                name=op.f('fk_memberships_branch_id_branches')),
        sa.ForeignKeyConstraint(['worker_id'], ['workers.id'],
                                name=op.f('fk_memberships_worker_id_workers')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')))
    workers = sa.table('workers', *(sa.column(name) for name in (
        'id', 'agent_id', 'branch_id', 'registered_at', 'first_month', 'programs')))
    memberships = sa.table('memberships', *(sa.column(name) for name in (
        'worker_id', 'agent_id', 'branch_id', 'registered_at', 'first_month', 'programs',
        'renewal')))
    op.execute(memberships.insert().from_select(
        ['worker_id', 'agent_id', 'branch_id', 'registered_at', 'first_month', 'programs',
         'renewal'],
        sa.select(workers.c.id, workers.c.agent_id, workers.c.branch_id, workers.c.registered_at,
                  workers.c.first_month, workers.c.programs, sa.false()).order_by(workers.c.id)))
    op.create_index('ix_memberships_agent_registered', 'memberships',
                    ['agent_id', 'registered_at', 'programs'])
    op.create_index('ix_memberships_worker_registered', 'memberships',
                    ['worker_id', 'registered_at'])
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' or bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute('ANALYZE memberships')  # statistics like the other tables have (5e1f0c9a7b21)


def downgrade():
    """The history goes with the table: an upgrade gives each worker one membership again (the
    one in force, as its row holds it), so earlier registrations of a member who lapsed and
    registered again, and the agent and branch they were made by, cannot come back."""
    op.drop_index('ix_memberships_worker_registered', table_name='memberships')
    op.drop_index('ix_memberships_agent_registered', table_name='memberships')
    op.drop_table('memberships')
