"""offline collections and registrations: arrival time, late review, registration keys

A collection recorded offline carries the time the cash was taken (kept in `collected_at`,
which the cash, incentives and ageing count from); `received_at` is when it reached the
server, `late_review` marks one that arrived more than 72 hours late until a supervisor has
looked at it. `registration_keys` remembers each registration form's idempotency key.

Revision ID: a7c9e1f3b5d7
Revises: f6a8c0e2b4d6
Create Date: 2026-12-03 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a7c9e1f3b5d7'
down_revision = 'f6a8c0e2b4d6'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild on SQLite, where a rebuild of a table that others
    # reference fails with rows in it); `late_review` takes its values from one StrEnum.
    op.add_column('collections', sa.Column('received_at', sa.DateTime(), nullable=True))
    op.add_column('collections', sa.Column('late_review', sa.String(length=10), nullable=True))
    op.create_index('ix_collections_pending_review', 'collections', ['branch_id'],
                    sqlite_where=sa.text("late_review = 'pending'"),
                    postgresql_where=sa.text("late_review = 'pending'"))
    op.create_table(
        'registration_keys',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('content_digest', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id'],
                                name=op.f('fk_registration_keys_agent_id_users')),
        sa.ForeignKeyConstraint(['worker_id'], ['workers.id'],
                                name=op.f('fk_registration_keys_worker_id_workers')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_registration_keys')))


def downgrade():
    op.drop_table('registration_keys')
    op.drop_index('ix_collections_pending_review', table_name='collections')
    op.drop_column('collections', 'late_review')  # SQLite 3.35+ drops a column in place
    op.drop_column('collections', 'received_at')
