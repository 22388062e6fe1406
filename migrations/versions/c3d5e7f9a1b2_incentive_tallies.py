"""incentive tallies: running per agent-month sums behind the dashboard's incentive

The busiest agent takes ~1,800 payments a month at 1,000,000 workers; adding them up on every
dashboard view grew with the data. The tallies are kept in the collection's and the
reversal's transaction; this migration fills them from the collections already recorded.

Revision ID: c3d5e7f9a1b2
Revises: 8a4b6c2d9e13
Create Date: 2026-11-22 08:10:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = 'c3d5e7f9a1b2'
down_revision = '8a4b6c2d9e13'
branch_labels = None
depends_on = None


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
    # Fill from what is recorded, with the same code that verifies the tallies.
    # (Members' first months from the workers: the memberships table comes later, f6a8c0e2b4d6.)
    # TEMPORARY (restructure branch): replaced by the standalone migration before merging.
    if op.get_bind().execute(sa.text('SELECT 1 FROM workers LIMIT 1')).first() is None:
        return
    from perisai.models import Worker
    from perisai.services.incentives import rebuild_tallies
    session = Session(bind=op.get_bind())
    rebuild_tallies(session, Worker.first_month)
    session.flush()


def downgrade():
    op.drop_table('incentive_tallies')
