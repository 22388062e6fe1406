"""The settings the app gives its own database connections (perisai/database.py)."""
import pytest
from sqlalchemy import text as sql

from perisai.extensions import db


@pytest.mark.both_backends
def test_connections_get_the_apps_settings_and_keep_them(app, backend):
    with app.app_context():
        for _ in range(2):  # after a rolled-back transaction too (the pool rolls back on return)
            with db.engine.connect() as conn:
                if backend == "postgresql":
                    # Short statements, many at once: no parallel workers, no JIT.
                    assert conn.execute(sql("SHOW max_parallel_workers_per_gather")).scalar() == "0"
                    assert conn.execute(sql("SHOW jit")).scalar() == "off"
                else:
                    assert conn.execute(sql("PRAGMA foreign_keys")).scalar() == 1
                    assert conn.execute(sql("PRAGMA busy_timeout")).scalar() == 30000
                conn.rollback()
