"""due members from the index alone

The agent's "Perlu ditagih" list picks members by paid-through month, or by first month for
those awaiting a first payment. With the first month in the (agent, paid through) index the
choice is made from the index: at 1,000,000 workers PostgreSQL read ~700 scattered table
pages for the busiest agent (5 ms). It replaces the index it extends.

Revision ID: d4e6f8a0b2c3
Revises: c3d5e7f9a1b2
Create Date: 2026-11-22 08:50:00

"""
from alembic import op

revision = 'd4e6f8a0b2c3'
down_revision = 'c3d5e7f9a1b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_workers_agent_paid_first', 'workers',
                    ['agent_id', 'paid_through', 'first_month'], unique=False)
    op.drop_index('ix_workers_agent_paid', table_name='workers')
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        op.execute('ANALYZE "ix_workers_agent_paid_first"')  # see 5e1f0c9a7b21


def downgrade():
    op.create_index('ix_workers_agent_paid', 'workers', ['agent_id', 'paid_through'],
                    unique=False)
    op.drop_index('ix_workers_agent_paid_first', table_name='workers')
