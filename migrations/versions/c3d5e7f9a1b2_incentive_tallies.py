"""incentive tallies: running per agent-month sums behind the dashboard's incentive

The busiest agent takes ~1,800 payments a month at 1,000,000 workers; adding them up on every
dashboard view grew with the data. The tallies are kept in the collection's and the
reversal's transaction; this migration fills them from the collections already recorded.

Self-contained: the tables are described here as they were at this revision and the rules are
frozen copies of the app's as they were then, so this revision means the same whatever the
app's code becomes. The memberships table does not exist yet (f6a8c0e2b4d6), so each member's
first month is the worker's.

Revision ID: c3d5e7f9a1b2
Revises: 8a4b6c2d9e13
Create Date: 2026-11-22 08:10:00

"""
import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = 'c3d5e7f9a1b2'
down_revision = '8a4b6c2d9e13'
branch_labels = None
depends_on = None

READ_BATCH = 2000  # rows fetched at a time from the collections of one agent

users = sa.table('users', sa.column('id', sa.Integer), sa.column('role', sa.String))
branches = sa.table('branches', sa.column('id', sa.Integer), sa.column('timezone', sa.String))
workers = sa.table('workers', sa.column('id', sa.Integer), sa.column('first_month', sa.Date))
bills = sa.table('bills', sa.column('id', sa.Integer), sa.column('breakdown', sa.Text))
collections = sa.table('collections', sa.column('id', sa.Integer),
                       sa.column('agent_id', sa.Integer), sa.column('branch_id', sa.Integer),
                       sa.column('worker_id', sa.Integer), sa.column('bill_id', sa.Integer),
                       sa.column('collected_at', sa.DateTime))
reversals = sa.table('reversals', sa.column('collection_id', sa.Integer),
                     sa.column('status', sa.String))
incentive_tallies = sa.table('incentive_tallies', sa.column('agent_id', sa.Integer),
                             sa.column('month', sa.Date), sa.column('member_month', sa.Integer),
                             sa.column('amount', sa.BigInteger))


def branch_month(moment: datetime, zone: str) -> date:
    """The month, in the branch's time zone, of an instant stored as naive UTC."""
    local = moment.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(zone))
    return date(local.year, local.month, 1)


def member_month_index(first_month: date, month: date) -> int:
    """1 for the member's first month, 2 for the next, and so on."""
    return (month.year - first_month.year) * 12 + (month.month - first_month.month) + 1


def contributions_by_member_month(first_month: date, breakdown: str) -> dict[int, int]:
    """A paid bill's contributions per member month index, from its JSON list of priced
    months (a month a sponsor paid costs 0 and is left out)."""
    lines: dict[int, int] = {}
    for line in json.loads(breakdown):
        total = line['jkk'] + line['jkm'] + line['jht']
        if total:
            index = member_month_index(first_month, date.fromisoformat(line['month']))
            lines[index] = lines.get(index, 0) + total
    return lines


def agent_tallies(bind, agent_id: int, zones: dict[int, str]) -> dict[tuple[date, int], int]:
    """The agent's contributions per (branch-time month, member month index), from its
    collections whose reversal no supervisor approved."""
    approved = sa.select(reversals.c.collection_id).where(reversals.c.status == 'approved')
    rows = bind.execute(
        sa.select(collections.c.collected_at, collections.c.branch_id, workers.c.first_month,
                  bills.c.breakdown)
        .join(workers, workers.c.id == collections.c.worker_id)
        .join(bills, bills.c.id == collections.c.bill_id)
        .where(collections.c.agent_id == agent_id, collections.c.id.not_in(approved))
        .execution_options(yield_per=READ_BATCH))
    sums: dict[tuple[date, int], int] = {}
    for collected_at, branch_id, first_month, breakdown in rows:
        month = branch_month(collected_at, zones[branch_id])
        for index, amount in contributions_by_member_month(first_month, breakdown).items():
            sums[(month, index)] = sums.get((month, index), 0) + amount
    return sums


def upgrade():
    op.create_table(
        'incentive_tallies',
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('member_month', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('amount >= 0', name='tally_not_negative'),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id']),
        sa.PrimaryKeyConstraint('agent_id', 'month', 'member_month'))
    # One agent at a time: memory holds one agent's tallies (a few hundred rows), however
    # many collections there are.
    bind = op.get_bind()
    zones = dict(bind.execute(sa.select(branches.c.id, branches.c.timezone)).all())
    agent_ids = bind.execute(sa.select(users.c.id).where(users.c.role == 'agent')
                             .order_by(users.c.id)).scalars().all()
    for agent_id in agent_ids:
        sums = agent_tallies(bind, agent_id, zones)
        if sums:
            bind.execute(incentive_tallies.insert(), [
                {'agent_id': agent_id, 'month': month, 'member_month': index, 'amount': amount}
                for (month, index), amount in sums.items()])


def downgrade():
    op.drop_table('incentive_tallies')
