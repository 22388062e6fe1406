"""audit chain keyed: the key each event was signed with, and a MAC on the head (issue 11, finding 1)

Events written before this keep their plain SHA-256 links and a NULL key_id; `audit-verify`
reports them until `flask audit-rekey` has checked them as they are and signed the chain again
with the audit key.

Revision ID: b8d0f2a4c6e9
Revises: d2f4b6a8c0e1
Create Date: 2026-12-03 07:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = 'b8d0f2a4c6e9'
down_revision = 'd2f4b6a8c0e1'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_events', sa.Column('key_id', sa.String(length=16), nullable=True))
    op.add_column('audit_head', sa.Column('mac', sa.String(length=81), nullable=True))


def downgrade():
    """The keyed hashes stay: the code from before this revision checks plain SHA-256 links, so
    its `audit-verify` fails on them (run this revision's `audit-rekey` again after upgrading)."""
    op.execute('ALTER TABLE audit_head DROP COLUMN mac')
    op.execute('ALTER TABLE audit_events DROP COLUMN key_id')
