"""worker search by any part of a name, phone, NIK tail; the branch's re-registrations

PostgreSQL: trigram indexes (pg_trgm) on the name key, the phone and the NIK answer
`LIKE '%part%'`. SQLite: an FTS5 table with the trigram tokenizer over the same three columns,
kept by triggers (external content: the text stays in `workers`), rebuilt here from the rows.
Both: a branch's re-registrations by time (an integrity flag for the supervisor).

Revision ID: b8d0f2a4c6e8
Revises: c1e3a5b7d9f2
Create Date: 2026-12-03 07:00:00

"""
from alembic import op

revision = 'b8d0f2a4c6e8'
down_revision = 'c1e3a5b7d9f2'
branch_labels = None
depends_on = None

TRIGRAM_COLUMNS = ("name_key", "phone", "nik")
FTS_COLUMNS = "name_key, phone, nik"
NEW = "new.id, new.name_key, new.phone, new.nik"
OLD = "'delete', old.id, old.name_key, old.phone, old.nik"


def upgrade():
    op.create_index('ix_memberships_branch_renewal', 'memberships',
                    ['branch_id', 'renewal', 'registered_at'])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
        for column in TRIGRAM_COLUMNS:
            op.execute(f'CREATE INDEX ix_workers_{column}_trgm ON workers '
                       f'USING gin ({column} gin_trgm_ops)')
        return
    op.execute(f"CREATE VIRTUAL TABLE worker_search USING fts5({FTS_COLUMNS}, content='workers', "
               "content_rowid='id', tokenize='trigram')")
    op.execute(f"CREATE TRIGGER worker_search_insert AFTER INSERT ON workers BEGIN "
               f"INSERT INTO worker_search(rowid, {FTS_COLUMNS}) VALUES ({NEW}); END")
    op.execute(f"CREATE TRIGGER worker_search_delete AFTER DELETE ON workers BEGIN "
               f"INSERT INTO worker_search(worker_search, rowid, {FTS_COLUMNS}) VALUES ({OLD}); END")
    op.execute(f"CREATE TRIGGER worker_search_update AFTER UPDATE OF {FTS_COLUMNS} ON workers "
               f"BEGIN INSERT INTO worker_search(worker_search, rowid, {FTS_COLUMNS}) VALUES ({OLD}); "
               f"INSERT INTO worker_search(rowid, {FTS_COLUMNS}) VALUES ({NEW}); END")
    op.execute("INSERT INTO worker_search(worker_search) VALUES ('rebuild')")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for column in TRIGRAM_COLUMNS:
            op.execute(f'DROP INDEX IF EXISTS ix_workers_{column}_trgm')
    else:
        for trigger in ('insert', 'delete', 'update'):
            op.execute(f'DROP TRIGGER IF EXISTS worker_search_{trigger}')
        op.execute('DROP TABLE IF EXISTS worker_search')
    op.drop_index('ix_memberships_branch_renewal', table_name='memberships')
