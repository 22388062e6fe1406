"""gunicorn settings: `gunicorn -c gunicorn.conf.py wsgi:app`.

Defaults fit the 2-core machine the app is measured on: one sync worker per core (the work
is CPU-bound; SQLite serialises writers anyway), overridable from the environment.
"""
import multiprocessing
import os

bind = os.environ.get("PERISAI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() or 2))
threads = int(os.environ.get("PERISAI_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = 30
graceful_timeout = 10
keepalive = 5
# Build the app once, before forking: workers share the loaded code.
preload_app = True
accesslog = os.environ.get("PERISAI_ACCESS_LOG") or None
# Path without the query string, and no referrer: lookups carry a NIK or a birth date in the
# query (GET /sponsored?nik=…, /verify?…&birth_date=…), which must never reach a log file.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(L)s "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("PERISAI_LOG_LEVEL", "warning")


def post_fork(server, worker):
    """Connections opened while preloading must not be shared across processes."""
    from perisai.extensions import db
    from wsgi import app
    with app.app_context():
        db.engine.dispose(close=False)
