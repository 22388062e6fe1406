"""Engine set-up that keeps money safe on SQLite as well as PostgreSQL.

SQLite: WAL so readers never wait for the writer, a busy timeout so writers queue instead of
failing, foreign keys on, and transactions begun by us (pysqlite's own BEGIN handling is turned
off) so that a write transaction can take the write lock up front with BEGIN IMMEDIATE. Without
that, two requests that both read then write deadlock and one fails with "database is locked".
"""
from sqlalchemy import event
from sqlalchemy.engine import Engine

IMMEDIATE = "perisai_immediate"


# PostgreSQL settings for the app's own connections. Its statements are short and many
# requests run at once: a parallel plan's workers took 15 ms to start on this 2-core machine
# for a statement that runs in 2 ms alone (one agent's integrity flags), and JIT compiling
# pays off only for the long statements a report runs, not a page's.
POSTGRESQL_SETTINGS = {"max_parallel_workers_per_gather": "0", "jit": "off"}


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def on_connect_postgresql(dbapi_connection, _record):
            # Outside any transaction: a SET in one that is rolled back would be undone.
            dbapi_connection.autocommit = True
            cursor = dbapi_connection.cursor()
            for name, value in POSTGRESQL_SETTINGS.items():
                cursor.execute(f"SET {name} = {value}")
            cursor.close()
            dbapi_connection.autocommit = False
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA foreign_keys = ON")
        # 32 MB of page cache per connection instead of SQLite's 2 MB: with millions of rows a
        # page's worth of index lookups otherwise goes back to the OS for every page.
        cursor.execute("PRAGMA cache_size = -32000")
        if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "memory":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        immediate = connection.get_execution_options().get(IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
