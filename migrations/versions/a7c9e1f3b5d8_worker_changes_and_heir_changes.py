"""worker_changes and heir_changes: the member's data history and the heir maker-checker

A member's data can now be updated by its agent. Every changed field is kept (append-only, like
the membership history), and a change of heir waits for a supervisor of the branch.

Revision ID: a7c9e1f3b5d8
Revises: b8d0f2a4c6e9
Create Date: 2026-12-03 06:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'a7c9e1f3b5d8'
down_revision = 'b8d0f2a4c6e9'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade():
    op.create_table(
        'worker_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=20), nullable=False),
        sa.Column('old_value', sa.String(length=300), nullable=True),
        sa.Column('new_value', sa.String(length=300), nullable=True),
        sa.Column('changed_by_id', sa.Integer(), nullable=False),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['worker_id'], ['workers.id'],
                                name=op.f('fk_worker_changes_worker_id_workers')),
        sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'],
                                name=op.f('fk_worker_changes_changed_by_id_users')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'],
                                name=op.f('fk_worker_changes_approved_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_worker_changes')))
    op.create_index('ix_worker_changes_worker_time', 'worker_changes', ['worker_id', 'changed_at'])
    op.create_table(
        'heir_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('worker_id', sa.Integer(), nullable=False),
        sa.Column('branch_id', sa.Integer(), nullable=False),
        sa.Column('old_name', sa.String(length=120), nullable=False),
        sa.Column('old_relation', sa.String(length=40), nullable=False),
        sa.Column('new_name', sa.String(length=120), nullable=False),
        sa.Column('new_relation', sa.String(length=40), nullable=False),
        sa.Column('requested_by_id', sa.Integer(), nullable=False),
        sa.Column('requested_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decision_note', sa.String(length=500), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'approved', 'rejected', 'withdrawn')",
                           name=op.f('ck_heir_changes_known_status')),
        sa.CheckConstraint('decided_by_id IS NULL OR decided_by_id <> requested_by_id',
                           name=op.f('ck_heir_changes_maker_is_not_checker')),
        sa.ForeignKeyConstraint(['worker_id'], ['workers.id'],
                                name=op.f('fk_heir_changes_worker_id_workers')),
        sa.ForeignKeyConstraint(['branch_id'], ['branches.id'],
                                name=op.f('fk_heir_changes_branch_id_branches')),
        sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                                name=op.f('fk_heir_changes_requested_by_id_users')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_heir_changes_decided_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_heir_changes')))
    op.create_index('uq_heir_changes_one_pending', 'heir_changes', ['worker_id'], unique=True,
                    sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_index('ix_heir_changes_branch_status', 'heir_changes',
                    ['branch_id', 'status', 'requested_at'])
    op.create_index('ix_heir_changes_worker_time', 'heir_changes', ['worker_id', 'requested_at'])


def downgrade():
    """The history goes with the tables: the data in force stays on the worker rows."""
    op.drop_index('ix_heir_changes_worker_time', table_name='heir_changes')
    op.drop_index('ix_heir_changes_branch_status', table_name='heir_changes')
    op.drop_index('uq_heir_changes_one_pending', table_name='heir_changes',
                  sqlite_where=PENDING, postgresql_where=PENDING)
    op.drop_table('heir_changes')
    op.drop_index('ix_worker_changes_worker_time', table_name='worker_changes')
    op.drop_table('worker_changes')
