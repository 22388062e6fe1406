"""agent days: each agent's payments per day (branch time), kept as they happen; an agent's
collections waiting for review by index

The supervisor's home showed "received today" by adding up the branch's payments of the day
(with a check of each against the reversals): tens of thousands of rows at a million members,
the part of the page that grew with the data. Like agent_months, this table is kept in the
collection's and the reversal's transaction; the home page adds up one row per agent. Filled
here from the valid collections, each on its branch's local day.

Time: one grouped read of the collections (5,000,000 at the 1 M benchmark scale, see
BENCHMARKS.md for the time measured); on PostgreSQL the collections table is only read (ACCESS
SHARE: payments go on being recorded while it runs, but a payment recorded during the
migration is not in its sums; run it with the app stopped, as the README's upgrade steps say).

Revision ID: b9e1d3f5a7c8
Revises: a7c9e1f3b5d8
Create Date: 2026-12-03 07:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b9e1d3f5a7c8'
down_revision = 'a7c9e1f3b5d8'
branch_labels = None
depends_on = None

# The branches' zones and their offsets from UTC (Indonesia keeps no summer time), for
# SQLite, which has no time zones; PostgreSQL converts with its own zone data.
OFFSETS = {'Asia/Jakarta': 7, 'Asia/Makassar': 8, 'Asia/Jayapura': 9}


def upgrade():
    op.create_table(
        'agent_days',
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('collections', sa.Integer(), nullable=False),
        sa.Column('collected', sa.BigInteger(), nullable=False),
        sa.CheckConstraint('collections >= 0 AND collected >= 0',
                           name=op.f('ck_agent_days_day_not_negative')),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id'],
                                name=op.f('fk_agent_days_agent_id_users')),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                                name=op.f('fk_agent_days_branch_id_branches')),
        sa.PrimaryKeyConstraint('agent_id', 'branch_id', 'day', name=op.f('pk_agent_days')))
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite':
        offset = 'CASE b.timezone ' + ' '.join(
            f"WHEN '{zone}' THEN '+{hours} hours'" for zone, hours in OFFSETS.items()) + ' END'
        # Whole seconds: SQLite rounds fractions to milliseconds (23:59:59.9999 is midnight).
        local_day = f'date(substr(c.collected_at, 1, 19), {offset})'
    else:
        local_day = "CAST((c.collected_at AT TIME ZONE 'UTC') AT TIME ZONE b.timezone AS date)"
    op.execute(f"""
        INSERT INTO agent_days (agent_id, branch_id, day, collections, collected)
        SELECT c.agent_id, c.branch_id, {local_day}, count(*), sum(c.amount)
        FROM collections c JOIN branches b ON b.id = c.branch_id
        WHERE c.id NOT IN (SELECT collection_id FROM reversals WHERE status = 'approved')
        GROUP BY c.agent_id, c.branch_id, {local_day}""")
    op.create_index('ix_agent_days_branch_day', 'agent_days',
                    ['branch_id', 'day', 'collections', 'collected'])
    # The supervisor's agent page lists the agent's collections still waiting for review: by
    # agent from a partial index, instead of walking every collection the agent ever took.
    op.create_index('ix_collections_agent_pending_review', 'collections',
                    ['agent_id', 'collected_at'],
                    sqlite_where=sa.text("late_review = 'pending'"),
                    postgresql_where=sa.text("late_review = 'pending'"))
    if bind.dialect.name != 'sqlite' or bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute('ANALYZE agent_days')  # statistics like the other tables have (5e1f0c9a7b21)


def downgrade():
    op.drop_index('ix_collections_agent_pending_review', table_name='collections')
    op.drop_index('ix_agent_days_branch_day', table_name='agent_days')
    op.drop_table('agent_days')
