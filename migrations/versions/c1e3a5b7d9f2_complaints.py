"""complaints: a worker reports a problem (by receipt or member number and birth date); the
branch supervisor of the agent concerned resolves it with a note the worker reads

Revision ID: c1e3a5b7d9f2
Revises: b2d4f6a8c0e1
Create Date: 2026-12-03 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'c1e3a5b7d9f2'
down_revision = 'b2d4f6a8c0e1'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'complaints',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ticket', sa.String(length=16), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('agent_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('collection_id', sa.Integer(), nullable=True),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_by_id', sa.Integer(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolution_note', sa.String(length=500), nullable=True),
        sa.CheckConstraint("status IN ('open', 'resolved')", name=op.f('ck_complaints_known_status')),
        sa.CheckConstraint("status = 'open' OR (resolved_at IS NOT NULL AND resolution_note IS NOT NULL)",
                           name=op.f('ck_complaints_resolved_with_note')),
        sa.ForeignKeyConstraint(['worker_id'], ['workers.id'],
                                name=op.f('fk_complaints_worker_id_workers')),
        sa.ForeignKeyConstraint(['agent_id'], ['users.id'],
                                name=op.f('fk_complaints_agent_id_users')),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                                name=op.f('fk_complaints_branch_id_branches')),
        sa.ForeignKeyConstraint(['collection_id'], ['collections.id'],
                                name=op.f('fk_complaints_collection_id_collections')),
        sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'],
                                name=op.f('fk_complaints_resolved_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints')),
        sa.UniqueConstraint('ticket', name=op.f('uq_complaints_ticket')))
    op.create_index(op.f('ix_complaints_worker_id'), 'complaints', ['worker_id'])
    op.create_index('ix_complaints_branch_status_time', 'complaints',
                    ['branch_id', 'status', 'created_at'])
    op.create_index('ix_complaints_agent_status', 'complaints', ['agent_id', 'status'])


def downgrade():
    op.drop_index('ix_complaints_agent_status', table_name='complaints')
    op.drop_index('ix_complaints_branch_status_time', table_name='complaints')
    op.drop_index(op.f('ix_complaints_worker_id'), table_name='complaints')
    op.drop_table('complaints')
