"""agent months: each agent's registrations and payments per month, kept as they happen

The supervisor's pages added up the branch's month of payments per agent on every view
(~100 ms at 1,000,000 workers); now they read one row per agent. This migration fills the
table from the workers and collections already recorded.

Self-contained: the tables are described here as they were at this revision and the rules are
frozen copies of the app's as they were then, so this revision means the same whatever the
app's code becomes. The memberships table does not exist yet (f6a8c0e2b4d6), so the
registrations are read from the workers: one each, by its agent, in its branch.

Revision ID: e5f7a9b1c3d4
Revises: d4e6f8a0b2c3
Create Date: 2026-11-22 09:00:00

"""
from datetime import date, datetime, timezone
from itertools import islice
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = 'e5f7a9b1c3d4'
down_revision = 'd4e6f8a0b2c3'
branch_labels = None
depends_on = None

BATCH = 5000  # rows fetched, and rows inserted, at a time

branches = sa.table('branches', sa.column('id', sa.Integer), sa.column('timezone', sa.String))
workers = sa.table('workers', sa.column('agent_id', sa.Integer), sa.column('branch_id', sa.Integer),
                   sa.column('registered_at', sa.DateTime))
collections = sa.table('collections', sa.column('id', sa.Integer),
                       sa.column('agent_id', sa.Integer), sa.column('branch_id', sa.Integer),
                       sa.column('collected_at', sa.DateTime), sa.column('amount', sa.BigInteger))
reversals = sa.table('reversals', sa.column('collection_id', sa.Integer),
                     sa.column('status', sa.String))
agent_months = sa.table('agent_months', sa.column('agent_id', sa.Integer),
                        sa.column('branch_id', sa.Integer), sa.column('month', sa.Date),
                        sa.column('registrations', sa.Integer),
                        sa.column('collections', sa.Integer),
                        sa.column('collected', sa.BigInteger))


def branch_month(moment: datetime, zone: str) -> date:
    """The month, in the branch's time zone, of an instant stored as naive UTC."""
    local = moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))
    return date(local.year, local.month, 1)


def count_months(bind) -> dict[tuple[int, int, date], list[int]]:
    """[registrations, collections, collected] per (agent, branch, branch-time month): every
    worker's registration and every collection whose reversal no supervisor approved.
    Memory holds one entry per agent-month, however many rows are read."""
    zones = dict(bind.execute(sa.select(branches.c.id, branches.c.timezone)).all())
    counts: dict[tuple[int, int, date], list[int]] = {}
    for agent_id, branch_id, registered_at in bind.execute(
            sa.select(workers.c.agent_id, workers.c.branch_id, workers.c.registered_at)
            .execution_options(yield_per=BATCH)):
        key = (agent_id, branch_id, branch_month(registered_at, zones[branch_id]))
        counts.setdefault(key, [0, 0, 0])[0] += 1
    approved = sa.select(reversals.c.collection_id).where(reversals.c.status == 'approved')
    for agent_id, branch_id, collected_at, amount in bind.execute(
            sa.select(collections.c.agent_id, collections.c.branch_id,
                      collections.c.collected_at, collections.c.amount)
            .where(collections.c.id.not_in(approved))
            .execution_options(yield_per=BATCH)):
        row = counts.setdefault((agent_id, branch_id, branch_month(collected_at, zones[branch_id])),
                                [0, 0, 0])
        row[1] += 1
        row[2] += amount
    return counts


def upgrade():
    op.create_table(
        'agent_months',
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('registrations', sa.Integer(), nullable=False),
        sa.Column('collections', sa.Integer(), nullable=False),
        sa.Column('collected', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('registrations >= 0 AND collections >= 0 AND collected >= 0',
                           name='month_not_negative'),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id']),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id']),
        sa.PrimaryKeyConstraint('agent_id', 'branch_id', 'month'))
    op.create_index('ix_agent_months_branch_month', 'agent_months', ['branch_id', 'month'])
    bind = op.get_bind()
    rows = ({'agent_id': agent_id, 'branch_id': branch_id, 'month': month,
             'registrations': registrations, 'collections': paid, 'collected': collected}
            for (agent_id, branch_id, month), (registrations, paid, collected)
            in count_months(bind).items())
    while batch := list(islice(rows, BATCH)):
        bind.execute(agent_months.insert(), batch)


def downgrade():
    op.drop_index('ix_agent_months_branch_month', table_name='agent_months')
    op.drop_table('agent_months')
